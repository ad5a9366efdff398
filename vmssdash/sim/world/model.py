"""The simulated resources as plain records: scale sets, VMs, operations, rolling
upgrades, and the rules for a scale set's model document (merge patch, policy defaults).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vmssdash.azure.models.durations import parse_duration
from vmssdash.sim.errors import invalid_parameter

COMPUTE = "Microsoft.Compute"
UPGRADE_MODES = ("Automatic", "Manual", "Rolling")
ROLLING_DEFAULTS: dict[str, Any] = {
    "maxBatchInstancePercent": 20,
    "maxUnhealthyInstancePercent": 20,
    "maxUnhealthyUpgradedInstancePercent": 20,
    "pauseTimeBetweenBatches": "PT0S",
}


@dataclass(frozen=True)
class Timings:
    """Simulated seconds per VM transition (a scenario may override any of them)."""

    upgrade: float = 20.0
    warmup: float = 8.0
    restart: float = 10.0
    start: float = 8.0
    stop: float = 6.0
    deallocate: float = 10.0
    delete: float = 8.0
    create: float = 30.0
    model_update: float = 2.0
    noop: float = 1.0
    upgrade_spread: float = 0.0
    """Per-VM upgrade-time variance: 0.5 makes some VMs up to 50% slower or faster."""
    bad_after: float = 60.0
    """Seconds after warm-up until a ``bad-late`` image turns unhealthy."""


@dataclass
class Vm:
    instance_id: int
    ud: int
    fd: int
    zone: str | None
    placement_group: str
    vm_id: str
    computer_name: str
    applied_gen: int
    exact_version: str
    time_created: float
    disk_suffix: str
    provisioning: str = "Succeeded"  # Succeeded | Updating | Creating | Deleting | Failed
    failure_code: str | None = None
    failure_message: str | None = None
    prov_time: float = 0.0
    power: str | None = "running"
    health: str | None = None  # healthy | unhealthy | initializing | unknown, None = no reporting
    etag: int = 1
    protect_from_scale_in: bool = False
    protect_from_scale_set_actions: bool = False
    busy: str | None = None
    job: int = 0
    rev: int = 0
    manual_upgrades: int = 0
    """How many accepted ``manualupgrade`` calls included this VM (shown in /_sim/state)."""


@dataclass
class Operation:
    id: str
    subscription: str
    location: str
    kind: str
    start: float
    scale_set: ScaleSet | None = None
    end: float | None = None
    status: str = "InProgress"
    error: dict[str, Any] | None = None
    pending: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    on_finish: list[Callable[[Operation], None]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status != "InProgress"


@dataclass
class RollingUpgrade:
    policy: dict[str, Any]
    start: float
    operation: Operation | None
    batches: list[list[int]]
    total: int
    code: str = "RollingForward"
    last_action: str = "Start"
    last_action_time: float = 0.0
    end: float | None = None
    successful: int = 0
    failed: int = 0
    in_progress: int = 0
    error: dict[str, Any] | None = None
    upgraded: int = 0
    started_by: str = "User"
    target_image: dict[str, Any] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        return sum(len(b) for b in self.batches)

    @property
    def running(self) -> bool:
        return self.code == "RollingForward"


@dataclass
class ResourceGroup:
    subscription: str
    name: str
    location: str


@dataclass
class Subscription:
    id: str
    display_name: str
    tenant_id: str


@dataclass
class ScaleSet:
    subscription: str
    resource_group: str
    name: str
    location: str
    sku: dict[str, Any]
    properties: dict[str, Any]
    unique_id: str
    time_created: float
    zones: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    etag: int = 1
    model_gen: int = 1
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    vms: dict[int, Vm] = field(default_factory=dict)
    next_instance_id: int = 0
    health_reporting: bool = True
    ud_count: int = 5
    updating_ops: int = 0
    action_op: Operation | None = None
    model_op: Operation | None = None
    rolling: RollingUpgrade | None = None
    rolling_history: list[RollingUpgrade] = field(default_factory=list)
    deleting: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{COMPUTE}/virtualMachineScaleSets/{self.name}"
        )

    @property
    def flexible(self) -> bool:
        return str(self.properties.get("orchestrationMode", "")).lower() == "flexible"

    @property
    def profile(self) -> dict[str, Any]:
        vmp: dict[str, Any] = self.properties["virtualMachineProfile"]
        return vmp

    @property
    def upgrade_mode(self) -> str:
        return str(self.properties.get("upgradePolicy", {}).get("mode", "Manual"))

    @property
    def fd_count(self) -> int:
        return max(1, int(self.properties.get("platformFaultDomainCount", 5)))

    @property
    def provisioning_state(self) -> str:
        if self.deleting:
            return "Deleting"
        if self.model_op is not None and not self.model_op.done and self.model_op.kind == "create":
            return "Creating"
        return "Updating" if self.updating_ops else "Succeeded"

    def sorted_vms(self) -> list[Vm]:
        return [self.vms[i] for i in sorted(self.vms)]


def vm_name(vmss: ScaleSet, vm: Vm) -> str:
    """A Uniform VM is ``{set}_{instance id}``; a Flexible member is a plain VM named
    ``{set}_{8 hex}``, not by a number."""
    if vmss.flexible:
        return f"{vmss.name}_{vm.vm_id.replace('-', '')[:8]}"
    return f"{vmss.name}_{vm.instance_id}"


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """JSON merge patch (RFC 7386): dicts merge, null deletes, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


