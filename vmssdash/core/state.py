"""Classify one VM into the state its heatmap cell shows.

The state comes from the VM's own model and instance view, never from the scale set's
provisioning state (which races and lies during upgrades). One VM has exactly one
primary state; the facts behind it (latest model, health, protection) stay available
on ``VmInfo`` for planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.vm_json import StatusJson


class VmState(Enum):
    """Primary state of a VM, in precedence order (first match wins)."""

    FAILED = "failed"
    DELETING = "deleting"
    CREATING = "creating"
    UPDATING = "updating"
    STARTING = "starting"
    STOPPING = "stopping"
    DEALLOCATED = "deallocated"
    STOPPED = "stopped"
    UNHEALTHY = "unhealthy"
    PROTECTED = "protected"
    STALE = "stale"
    HEALTH_UNKNOWN = "health-unknown"
    UP_TO_DATE = "up-to-date"
    UNKNOWN = "unknown"

    @property
    def glyph(self) -> str:
        return _GLYPHS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_transitional(self) -> bool:
        return self in _TRANSITIONAL


_GLYPHS: dict[VmState, str] = {
    VmState.FAILED: "✖",
    VmState.DELETING: "×",
    VmState.CREATING: "+",
    VmState.UPDATING: "◐",
    VmState.STARTING: "▲",
    VmState.STOPPING: "▼",
    VmState.DEALLOCATED: "□",
    VmState.STOPPED: "■",
    VmState.UNHEALTHY: "!",
    VmState.PROTECTED: "◆",
    VmState.STALE: "○",
    VmState.HEALTH_UNKNOWN: "?",
    VmState.UP_TO_DATE: "●",
    VmState.UNKNOWN: "·",
}

_LABELS: dict[VmState, str] = {
    VmState.FAILED: "failed",
    VmState.DELETING: "deleting",
    VmState.CREATING: "creating",
    VmState.UPDATING: "updating",
    VmState.STARTING: "starting",
    VmState.STOPPING: "stopping",
    VmState.DEALLOCATED: "deallocated",
    VmState.STOPPED: "stopped",
    VmState.UNHEALTHY: "unhealthy",
    VmState.PROTECTED: "protected",
    VmState.STALE: "stale",
    VmState.HEALTH_UNKNOWN: "health unknown",
    VmState.UP_TO_DATE: "up to date",
    VmState.UNKNOWN: "unknown",
}

_TRANSITIONAL = frozenset(
    {VmState.DELETING, VmState.CREATING, VmState.UPDATING, VmState.STARTING, VmState.STOPPING}
)


@dataclass(frozen=True, slots=True)
class VmInfo:
    """Everything the dashboard knows about one VM, flattened from the wire model."""

    instance_id: str
    name: str
    state: VmState
    computer_name: str | None = None
    update_domain: int | None = None
    fault_domain: int | None = None
    zone: str | None = None
    placement_group: str | None = None
    latest_model: bool | None = None
    provisioning_state: str | None = None
    provisioning_display: str | None = None
    provisioning_time: str | None = None
    power_state: str | None = None
    power_display: str | None = None
    health: str | None = None
    failure_code: str | None = None
    protected_from_scale_set_actions: bool = False
    protected_from_scale_in: bool = False
    image_version: str | None = None
    vm_id: str | None = None
    resource_id: str = ""
    #: Why the VM's JSON could not be read (the server sent a malformed item); such a VM
    #: is shown, never targeted.
    unreadable: str | None = None

    @property
    def sort_key(self) -> tuple[int, str]:
        """Instance ids are decimal strings: sort them as numbers, not text."""
        return (
            (int(self.instance_id), "")
            if self.instance_id.isdigit()
            else (1 << 62, self.instance_id)
        )

    @property
    def is_running(self) -> bool:
        return self.power_state == "running"

    @property
    def is_healthy(self) -> bool:
        """Healthy for gating: running, provisioned, and not reported unhealthy.

        A VM without application health reporting counts as healthy when it runs;
        ``unknown`` is treated as unhealthy, ``initializing`` as not yet healthy.
        """
        if self.state in (VmState.FAILED, VmState.UNHEALTHY):
            return False
        if not self.is_running:
            return False
        return self.health in (None, "healthy")


def _suffix(code: str | None, prefix: str) -> str | None:
    if code is None or not code.lower().startswith(prefix.lower() + "/"):
        return None
    return code[len(prefix) + 1 :]


def _status(statuses: list[StatusJson], prefix: str) -> StatusJson | None:
    """The first status whose code starts with ``prefix``; position is not reliable."""
    low = prefix.lower()
    for status in statuses:
        code = status.get("code")
        if code and code.lower().startswith(low):
            return status
    return None


def classify(vm: ScaleSetVM) -> VmInfo:
    """Turn one VM of a ``$expand=instanceView`` list into a ``VmInfo``.

    Reads the VM's validated JSON (``properties_json``), not its models: this runs for
    every VM on every refresh."""
    if vm.unreadable is not None:
        return VmInfo(
            vm.instance_id, vm.name, VmState.UNKNOWN, unreadable=vm.unreadable, resource_id=vm.id
        )
    props = vm.properties_json
    view = props.get("instanceView")
    statuses = view.get("statuses", []) if view is not None else []
    prov_status = _status(statuses, "ProvisioningState/")
    power_status = _status(statuses, "PowerState/")
    prov_suffix = _suffix(prov_status.get("code") if prov_status else None, "ProvisioningState")
    prov_parts = (prov_suffix or "").split("/")
    prov_code = prov_parts[0].lower() if prov_suffix else None
    failure_code = prov_parts[1] if prov_code == "failed" and len(prov_parts) > 1 else None
    power = _suffix(power_status.get("code") if power_status else None, "PowerState")
    power = power.lower() if power else None
    vm_health = view.get("vmHealth") if view is not None else None
    health_status = vm_health.get("status") if vm_health is not None else None
    health = _suffix(health_status.get("code") if health_status else None, "HealthState")
    health = health.lower() if health else None
    resource_prov = (props.get("provisioningState") or "").lower()
    protection = props.get("protectionPolicy")
    protected = protection is not None and protection.get("protectFromScaleSetActions", False)
    latest = props.get("latestModelApplied")

    state = _primary_state(
        prov_code=prov_code or resource_prov or None,
        resource_prov=resource_prov,
        power=power,
        health=health,
        latest=latest,
        protected=protected,
        has_view=view is not None,
    )
    storage = props.get("storageProfile")
    image = storage.get("imageReference") if storage is not None else None
    image_version = None
    if image is not None:
        image_version = image.get("exactVersion") or image.get("version") or image.get("id")
    os_profile = props.get("osProfile")
    prov_time = prov_status.get("time") if prov_status else None
    return VmInfo(
        instance_id=vm.instance_id,
        name=vm.name,
        state=state,
        computer_name=(view.get("computerName") if view is not None else None)
        or (os_profile.get("computerName") if os_profile is not None else None),
        update_domain=view.get("platformUpdateDomain") if view is not None else None,
        fault_domain=view.get("platformFaultDomain") if view is not None else None,
        zone=vm.zones[0] if vm.zones else None,
        placement_group=view.get("placementGroupId") if view is not None else None,
        latest_model=latest,
        provisioning_state=props.get("provisioningState"),
        provisioning_display=prov_status.get("displayStatus") if prov_status else None,
        provisioning_time=prov_time.isoformat() if prov_time else None,
        power_state=power,
        power_display=power_status.get("displayStatus") if power_status else None,
        health=health,
        failure_code=failure_code or (prov_suffix if prov_code == "failed" else None),
        protected_from_scale_set_actions=protected,
        protected_from_scale_in=protection is not None
        and protection.get("protectFromScaleIn", False),
        image_version=image_version,
        vm_id=props.get("vmId"),
        resource_id=vm.id,
    )


def _primary_state(
    *,
    prov_code: str | None,
    resource_prov: str,
    power: str | None,
    health: str | None,
    latest: bool | None,
    protected: bool,
    has_view: bool,
) -> VmState:
    if prov_code == "failed" or resource_prov == "failed":
        return VmState.FAILED
    if prov_code in ("deleting",) or resource_prov == "deleting":
        return VmState.DELETING
    if prov_code == "creating" or resource_prov == "creating":
        return VmState.CREATING
    if power in ("starting",):
        return VmState.STARTING
    if power in ("stopping", "deallocating"):
        return VmState.STOPPING
    if prov_code == "updating" or resource_prov == "updating":
        return VmState.UPDATING
    if power == "deallocated":
        return VmState.DEALLOCATED
    if power == "stopped":
        return VmState.STOPPED
    if not has_view:
        return VmState.UNKNOWN
    if health == "unhealthy":
        return VmState.UNHEALTHY
    if protected:
        return VmState.PROTECTED
    if latest is False:
        return VmState.STALE
    if health in ("unknown", "initializing"):
        return VmState.HEALTH_UNKNOWN
    if power == "running":
        return VmState.UP_TO_DATE
    return VmState.UNKNOWN
