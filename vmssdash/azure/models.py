"""Pydantic models of the Compute REST API payloads vmssdash reads.

They are deliberately partial: every model ignores fields it does not know, and the
top-level resources keep the JSON they were parsed from (``raw``) so that a PUT built
from them can round-trip whatever we did not model. Field names follow the wire
(camelCase) through an alias generator; Python code uses snake_case. A VM's
``properties`` are validated as JSON (``vm_json``) and become models only when read.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from vmssdash.azure.vm_json import RawItem, VmPropertiesJson


class ArmModel(BaseModel):
    """Base: camelCase on the wire, unknown fields ignored, never frozen by accident.

    Booleans are ``StrictBool``: JSON has true and false, and a ``0`` or ``"no"`` where
    ``latestModelApplied`` belongs is a malformed VM, not an outdated one to upgrade.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )


class RawModel(ArmModel):
    """A top-level resource that remembers the exact JSON it came from."""

    #: A ``RawItem`` until first read when the model came from a list page's bytes.
    _raw: dict[str, Any] | RawItem = PrivateAttr(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        obj = cls.model_validate(data)
        obj._raw = copy.deepcopy(data)
        return obj

    @property
    def raw(self) -> dict[str, Any]:
        """A deep copy of the JSON this model was parsed from (safe to mutate)."""
        if isinstance(self._raw, RawItem):
            self._raw = self._raw.load()
        return copy.deepcopy(self._raw)


# --------------------------------------------------------------------------- common


class Sku(ArmModel):
    name: str | None = None
    tier: str | None = None
    capacity: int | None = None


class SubResource(ArmModel):
    id: str | None = None


class InstanceViewStatus(ArmModel):
    code: str | None = None
    display_status: str | None = None
    time: datetime | None = None


class ImageReference(ArmModel):
    """One of the image forms: platform (publisher/offer/sku/version), or an ``id``."""

    id: str | None = None
    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None
    version: str | None = None
    exact_version: str | None = None
    shared_gallery_image_id: str | None = None
    community_gallery_image_id: str | None = None


#: The fields of an image reference that name the image (``exactVersion`` is only what
#: ``latest`` resolved to), on the wire.
IMAGE_KEYS = (
    "id",
    "publisher",
    "offer",
    "sku",
    "version",
    "sharedGalleryImageId",
    "communityGalleryImageId",
)


class VirtualHardDisk(ArmModel):
    uri: str | None = None


class OsDisk(ArmModel):
    name: str | None = None
    create_option: str | None = None
    os_type: str | None = None
    image: VirtualHardDisk | None = None
    disk_size_gb: int | None = Field(default=None, alias="diskSizeGB")


class StorageProfile(ArmModel):
    image_reference: ImageReference | None = None
    os_disk: OsDisk | None = None


class ProtectionPolicy(ArmModel):
    protect_from_scale_in: StrictBool = False
    protect_from_scale_set_actions: StrictBool = False


# --------------------------------------------------------------------------- durations

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str) -> float:
    """ISO-8601 duration (``PT1M30S``, ``P1DT2H``) to seconds; ValueError otherwise.

    ``pauseTimeBetweenBatches`` is not plain seconds, and a bare number is rejected so a
    mistaken ``"30"`` does not silently become no pause at all. Lives here so the client,
    the core and the simulator all read durations the same way.
    """
    raw = text.strip()
    match = _DURATION.match(raw)
    if not match or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO-8601 duration (e.g. PT30S, PT5M, PT1H)")
    return sum(float(v) * _UNIT_SECONDS[k] for k, v in match.groupdict().items() if v is not None)


