"""The world's state and its event queue: time, lookup, operations and VM state."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vmssdash.sim import delivery
from vmssdash.sim.clock import SimClock
from vmssdash.sim.faults import FaultConfig, FaultInjector
from vmssdash.sim.world.images import ImageCatalog, marker_of
from vmssdash.sim.world.model import (
    Operation,
    ResourceGroup,
    ScaleSet,
    Subscription,
    Timings,
    Vm,
    vm_name,
)


class WorldCore:
    """The state and the event queue; the subclasses add what moves it (jobs, rolling,
    scaling, lifecycle), so each stays readable on its own."""

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
