"""The simulated Azure: subscriptions, scale sets, VMs, operations, and their timed changes.

The world is a discrete-event simulation. Every state change is either immediate (a
request) or an event scheduled at a simulated time; ``advance(now)`` runs the due events
in time order. The app calls it lazily at the start of every request, so there is no
background thread, and a manual clock makes every test deterministic.

All mutation happens with ``world.lock`` held (the app takes it around each request).
Randomness comes from ``random.Random`` instances seeded from the scenario seed.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vmssdash.azure.models import parse_duration
from vmssdash.sim import delivery
from vmssdash.sim.clock import SimClock
from vmssdash.sim.errors import (
    SimError,
    conflict_concurrent,
    invalid_parameter,
    precondition_failed,
    vm_being_deleted,
)
from vmssdash.sim.faults import FaultConfig, FaultInjector

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


# --------------------------------------------------------------------------- images


def version_key(version: str) -> tuple[int, ...]:
    """Order image versions numerically ('24.04.202610010' < '24.04.202612010')."""
    return tuple(int(p) for p in re.findall(r"\d+", version))


def image_kind(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "vhd"
    if ref.get("id"):
        return "gallery" if "/galleries/" in str(ref["id"]).lower() else "managed"
    if ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"):
        return "shared"
    return "platform"


_GALLERY_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/galleries/"
    r"(?P<gallery>[^/]+)/images/(?P<image>[^/]+)(?:/versions/(?P<version>[^/]+))?$",
    re.IGNORECASE,
)
_VHD_RE = re.compile(r"^https://[a-z0-9]{3,24}\.blob\.core\.[a-z0-9.]+/[^/?#]+/[^?#]+\.vhd$", re.I)
_MANAGED_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/images/[^/]+$",
    re.IGNORECASE,
)


@dataclass
class ImageCatalog:
    """Platform image versions per (location, publisher, offer, sku) and gallery versions
    per image definition id (all keys lower-case)."""

    platform: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)
    gallery: dict[str, list[str]] = field(default_factory=dict)

    def add_platform(
        self, location: str, publisher: str, offer: str, sku: str, versions: Iterable[str]
    ) -> None:
        key = (location.lower(), publisher.lower(), offer.lower(), sku.lower())
        self.platform[key] = sorted(set(versions), key=version_key)

    def add_gallery(self, image_definition_id: str, versions: Iterable[str]) -> None:
        self.gallery[image_definition_id.lower()] = sorted(set(versions), key=version_key)

    def platform_versions(self, location: str, publisher: str, offer: str, sku: str) -> list[str]:
        return self.platform.get(
            (location.lower(), publisher.lower(), offer.lower(), sku.lower()), []
        )

    def newest(self, versions: list[str]) -> str | None:
        """The newest version that is a real release: 'latest' never picks a test marker."""
        good = [v for v in versions if not re.search(r"bad|fail", v, re.IGNORECASE)]
        pool = good or versions
        return pool[-1] if pool else None

    def validate(self, location: str, ref: dict[str, Any] | None, os_disk: dict[str, Any]) -> None:
        kind = image_kind(ref)
        if kind == "vhd":
            uri = (os_disk.get("image") or {}).get("uri")
            if not uri:
                raise invalid_parameter(
                    "Required parameter 'imageReference' is missing (null).",
                    "imageReference",
                )
            if not _VHD_RE.match(str(uri)):
                raise invalid_parameter(
                    f"The value '{uri}' of parameter 'osDisk.image.uri' is invalid. It must be "
                    "the URI of a VHD blob in an Azure storage account.",
                    "osDisk.image.uri",
                )
            return
        assert ref is not None
        if kind == "platform":
            parts = [str(ref.get(k) or "") for k in ("publisher", "offer", "sku", "version")]
            if not all(parts[:3]):
                raise invalid_parameter(
                    "The value of parameter imageReference is invalid.", "imageReference"
                )
            version = parts[3] or "latest"
            known = self.platform_versions(location, *parts[:3])
            if not known or (version.lower() != "latest" and version not in known):
                urn = ":".join([*parts[:3], version])
                raise invalid_parameter(
                    f"The platform image '{urn}' is not available. Verify that all fields in "
                    "the storage profile are correct. For more details about storage profile "
                    "information, please refer to https://aka.ms/storageprofile",
                    "imageReference",
                )
            return
        if kind == "gallery":
            m = _GALLERY_RE.match(str(ref["id"]))
            if not m:
                raise invalid_parameter(
                    f"The value '{ref['id']}' of parameter 'imageReference.id' is invalid.",
                    "imageReference.id",
                )
            definition = str(ref["id"]).lower().split("/versions/")[0]
            versions = self.gallery.get(definition)
            version = m.group("version")
            if versions is None or (version is not None and version not in versions):
                raise invalid_parameter(
                    f"The gallery image version '{ref['id']}' does not exist or is not "
                    "replicated to this region.",
                    "imageReference.id",
                )
            return
        if kind == "managed" and not _MANAGED_RE.match(str(ref["id"])):
            raise invalid_parameter(
                f"The value '{ref['id']}' of parameter 'imageReference.id' is invalid.",
                "imageReference.id",
            )

    def resolve(self, location: str, ref: dict[str, Any] | None) -> str:
        """The exact version a VM built from ``ref`` runs."""
        kind = image_kind(ref)
        if ref is None or kind == "vhd":
            return ""
        if kind in ("managed", "shared"):
            # No versions: the image's own name stands in (and carries the test markers).
            rid = str(ref.get("id") or ref.get("sharedGalleryImageId") or "")
            rid = rid or str(ref.get("communityGalleryImageId") or "")
            return rid.rstrip("/").rsplit("/", 1)[-1]
        if kind == "platform":
            version = str(ref.get("version") or "latest")
            if version.lower() != "latest":
                return version
            known = self.platform_versions(
                location, str(ref.get("publisher")), str(ref.get("offer")), str(ref.get("sku"))
            )
            return self.newest(known) or "1.0.0"
        if kind == "gallery":
            rid = str(ref["id"])
            m = _GALLERY_RE.match(rid)
            if m and m.group("version"):
                return m.group("version")
            return self.newest(self.gallery.get(rid.lower(), [])) or "1.0.0"
        return "1.0.0"


def marker_of(version: str) -> str | None:
    """Scenario markers: a version containing 'fail' fails to provision, 'bad' turns unhealthy."""
    low = version.lower()
    if "fail" in low:
        return "fail"
    if delivery.is_late_bad(low):
        return delivery.LATE_MARKER
    if "bad" in low:
        return "bad"
    return None


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


# --------------------------------------------------------------------------- world


class World:
    """Everything the simulator knows, plus the event queue that moves it forward."""

    def __init__(
        self,
        *,
        clock: SimClock,
        seed: int = 0,
        timings: Timings | None = None,
        faults: FaultInjector | None = None,
        tenant_id: str = "72f988bf-0000-0000-0000-000000000001",
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.timings = timings or Timings()
        self.faults = faults or FaultInjector(FaultConfig(), seed)
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        self.rng = random.Random(f"world-{seed}")
        self.now = 0.0
        self.subscriptions: dict[str, Subscription] = {}
        self.resource_groups: dict[tuple[str, str], ResourceGroup] = {}
        self.scale_sets: dict[tuple[str, str, str], ScaleSet] = {}
        self.operations: dict[str, Operation] = {}
        self.catalog = ImageCatalog()
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    # ----------------------------------------------------------------- time

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._events, (self.now + max(0.0, delay), next(self._seq), fn))

    def advance(self, now: float | None = None) -> None:
        """Run every event due by ``now`` (default: the clock), in time order."""
        target = self.clock.now() if now is None else now
        while self._events and self._events[0][0] <= target:
            at, _, fn = heapq.heappop(self._events)
            self.now = max(self.now, at)
            fn()
        self.now = max(self.now, target)

    def datetime(self, t: float | None = None) -> datetime:
        return self.clock.datetime_at(self.now if t is None else t)

    @property
    def pending_events(self) -> int:
        return len(self._events)

    def _jitter(self) -> float:
        return self.rng.uniform(0.8, 1.25)

    # ----------------------------------------------------------------- lookup

    def add_subscription(self, sub: Subscription) -> None:
        self.subscriptions[sub.id.lower()] = sub

    def add_resource_group(self, rg: ResourceGroup) -> None:
        self.resource_groups[(rg.subscription.lower(), rg.name.lower())] = rg

    def add_scale_set(self, vmss: ScaleSet) -> None:
        self.scale_sets[vmss.key] = vmss

    def scale_sets_in(self, subscription: str, resource_group: str | None = None) -> list[ScaleSet]:
        out = [
            s
            for s in self.scale_sets.values()
            if s.key[0] == subscription.lower()
            and (resource_group is None or s.key[1] == resource_group.lower())
        ]
        return sorted(out, key=lambda s: (s.key[1], s.key[2]))

    def find_scale_set(self, subscription: str, resource_group: str, name: str) -> ScaleSet | None:
        return self.scale_sets.get((subscription.lower(), resource_group.lower(), name.lower()))

    # ----------------------------------------------------------------- operations

    def new_operation(self, kind: str, vmss: ScaleSet) -> Operation:
        op = Operation(
            id=self.uuid(),
            subscription=vmss.subscription,
            location=vmss.location,
            kind=kind,
            start=self.now,
            scale_set=vmss,
        )
        self.operations[op.id] = op
        return op

    def _hold(self, op: Operation, delay: float) -> None:
        """Keep ``op`` running for at least ``delay`` simulated seconds."""
        op.pending += 1
        self.schedule(delay, lambda: self._release(op))

    def _release(self, op: Operation, failure: dict[str, Any] | None = None) -> None:
        if failure is not None:
            op.failures.append(failure)
        op.pending -= 1
        if op.pending <= 0 and not op.done:
            if op.failures:
                first = op.failures[0]
                error = dict(first)
                if len(op.failures) > 1:
                    error["details"] = [dict(f) for f in op.failures]
                self.finish_operation(op, "Failed", error)
            else:
                self.finish_operation(op, "Succeeded")

    def finish_operation(
        self, op: Operation, status: str, error: dict[str, Any] | None = None
    ) -> None:
        if op.done:
            return
        op.status = status
        op.error = error
        op.end = self.now
        for fn in op.on_finish:
            fn(op)

    # ----------------------------------------------------------------- VM state

    def _touch(self, vm: Vm, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(vm, key, value)
        vm.rev += 1

    def _settled_health(self, vmss: ScaleSet, vm: Vm, image_version: str) -> str | None:
        if not vmss.health_reporting:
            return None
        if marker_of(image_version) == "bad" or self.faults.roll("unhealthy"):
            return "unhealthy"
        return "healthy"

    def _warm_up(
        self, vmss: ScaleSet, vm: Vm, on_settled: Callable[[Vm, bool], None] | None
    ) -> None:
        """After a (re)start: health initializing, then its final value."""
        if not vmss.health_reporting or vm.power != "running":
            if on_settled:
                on_settled(vm, vm.provisioning == "Succeeded")
            return
        self._touch(vm, health="initializing")

        def settle() -> None:
            if vm.health == "initializing" and vm.instance_id in vmss.vms:
                self._touch(vm, health=self._settled_health(vmss, vm, vm.exact_version))
                if marker_of(vm.exact_version) == delivery.LATE_MARKER:
                    delivery.turn_bad_later(
                        vm,
                        self.timings.bad_after,
                        self.schedule,
                        lambda health: self._touch(vm, health=health),
                    )
            if on_settled:
                ok = vm.provisioning == "Succeeded" and vm.health == "healthy"
                on_settled(vm, ok)

        self.schedule(self.timings.warmup * self._jitter(), settle)

    def vm_name(self, vmss: ScaleSet, vm: Vm) -> str:
        return vm_name(vmss, vm)

    def run_vm_job(
        self,
        vmss: ScaleSet,
        vm: Vm,
        kind: str,
        *,
        on_done: Callable[[Vm, dict[str, Any] | None], None] | None = None,
        on_settled: Callable[[Vm, bool], None] | None = None,
    ) -> None:
        """Start one VM transition; ``on_done`` fires when its provisioning ends,
        ``on_settled`` when its health is known (after the warm-up)."""
        t = self.timings
        vm.busy = kind
        vm.job += 1
        token = vm.job
        gen = vmss.model_gen

        def guarded(fn: Callable[[], None], *, final: bool = False) -> Callable[[], None]:
            """Phases of a job that a newer job (scale-in, scale-set delete) replaced do
            nothing, except that the replaced operation learns it was pre-empted."""

            def run() -> None:
                if vm.job == token:
                    fn()
                    return
                if final:
                    if on_done:
                        on_done(
                            vm,
                            {
                                "code": "OperationPreempted",
                                "message": "Operation execution has been preempted by a more "
                                "recent operation.",
                                "target": str(vm.instance_id),
                            },
                        )
                    if on_settled:
                        on_settled(vm, False)

            return run

        def done(error: dict[str, Any] | None = None) -> None:
            vm.busy = None
            if on_done:
                on_done(vm, error)

        if kind in ("upgrade", "reimage", "reimageall"):
            factor = delivery.upgrade_factor(self.seed, vmss.name, vm.instance_id, t.upgrade_spread)
            total = t.upgrade * factor * self._jitter()
            target = self.catalog.resolve(
                vmss.location, vmss.profiles[gen].get("storageProfile", {}).get("imageReference")
            )
            if (
                kind == "upgrade"
                and vm.applied_gen == gen
                and vm.exact_version == target
                and vm.provisioning == "Succeeded"
            ):
                total = t.noop * self._jitter()
            was_off = vm.power in ("deallocated", "stopped")
            if was_off:
                self._touch(vm, provisioning="Updating")
            else:
                self._touch(vm, provisioning="Updating", power="stopping")

                def stopped() -> None:
                    self._touch(vm, power="stopped")

                def starting() -> None:
                    self._touch(vm, power="starting")

                self.schedule(total * 0.1, guarded(stopped))
                self.schedule(total * 0.9, guarded(starting))

            def finish() -> None:
                profile = vmss.profiles[gen]
                ref = profile.get("storageProfile", {}).get("imageReference")
                version = self.catalog.resolve(vmss.location, ref)
                power = vm.power if was_off else "running"
                if marker_of(version) == "fail" or self.faults.roll("upgrade_fail"):
                    code, message = (
                        ("OSProvisioningTimedOut", self._timeout_message(vmss, vm))
                        if marker_of(version) == "fail"
                        else (
                            "InternalOperationError",
                            "Operation abandoned due to internal error. Please try again later.",
                        )
                    )
                    self._touch(
                        vm,
                        provisioning="Failed",
                        failure_code=code,
                        failure_message=message,
                        prov_time=self.now,
                        power=power,
                        health="unknown" if vmss.health_reporting else None,
                        etag=vm.etag + 1,
                    )
                    done({"code": code, "message": message, "target": str(vm.instance_id)})
                    if on_settled:
                        on_settled(vm, False)
                    return
                self._touch(
                    vm,
                    provisioning="Succeeded",
                    failure_code=None,
                    failure_message=None,
                    prov_time=self.now,
                    power=power,
                    applied_gen=gen,
                    exact_version=version,
                    etag=vm.etag + 1,
                    health=(
                        ("unknown" if power != "running" else vm.health)
                        if vmss.health_reporting
                        else None
                    ),
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(total, guarded(finish, final=True))
            return

        if kind in ("restart", "start"):
            duration = (t.restart if kind == "restart" else t.start) * self._jitter()
            if kind == "start" and vm.power == "running":
                duration = t.noop
            self._touch(vm, provisioning="Updating", power="starting")

            def started() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded" if vm.failure_code is None else "Failed",
                    prov_time=self.now,
                    power="running",
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(duration, guarded(started, final=True))
            return

        if kind in ("poweroff", "deallocate"):
            final = "stopped" if kind == "poweroff" else "deallocated"
            if vm.power == final or (kind == "poweroff" and vm.power == "deallocated"):
                self.schedule(t.noop, guarded(done, final=True))
                return
            duration = (t.stop if kind == "poweroff" else t.deallocate) * self._jitter()
            self._touch(
                vm,
                provisioning="Updating",
                power="stopping" if kind == "poweroff" else "deallocating",
            )

            def stopped_final() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded" if vm.failure_code is None else "Failed",
                    prov_time=self.now,
                    power=final,
                    health="unknown" if vmss.health_reporting else None,
                )
                done()
                if on_settled:
                    on_settled(vm, False)

            self.schedule(duration, guarded(stopped_final, final=True))
            return

        if kind == "delete":
            self._touch(vm, provisioning="Deleting", power="stopping")

            def deleted() -> None:
                vmss.vms.pop(vm.instance_id, None)
                done()

            self.schedule(t.delete * self._jitter(), guarded(deleted, final=True))
            return

        if kind == "create":
            self._touch(vm, provisioning="Creating", power=None, health=None)

            def created() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded",
                    prov_time=self.now,
                    power="running",
                    health="unknown" if vmss.health_reporting else None,
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(t.create * self._jitter(), guarded(created, final=True))
            return

        raise ValueError(f"unknown VM job {kind!r}")

    def _timeout_message(self, vmss: ScaleSet, vm: Vm) -> str:
        return (
            f"OS Provisioning for VM '{self.vm_name(vmss, vm)}' did not finish in the allotted "
            "time. The VM may still finish provisioning successfully. Please check "
            "provisioning state later."
        )

    # ----------------------------------------------------------------- actions

    def resolve_instance_ids(
        self, vmss: ScaleSet, ids: list[Any] | None, *, required: bool
    ) -> list[Vm]:
        """Instance ids from an action body; ``None`` (no body) means every VM."""
        if ids is None:
            if required:
                raise invalid_parameter(
                    "Required parameter 'instanceIds' is missing (null).", "instanceIds"
                )
            return vmss.sorted_vms()
        if not isinstance(ids, list) or (required and not ids):
            raise invalid_parameter("The value of parameter instanceIds is invalid.", "instanceIds")
        if any(str(i) == "*" for i in ids):
            return vmss.sorted_vms()
        out: list[Vm] = []
        seen: set[int] = set()
        # A Flexible set's instanceIds are its VMs' names (a number is no member there).
        by_name = {self.vm_name(vmss, v).lower(): v for v in vmss.vms.values()}
        for raw in ids:
            text = str(raw).strip()
            if vmss.flexible:
                vm = by_name.get(text.lower())
            else:
                vm = vmss.vms.get(int(text)) if text.isdigit() else None
            if vm is None:
                raise invalid_parameter(
                    f"The provided instanceId {text} is not an active Virtual Machine Scale "
                    "Set VM instanceId.",
                    "instanceIds",
                )
            if vm.instance_id not in seen:
                seen.add(vm.instance_id)
                out.append(vm)
        return out

    def start_action(
        self, vmss: ScaleSet, action: str, ids: list[Any] | None, *, explicit: bool
    ) -> Operation:
        """A VMSS-level POST action (manualupgrade, restart, ..., delete)."""
        required = action in ("manualupgrade", "delete")
        vms = self.resolve_instance_ids(vmss, ids, required=required)
        if isinstance(ids, list) and any(str(i) == "*" for i in ids):
            explicit = False  # "*" means every instance the action may touch
        self._check_action_conflict(vmss)
        if explicit:
            for vm in vms:
                if vm.protect_from_scale_set_actions and action != "delete":
                    raise SimError(
                        409,
                        "OperationNotAllowed",
                        f"Operation '{action}' is not allowed on VM "
                        f"'{self.vm_name(vmss, vm)}' since it is protected from scale set "
                        "actions.",
                    )
        else:
            vms = [vm for vm in vms if not vm.protect_from_scale_set_actions]
        for vm in vms:
            if vm.provisioning == "Deleting":
                raise vm_being_deleted(action, self.vm_name(vmss, vm))
            if vm.busy:
                raise conflict_concurrent()
        if action == "delete":
            # Deleting instances shrinks the model's capacity with them.
            vmss.sku["capacity"] = max(0, int(vmss.sku.get("capacity", 0)) - len(vms))
        op = self.new_operation(action, vmss)
        vmss.action_op = op
        op.on_finish.append(lambda o: self._clear_action(vmss, o))
        kind = {"manualupgrade": "upgrade"}.get(action, action)
        self._hold(op, self.timings.noop * 0.5)
        for vm in vms:
            if action == "manualupgrade":
                vm.manual_upgrades += 1
            self._attach(op, vmss, vm, kind)
        return op

    def _clear_action(self, vmss: ScaleSet, op: Operation) -> None:
        if vmss.action_op is op:
            vmss.action_op = None

    def _attach(self, op: Operation, vmss: ScaleSet, vm: Vm, kind: str) -> None:
        op.pending += 1
        self.run_vm_job(vmss, vm, kind, on_done=lambda _vm, err: self._release(op, err))

    def _check_action_conflict(self, vmss: ScaleSet) -> None:
        if vmss.deleting:
            raise SimError(
                409,
                "OperationNotAllowed",
                f"The operation is not allowed since the scale set '{vmss.name}' is being deleted.",
            )
        if (vmss.action_op and not vmss.action_op.done) or (vmss.rolling and vmss.rolling.running):
            raise conflict_concurrent()

    def start_vm_action(self, vmss: ScaleSet, vm: Vm, action: str) -> Operation:
        """A VM-level POST action (``VMBASE/restart`` ...) or DELETE."""
        if vm.provisioning == "Deleting":
            raise vm_being_deleted(action, self.vm_name(vmss, vm))
        if vm.busy or vmss.deleting:
            raise conflict_concurrent()
        if action == "delete":
            vmss.sku["capacity"] = max(0, int(vmss.sku.get("capacity", 0)) - 1)
        op = self.new_operation(action, vmss)
        self._hold(op, self.timings.noop * 0.5)
        self._attach(op, vmss, vm, action)
        return op

    def update_vm(
        self, vmss: ScaleSet, vm: Vm, body: dict[str, Any], if_match: str | None
    ) -> Operation:
        """VMSS-VM PUT: only ``protectionPolicy`` is modelled (the rest of a VM's model
        comes from the scale set)."""
        current = f'"{vm.etag}"'
        if if_match is not None and if_match.strip() not in ("*", current):
            raise precondition_failed(if_match.strip(), current)
        if vm.provisioning == "Deleting":
            raise vm_being_deleted("Update VM", self.vm_name(vmss, vm))
        if vm.busy:
            raise conflict_concurrent()
        policy = (body.get("properties") or {}).get("protectionPolicy")
        if policy is not None and not isinstance(policy, dict):
            raise invalid_parameter(
                "The value of parameter protectionPolicy is invalid.", "protectionPolicy"
            )
        op = self.new_operation("vmUpdate", vmss)
        changes: dict[str, Any] = {"etag": vm.etag + 1}
        if policy is not None:
            changes["protect_from_scale_in"] = bool(policy.get("protectFromScaleIn", False))
            changes["protect_from_scale_set_actions"] = bool(
                policy.get("protectFromScaleSetActions", False)
            )
        self._touch(vm, **changes)
        self._hold(op, self.timings.noop)
        return op

    # ----------------------------------------------------------------- model

    def check_etag(
        self, vmss: ScaleSet | None, if_match: str | None, if_none_match: str | None
    ) -> None:
        current = f'"{vmss.etag}"' if vmss else None
        if if_match is not None:
            provided = if_match.strip()
            if vmss is None or (provided != "*" and provided.removeprefix("W/") != current):
                raise precondition_failed(provided, current or '""')
        if if_none_match is not None and vmss is not None:
            provided = if_none_match.strip()
            if provided == "*" or provided == current:
                raise SimError(
                    412,
                    "PreconditionFailed",
                    f"Etag provided in if-none-match header {provided} matches etag "
                    f"{current} of resource.",
                )

    def update_model(self, vmss: ScaleSet, body: dict[str, Any], *, replace: bool) -> Operation:
        """PATCH (merge) or PUT (replace) of an existing scale set's model."""
        if vmss.deleting:
            raise conflict_concurrent()
        if vmss.model_op and not vmss.model_op.done:
            raise conflict_concurrent()
        props = copy.deepcopy(vmss.properties)
        incoming = body.get("properties")
        if incoming is not None and not isinstance(incoming, dict):
            raise invalid_parameter("The value of parameter properties is invalid.", "properties")
        incoming = writable_properties(incoming or {})
        if replace:
            new_props = copy.deepcopy(incoming)
            for key in ("orchestrationMode", "platformFaultDomainCount", "singlePlacementGroup"):
                if key in props and key not in new_props:
                    new_props[key] = props[key]
            if "virtualMachineProfile" not in new_props:
                raise invalid_parameter(
                    "Required parameter 'virtualMachineProfile' is missing (null).",
                    "virtualMachineProfile",
                )
        else:
            new_props = props
            merge_patch(new_props, incoming)
        fill_upgrade_policy(new_props)
        vmp = new_props.get("virtualMachineProfile") or {}
        storage = vmp.get("storageProfile") or {}
        self.catalog.validate(
            vmss.location, storage.get("imageReference"), storage.get("osDisk") or {}
        )
        sku = dict(vmss.sku)
        if isinstance(body.get("sku"), dict):
            sku.update({k: v for k, v in body["sku"].items() if v is not None})
        capacity = sku.get("capacity", len(vmss.vms))
        if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 1000:
            raise invalid_parameter(
                f"The value {capacity} of parameter 'sku.capacity' is out of range. The value "
                "must be between 0 and 1000, inclusive.",
                "sku.capacity",
            )
        # Accepted: apply.
        changed = new_props.get("virtualMachineProfile") != vmss.properties.get(
            "virtualMachineProfile"
        )
        vmss.properties = new_props
        vmss.sku = sku
        if isinstance(body.get("tags"), dict):
            vmss.tags = {str(k): str(v) for k, v in body["tags"].items()}
        vmss.etag += 1
        if changed:
            vmss.model_gen += 1
            vmss.profiles[vmss.model_gen] = copy.deepcopy(new_props["virtualMachineProfile"])
            for vm in vmss.vms.values():
                vm.rev += 1
        op = self.new_operation("update", vmss)
        vmss.model_op = op
        vmss.updating_ops += 1

        def finished(_op: Operation) -> None:
            vmss.updating_ops -= 1

        op.on_finish.append(finished)
        self._hold(op, self.timings.model_update * self._jitter())
        self._scale_to(vmss, capacity, op)
        if changed:
            mode = vmss.upgrade_mode
            if mode == "Automatic":
                for vm in vmss.sorted_vms():
                    if vm.applied_gen != vmss.model_gen and not vm.busy:
                        self.run_vm_job(vmss, vm, "upgrade")
            elif mode == "Rolling" and not (vmss.rolling and vmss.rolling.running):
                self.start_rolling_upgrade(vmss, operation=None)
        return op

    def create_scale_set(
        self, subscription: str, resource_group: str, name: str, body: dict[str, Any]
    ) -> tuple[ScaleSet, Operation]:
        """PUT of a scale set that does not exist yet."""
        rg = self.resource_groups.get((subscription.lower(), resource_group.lower()))
        if rg is None:
            raise SimError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{resource_group}' could not be found.",
            )
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise invalid_parameter("Required parameter 'location' is missing (null).", "location")
        props = writable_properties(body.get("properties") or {})
        if "virtualMachineProfile" not in props:
            raise invalid_parameter(
                "Required parameter 'virtualMachineProfile' is missing (null).",
                "virtualMachineProfile",
            )
        fill_upgrade_policy(props)
        props.setdefault("orchestrationMode", "Uniform")
        props.setdefault("overprovision", True)
        props.setdefault("singlePlacementGroup", True)
        props.setdefault("platformFaultDomainCount", 1 if body.get("zones") else 5)
        storage = props["virtualMachineProfile"].get("storageProfile") or {}
        self.catalog.validate(location, storage.get("imageReference"), storage.get("osDisk") or {})
        sku = dict(body.get("sku") or {"name": "Standard_D2s_v5", "tier": "Standard"})
        capacity = int(sku.get("capacity", 2))
        sku["capacity"] = capacity
        vmss = ScaleSet(
            subscription=subscription,
            resource_group=rg.name,
            name=name,
            location=location.lower().replace(" ", ""),
            sku=sku,
            properties=props,
            unique_id=self.uuid(),
            time_created=self.now,
            zones=[str(z) for z in body.get("zones") or []],
            tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
        )
        vmss.profiles[1] = copy.deepcopy(props["virtualMachineProfile"])
        self.add_scale_set(vmss)
        op = self.new_operation("create", vmss)
        vmss.model_op = op
        vmss.updating_ops += 1
        op.on_finish.append(lambda _o: setattr(vmss, "updating_ops", vmss.updating_ops - 1))
        self._hold(op, self.timings.model_update)
        self._scale_to(vmss, capacity, op)
        return vmss, op

    def delete_scale_set(self, vmss: ScaleSet) -> Operation:
        if vmss.deleting:
            raise conflict_concurrent()
        vmss.deleting = True
        if vmss.rolling and vmss.rolling.running:
            self._end_rolling(vmss, "Cancelled", "Cancel")
        op = self.new_operation("delete", vmss)
        self._hold(op, self.timings.delete)
        for vm in vmss.sorted_vms():
            vm.busy = None
            self._attach(op, vmss, vm, "delete")

        def gone(_op: Operation) -> None:
            self.scale_sets.pop(vmss.key, None)

        op.on_finish.append(gone)
        return op

    # ----------------------------------------------------------------- capacity

    def place_vm(self, vmss: ScaleSet) -> Vm:
        """A new VM on the least-populated zone, update domain and fault domain, in turn."""
        vms = list(vmss.vms.values())
        zone: str | None = None
        if vmss.zones:
            zone = min(
                vmss.zones, key=lambda z: (sum(1 for v in vms if v.zone == z), vmss.zones.index(z))
            )
            peers = [v for v in vms if v.zone == zone]
        else:
            peers = vms
        ud = min(range(vmss.ud_count), key=lambda u: (sum(1 for v in peers if v.ud == u), u))
        fd_count = vmss.fd_count
        fd = min(range(fd_count), key=lambda f: (sum(1 for v in peers if v.fd == f), f))
        pg = self._placement_group_for(vmss)
        iid = vmss.next_instance_id
        vmss.next_instance_id += 1
        prefix = vmss.profile.get("osProfile", {}).get("computerNamePrefix") or vmss.name[:9]
        vm = Vm(
            instance_id=iid,
            ud=ud,
            fd=fd,
            zone=zone,
            placement_group=pg,
            vm_id=self.uuid(),
            computer_name=computer_name(prefix, iid),
            applied_gen=vmss.model_gen,
            exact_version=self.catalog.resolve(
                vmss.location, vmss.profile.get("storageProfile", {}).get("imageReference")
            ),
            time_created=self.now,
            disk_suffix=self.uuid().replace("-", "")[:32],
            prov_time=self.now,
        )
        vmss.vms[iid] = vm
        return vm

    def _placement_group_for(self, vmss: ScaleSet) -> str:
        groups: dict[str, int] = {}
        for v in vmss.vms.values():
            groups[v.placement_group] = groups.get(v.placement_group, 0) + 1
        if vmss.properties.get("singlePlacementGroup", True) is not False:
            return next(iter(groups), None) or self.uuid()
        for pg, count in sorted(groups.items()):
            if count < 100:
                return pg
        return self.uuid()

    def _scale_to(self, vmss: ScaleSet, capacity: int, op: Operation | None) -> None:
        live = [v for v in vmss.sorted_vms() if v.provisioning != "Deleting"]
        if capacity > len(live):
            for _ in range(capacity - len(live)):
                vm = self.place_vm(vmss)
                if op is not None:
                    self._attach(op, vmss, vm, "create")
                else:
                    self.run_vm_job(vmss, vm, "create")
        elif capacity < len(live):
            victims = self._scale_in_order(vmss, live)[: len(live) - capacity]
            for vm in victims:
                vm.busy = None
                if op is not None:
                    self._attach(op, vmss, vm, "delete")
                else:
                    self.run_vm_job(vmss, vm, "delete")

    def _scale_in_order(self, vmss: ScaleSet, live: list[Vm]) -> list[Vm]:
        """Default scale-in policy: balance zones/fault domains, then highest id first."""
        candidates = [v for v in live if not v.protect_from_scale_in]
        remaining = list(candidates)
        order: list[Vm] = []
        counts: dict[Any, int] = {}
        for v in live:
            key = v.zone if vmss.zones else v.fd
            counts[key] = counts.get(key, 0) + 1
        while remaining:

            def rank(v: Vm) -> tuple[int, int]:
                key = v.zone if vmss.zones else v.fd
                return (counts.get(key, 0), v.instance_id)

            pick = max(remaining, key=rank)
            remaining.remove(pick)
            order.append(pick)
            key = pick.zone if vmss.zones else pick.fd
            counts[key] -= 1
        return order

    # ----------------------------------------------------------------- rolling

    def _rolling_targets(self, vmss: ScaleSet) -> list[Vm]:
        ref = vmss.profile.get("storageProfile", {}).get("imageReference")
        newest = self.catalog.resolve(vmss.location, ref)
        return [
            vm
            for vm in vmss.sorted_vms()
            if vm.provisioning != "Deleting"
            and not vm.protect_from_scale_set_actions
            and (vm.applied_gen != vmss.model_gen or vm.exact_version != newest)
        ]

    def _vm_unhealthy(self, vm: Vm) -> bool:
        return (
            vm.provisioning == "Failed"
            or vm.power not in ("running", None)
            or vm.health in ("unhealthy", "unknown")
        )

    def start_rolling_upgrade(
        self, vmss: ScaleSet, *, operation: Operation | None
    ) -> RollingUpgrade:
        """Server-side rolling upgrade: batches by UD (and zone), health-gated."""
        policy = copy.deepcopy(vmss.properties["upgradePolicy"]["rollingUpgradePolicy"])
        targets = self._rolling_targets(vmss)
        n_total = max(1, len(vmss.vms))
        size = (
            1 if n_total <= 5 else max(1, n_total * int(policy["maxBatchInstancePercent"]) // 100)
        )
        if policy.get("prioritizeUnhealthyInstances"):
            targets.sort(key=lambda v: (not self._vm_unhealthy(v),))
        cross_zone = bool(policy.get("enableCrossZoneUpgrade"))

        def group_key(v: Vm) -> tuple[Any, ...]:
            zone = "" if cross_zone or v.zone is None else v.zone
            return (zone, v.ud)

        groups: dict[tuple[Any, ...], list[Vm]] = {}
        for vm in targets:
            groups.setdefault(group_key(vm), []).append(vm)
        batches: list[list[int]] = []
        prioritize = bool(policy.get("prioritizeUnhealthyInstances"))

        def group_order(k: tuple[Any, ...]) -> tuple[Any, ...]:
            sick = prioritize and any(self._vm_unhealthy(v) for v in groups[k])
            return (not sick, k[0], k[1])

        for key in sorted(groups, key=group_order):
            members = groups[key]
            for i in range(0, len(members), size):
                batches.append([v.instance_id for v in members[i : i + size]])
        ru = RollingUpgrade(
            policy=policy,
            start=self.now,
            operation=operation,
            batches=batches,
            total=len(targets),
            last_action_time=self.now,
            started_by="User" if operation is not None else "Platform",
            target_image=copy.deepcopy(
                vmss.profile.get("storageProfile", {}).get("imageReference") or {}
            ),
        )
        vmss.rolling = ru
        vmss.rolling_history.append(ru)
        if not batches:
            self._end_rolling(vmss, "Completed", None)
        else:
            self.schedule(0.0, lambda: self._next_batch(vmss, ru))
        return ru

    def _end_rolling(
        self, vmss: ScaleSet, code: str, action: str | None, error: dict[str, Any] | None = None
    ) -> None:
        ru = vmss.rolling
        if ru is None or not ru.running:
            return
        ru.code = code
        ru.end = self.now
        ru.error = error
        if action:
            ru.last_action = action
            ru.last_action_time = self.now
        if ru.operation is not None:
            if code == "Faulted":
                self.finish_operation(ru.operation, "Failed", error)
            else:
                self.finish_operation(ru.operation, "Succeeded")

    def _next_batch(self, vmss: ScaleSet, ru: RollingUpgrade) -> None:
        if vmss.rolling is not ru or not ru.running:
            return
        if not ru.batches:
            self._end_rolling(vmss, "Completed", None)
            return
        batch_ids = ru.batches.pop(0)
        batch = [vmss.vms[i] for i in batch_ids if i in vmss.vms]
        n_total = max(1, len(vmss.vms))
        unhealthy_now = sum(
            1 for v in vmss.vms.values() if v.instance_id not in batch_ids and self._vm_unhealthy(v)
        )
        limit = n_total * int(ru.policy["maxUnhealthyInstancePercent"]) / 100
        if unhealthy_now + len(batch) > limit and unhealthy_now + 1 > limit:
            pct = round(100 * unhealthy_now / n_total)
            self._end_rolling(
                vmss,
                "Faulted",
                None,
                {
                    "code": "MaxUnhealthyInstancePercentExceededBeforeRollingUpgrade",
                    "message": (
                        f"Rolling Upgrade failed after exceeding the MaxUnhealthyInstancePercent "
                        f"value defined in the RollingUpgradePolicy. {pct}% of instances are in "
                        "an unhealthy state - more than the threshold of "
                        f"{ru.policy['maxUnhealthyInstancePercent']}% configured in the "
                        "RollingUpgradePolicy."
                    ),
                },
            )
            return
        if unhealthy_now + len(batch) > limit:
            # Unhealthy instances shrink the batch; the rest waits for the next one.
            keep = max(1, int(limit - unhealthy_now))
            ru.batches.insert(0, [v.instance_id for v in batch[keep:]])
            batch = batch[:keep]
        if not batch:
            self.schedule(0.0, lambda: self._next_batch(vmss, ru))
            return
        ru.in_progress = len(batch)
        remaining = {v.instance_id for v in batch}
        results: dict[int, bool] = {}

        def settled(vm: Vm, ok: bool) -> None:
            if vm.instance_id not in remaining:
                return
            remaining.discard(vm.instance_id)
            results[vm.instance_id] = ok
            ru.in_progress -= 1
            ru.upgraded += 1
            if ok:
                ru.successful += 1
            else:
                ru.failed += 1
            if not remaining:
                self._batch_done(vmss, ru)

        for vm in batch:
            if vm.busy:
                settled(vm, not self._vm_unhealthy(vm))
                continue
            self.run_vm_job(vmss, vm, "upgrade", on_settled=settled)

    def _batch_done(self, vmss: ScaleSet, ru: RollingUpgrade) -> None:
        if vmss.rolling is not ru or not ru.running:
            return
        threshold = int(ru.policy["maxUnhealthyUpgradedInstancePercent"])
        if ru.upgraded and 100 * ru.failed / ru.upgraded > threshold:
            pct = round(100 * ru.failed / ru.upgraded)
            self._end_rolling(
                vmss,
                "Faulted",
                None,
                {
                    "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
                    "message": (
                        "Rolling Upgrade failed after exceeding the "
                        "MaxUnhealthyUpgradedInstancePercent value defined in the "
                        f"RollingUpgradePolicy. {pct}% of instances are in an unhealthy state "
                        "after being upgraded - more than the threshold of "
                        f"{threshold}% configured in the RollingUpgradePolicy. The most "
                        "impactful error is:  Instance found to be unhealthy or unreachable. "
                        "For details on rolling upgrades, use http://aka.ms/AzureVMSSRollingUpgrade"
                    ),
                },
            )
            return
        if not ru.batches:
            self._end_rolling(vmss, "Completed", None)
            return
        pause = parse_iso_duration(str(ru.policy.get("pauseTimeBetweenBatches", "PT0S")))
        self.schedule(pause, lambda: self._next_batch(vmss, ru))

    def begin_os_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        self._check_action_conflict(vmss)
        op = self.new_operation("osRollingUpgrade", vmss)
        self.start_rolling_upgrade(vmss, operation=op)
        return op

    def begin_extension_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        """Accepted and done at once: the simulated VMs carry no extension versions."""
        self._check_action_conflict(vmss)
        op = self.new_operation("extensionRollingUpgrade", vmss)
        self.finish_operation(op, "Succeeded")
        return op

    def cancel_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        if not (vmss.rolling and vmss.rolling.running):
            raise SimError(
                409, "OperationNotAllowed", "There is no ongoing Rolling Upgrade to cancel."
            )
        op = self.new_operation("rollingUpgradeCancel", vmss)
        self._end_rolling(vmss, "Cancelled", "Cancel")
        self.finish_operation(op, "Succeeded")
        return op
