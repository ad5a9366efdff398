"""A scale set's VMs: ``ScaleSetVM``, its instance view and its identity (``with_identity``).

A VM's ``properties`` are validated as JSON (``vm_json``) and become the models below only
when read. ``UnreadableVM`` stands in for a list item that does not validate.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property
from typing import Any, Self

from pydantic import Field, PrivateAttr, StrictBool

from vmssdash.azure.models.base import ArmModel, RawModel, first_text
from vmssdash.azure.models.scaleset import ImageReference, OsProfile, Sku
from vmssdash.azure.vm_json import VmPropertiesJson

_VM_ID = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)/?$", re.IGNORECASE)
_VM_NAME = re.compile(r"_([0-9]+)$")


def derive_instance_id(resource_id: str, name: str) -> str | None:
    """``instanceId`` from ``…/virtualMachines/<id>``, else from ``<vmss>_<id>``."""
    match = _VM_ID.search(resource_id)
    if match:
        return match.group(2)
    by_name = _VM_NAME.search(name)
    return by_name.group(1) if by_name else None


# The VM models below mirror ``vm_json``'s TypedDicts field for field (what is read):
# they are built from an already validated ``properties_json``, only when asked for.


class InstanceViewStatus(ArmModel):
    code: str | None = None
    display_status: str | None = None
    time: datetime | None = None


class ProtectionPolicy(ArmModel):
    protect_from_scale_in: StrictBool = False
    protect_from_scale_set_actions: StrictBool = False


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
    if not isinstance(data, dict) or first_text(data, "instanceId", "instance_id"):
        return data
    resource_id, name = first_text(data, "id"), first_text(data, "name")
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
        resource_id, name = first_text(data, "id"), first_text(data, "name")
        instance_id = (
            first_text(data, "instanceId") or derive_instance_id(resource_id, name) or fallback_id
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