def format_duration(seconds: float) -> str:
    """Seconds back to ISO-8601 (``PT1M30S``)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out


# --------------------------------------------------------------------------- scale set


Percent = Annotated[int, Field(ge=0, le=100)]


class RollingUpgradePolicy(ArmModel):
    # Out-of-range percentages or an unreadable pause are refused at the edge (a typed
    # error naming the field), never turned into "upgrade everything at once" later.
    max_batch_instance_percent: Percent = 20
    max_unhealthy_instance_percent: Percent = 20
    max_unhealthy_upgraded_instance_percent: Percent = 20
    pause_time_between_batches: str = "PT0S"
    enable_cross_zone_upgrade: StrictBool | None = None
    prioritize_unhealthy_instances: StrictBool | None = None
    rollback_failed_instances_on_policy_breach: StrictBool | None = None
    max_surge: StrictBool | None = None

    @field_validator("pause_time_between_batches")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        parse_duration(value or "PT0S")
        return value

    @property
    def pause_seconds(self) -> float:
        """``pauseTimeBetweenBatches`` in seconds (ValueError when it is not ISO-8601)."""
        return parse_duration(self.pause_time_between_batches or "PT0S")


class AutomaticOSUpgradePolicy(ArmModel):
    enable_automatic_os_upgrade: StrictBool | None = Field(
        default=None, alias="enableAutomaticOSUpgrade"
    )
    disable_automatic_rollback: StrictBool | None = None


class UpgradePolicy(ArmModel):
    mode: str = "Manual"
    rolling_upgrade_policy: RollingUpgradePolicy | None = None
    automatic_os_upgrade_policy: AutomaticOSUpgradePolicy | None = Field(
        default=None, alias="automaticOSUpgradePolicy"
    )


class HardwareProfile(ArmModel):
    vm_size: str | None = None


class OsProfile(ArmModel):
    computer_name_prefix: str | None = None
    computer_name: str | None = None


class VirtualMachineProfile(ArmModel):
    storage_profile: StorageProfile | None = None
    os_profile: OsProfile | None = None
    hardware_profile: HardwareProfile | None = None


class ScaleSetProperties(ArmModel):
    upgrade_policy: UpgradePolicy | None = None
    virtual_machine_profile: VirtualMachineProfile | None = None
    provisioning_state: str | None = None
    overprovision: StrictBool | None = None
    single_placement_group: StrictBool | None = None
    platform_fault_domain_count: int | None = None
    orchestration_mode: str | None = None
    unique_id: str | None = None
    time_created: datetime | None = None


_VM_ID = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)/?$", re.IGNORECASE)
_VM_NAME = re.compile(r"_([0-9]+)$")


def _text(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def derive_instance_id(resource_id: str, name: str) -> str | None:
    """``instanceId`` from ``…/virtualMachines/<id>``, else from ``<vmss>_<id>``."""
    match = _VM_ID.search(resource_id)
    if match:
        return match.group(2)
    by_name = _VM_NAME.search(name)
    return by_name.group(1) if by_name else None


class ScaleSet(RawModel):
    # The spec marks id and name read-only (optional); the published minimum examples
    # omit them. ``ScaleSetApi`` fills them from the resource id it asked for.
    id: str = ""
    name: str = ""
    type: str | None = None
    location: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    sku: Sku | None = None
    zones: list[str] = Field(default_factory=list)
    etag: str | None = None
    properties: ScaleSetProperties = Field(default_factory=ScaleSetProperties)

    @model_validator(mode="before")
    @classmethod
    def _name_from_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _text(data, "name") and _text(data, "id"):
            return {**data, "name": _text(data, "id").rstrip("/").rsplit("/", 1)[-1]}
        return data

    @property
    def image_reference(self) -> ImageReference | None:
        vmp = self.properties.virtual_machine_profile
        sp = vmp.storage_profile if vmp else None
        return sp.image_reference if sp else None

    @property
    def os_disk_image_uri(self) -> str | None:
        vmp = self.properties.virtual_machine_profile
        sp = vmp.storage_profile if vmp else None
        disk = sp.os_disk if sp else None
        return disk.image.uri if disk and disk.image else None

    @property
    def upgrade_mode(self) -> str:
        up = self.properties.upgrade_policy
        return up.mode if up else "Manual"

    @property
    def capacity(self) -> int:
        return self.sku.capacity or 0 if self.sku else 0


# --------------------------------------------------------------------------- VMs


# The VM models below mirror ``vm_json``'s TypedDicts field for field (what is read):
# they are built from an already validated ``properties_json``, only when asked for.


class VMHealth(ArmModel):
    status: InstanceViewStatus | None = None


class VMInstanceView(ArmModel):
    platform_update_domain: int | None = None
    platform_fault_domain: int | None = None
    placement_group_id: str | None = None
    computer_name: str | None = None
    statuses: list[InstanceViewStatus] = Field(default_factory=list)
    vm_health: VMHealth | None = None

    def status_with_prefix(self, prefix: str) -> InstanceViewStatus | None:
        """Find a status by code prefix; position in the list is not reliable."""
        low = prefix.lower()
        for status in self.statuses:
            if status.code and status.code.lower().startswith(low):
                return status
        return None


class VMStorageProfile(ArmModel):
    image_reference: ImageReference | None = None


class ScaleSetVMProperties(ArmModel):
    latest_model_applied: StrictBool | None = None
    vm_id: str | None = None
    provisioning_state: str | None = None
    protection_policy: ProtectionPolicy | None = None
    instance_view: VMInstanceView | None = None
    storage_profile: VMStorageProfile | None = None
    os_profile: OsProfile | None = None


def with_identity(data: Any) -> Any:
    """A VM's JSON with ``instanceId`` (and ``name``) derived from ``id`` or ``name`` when
    absent; the data unchanged when it has one, or nothing to derive it from."""
    if not isinstance(data, dict) or _text(data, "instanceId", "instance_id"):
        return data
    resource_id, name = _text(data, "id"), _text(data, "name")
    derived = derive_instance_id(resource_id, name)
    if derived is None:
        return data  # "instanceId: required but missing" names the problem
    out = {**data, "instanceId": derived}
    if not name and (match := _VM_ID.search(resource_id)):
        out["name"] = f"{match.group(1)}_{derived}"
    return out


class ScaleSetVM(RawModel):
    """One VM of a Uniform scale set. ``id``, ``name`` and ``instanceId`` are read-only and
    optional in the spec: ``instanceId`` is derived from ``id`` or ``name`` when absent
    (``with_identity``, which ``model_validate`` applies), and a VM without any of them
    does not validate (see ``unreadable_item``)."""

    id: str = ""
    name: str = ""
    instance_id: str = Field(min_length=1)
    location: str | None = None
    zones: list[str] = Field(default_factory=list)
    sku: Sku | None = None
    etag: str | None = None
    #: ``properties`` as validated JSON (wire keys): what ``classify`` reads, without
    #: building the models of ``properties`` for each of 1,000 VMs on every refresh.
    properties_json: VmPropertiesJson = Field(default_factory=VmPropertiesJson, alias="properties")

    @cached_property
    def properties(self) -> ScaleSetVMProperties:
        """The VM's ``properties`` as models, built on first use (they cannot fail:
        ``properties_json`` was validated with the same types)."""
        return ScaleSetVMProperties.model_validate(self.properties_json)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Validate after ``with_identity``. Not a "before" model validator: pydantic
        would then turn each VM of a page validated from bytes (``vm_pages``) into
        dicts first, the very cost that path avoids."""
        return super().model_validate(with_identity(obj), **kwargs)

    @property
    def unreadable(self) -> str | None:
        """Why this list item could not be read (None for a normal VM)."""
        return None

    @classmethod
    def unreadable_item(cls, item: Any, reason: str, fallback_id: str) -> ScaleSetVM:
        """A stand-in for a list item that does not validate: it keeps its place in the
        heatmap (and the reason for the details pane) instead of failing the whole list,
        and is never a target of a change."""
        data = item if isinstance(item, dict) else {}
        resource_id, name = _text(data, "id"), _text(data, "name")
        instance_id = (
            _text(data, "instanceId") or derive_instance_id(resource_id, name) or fallback_id
        )
        vm = UnreadableVM.model_construct(id=resource_id, name=name, instance_id=instance_id)
        vm._raw = data
        vm._reason = reason
        return vm


