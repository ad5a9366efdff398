"""Classify one VM into the state its heatmap cell shows.

The state comes from the VM's own model and instance view, never from the scale set's
provisioning state (which races and lies during upgrades). One VM has exactly one
primary state; the facts behind it (latest model, health, protection) stay available
on ``VmInfo`` for planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vmssdash.azure.models import ScaleSetVM


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


def classify(vm: ScaleSetVM) -> VmInfo:
    """Turn one VM of a ``$expand=instanceView`` list into a ``VmInfo``."""
    if vm.unreadable is not None:
        return VmInfo(
            vm.instance_id, vm.name, VmState.UNKNOWN, unreadable=vm.unreadable, resource_id=vm.id
        )
    props = vm.properties
    view = props.instance_view
    prov_status = view.status_with_prefix("ProvisioningState/") if view else None
    power_status = view.status_with_prefix("PowerState/") if view else None
    prov_suffix = _suffix(prov_status.code if prov_status else None, "ProvisioningState") or ""
    prov_parts = prov_suffix.split("/")
    prov_code = prov_parts[0].lower() if prov_suffix else None
    failure_code = prov_parts[1] if prov_code == "failed" and len(prov_parts) > 1 else None
    power = _suffix(power_status.code if power_status else None, "PowerState")
    power = power.lower() if power else None
    health_code = (
        view.vm_health.status.code if view and view.vm_health and view.vm_health.status else None
    )
    health = _suffix(health_code, "HealthState")
    health = health.lower() if health else None
    resource_prov = (props.provisioning_state or "").lower()
    protection = props.protection_policy

    state = _primary_state(
        prov_code=prov_code or resource_prov or None,
        resource_prov=resource_prov,
        power=power,
        health=health,
        latest=props.latest_model_applied,
        protected=bool(protection and protection.protect_from_scale_set_actions),
        has_view=view is not None,
    )
    image = props.storage_profile.image_reference if props.storage_profile else None
    image_version = None
    if image is not None:
        image_version = image.exact_version or image.version or image.id
    return VmInfo(
        instance_id=vm.instance_id,
        name=vm.name,
        state=state,
        computer_name=(view.computer_name if view else None)
        or (props.os_profile.computer_name if props.os_profile else None),
        update_domain=view.platform_update_domain if view else None,
        fault_domain=view.platform_fault_domain if view else None,
        zone=vm.zones[0] if vm.zones else None,
        placement_group=view.placement_group_id if view else None,
        latest_model=props.latest_model_applied,
        provisioning_state=props.provisioning_state,
        provisioning_display=prov_status.display_status if prov_status else None,
        provisioning_time=prov_status.time.isoformat()
        if prov_status and prov_status.time
        else None,
        power_state=power,
        power_display=power_status.display_status if power_status else None,
        health=health,
        failure_code=failure_code or (prov_suffix if prov_code == "failed" else None),
        protected_from_scale_set_actions=bool(
            protection and protection.protect_from_scale_set_actions
        ),
        protected_from_scale_in=bool(protection and protection.protect_from_scale_in),
        image_version=image_version,
        vm_id=props.vm_id,
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