_READ_ONLY = ("provisioningState", "uniqueId", "timeCreated")


def writable_properties(props: dict[str, Any]) -> dict[str, Any]:
    """A model as a client sent it, minus the read-only fields a GET → PUT round trip
    carries back (they must not count as a model change)."""
    out = {k: copy.deepcopy(v) for k, v in props.items() if k not in _READ_ONLY}
    vmp = out.get("virtualMachineProfile")
    if isinstance(vmp, dict):
        vmp.pop("timeCreated", None)
        ref = (vmp.get("storageProfile") or {}).get("imageReference")
        if isinstance(ref, dict):
            ref.pop("exactVersion", None)
    return out


def computer_name(prefix: str, instance_id: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    n = instance_id
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return prefix + out.rjust(6, "0")


def fill_upgrade_policy(props: dict[str, Any]) -> None:
    """The service fills the rolling policy defaults in every mode (reference §5.3)."""
    policy = props.setdefault("upgradePolicy", {})
    mode = str(policy.get("mode", "Manual"))
    canonical = next((m for m in UPGRADE_MODES if m.lower() == mode.lower()), None)
    if canonical is None:
        raise invalid_parameter(
            f"The value '{mode}' of parameter 'upgradePolicy.mode' is invalid.",
            "upgradePolicy.mode",
        )
    policy["mode"] = canonical
    rolling = policy.setdefault("rollingUpgradePolicy", {})
    for key, default in ROLLING_DEFAULTS.items():
        rolling.setdefault(key, default)
    for key, lo in (
        ("maxBatchInstancePercent", 5),
        ("maxUnhealthyInstancePercent", 5),
        ("maxUnhealthyUpgradedInstancePercent", 0),
    ):
        value = rolling[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= 100:
            raise invalid_parameter(
                f"The value {value} of parameter 'rollingUpgradePolicy.{key}' is out of "
                f"range. The value must be between {lo} and 100, inclusive.",
                f"rollingUpgradePolicy.{key}",
            )
    parse_iso_duration(str(rolling["pauseTimeBetweenBatches"]))


def parse_iso_duration(text: str) -> float:
    """``parse_duration`` answering the way ARM does: a 400 naming the parameter."""
    try:
        return parse_duration(text)
    except ValueError:
        raise invalid_parameter(
            f"The value '{text}' of parameter 'rollingUpgradePolicy.pauseTimeBetweenBatches' "
            "is not a valid ISO 8601 duration.",
            "rollingUpgradePolicy.pauseTimeBetweenBatches",
        ) from None