class UnreadableVM(ScaleSetVM):
    """``ScaleSetVM.unreadable_item``'s stand-in. A subclass rather than a private field
    of every VM: ``unreadable`` is read for each VM on every refresh, and a pydantic
    private attribute is slow to read."""

    _reason: str = PrivateAttr(default="")

    @property
    def unreadable(self) -> str | None:
        return self._reason


# --------------------------------------------------------------------------- LROs & errors


class ErrorDetail(ArmModel):
    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ArmErrorBody(ArmModel):
    """ARM's error envelope ``{"error": {...}}``."""

    error: ErrorDetail


class OperationStatus(ArmModel):
    """The body served at an ``Azure-AsyncOperation`` URL."""

    name: str | None = None
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    error: ErrorDetail | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.lower() in {"succeeded", "failed", "canceled", "cancelled"}


class RollingUpgradeRunningStatus(ArmModel):
    code: str | None = None
    start_time: datetime | None = None
    last_action: str | None = None
    last_action_time: datetime | None = None


class RollingUpgradeProgress(ArmModel):
    successful_instance_count: int = 0
    failed_instance_count: int = 0
    in_progress_instance_count: int = 0
    pending_instance_count: int = 0


class RollingUpgradeStatusProperties(ArmModel):
    policy: RollingUpgradePolicy | None = None
    running_status: RollingUpgradeRunningStatus | None = None
    progress: RollingUpgradeProgress | None = None
    error: ErrorDetail | None = None


class RollingUpgradeStatus(ArmModel):
    """``rollingUpgrades/latest``."""

    type: str | None = None
    location: str | None = None
    properties: RollingUpgradeStatusProperties = Field(
        default_factory=RollingUpgradeStatusProperties
    )


class Page(ArmModel):
    """One page of any ARM list."""

    value: list[dict[str, Any]] = Field(default_factory=list)
    next_link: str | None = None
