"""Rehearsal: try a plan on a copy of the real scale set before touching it.

A plan that reads well can still stop at the second wave on the real topology (a zone
with one VM, a placement group that fills a wave, an unhealthy-instance limit the canary
already meets). So the real set is read, read-only, and copied into the embedded
simulator (``sim.scenario_file``): its instance ids, domains, zones and placement groups,
its image and upgrade policy, which VMs are stale, and upgrade times learned from its
earlier runs' journals. The chosen plan then runs there on a virtual clock (hours of
bakes take milliseconds), with the faults asked for, and the outcome is shown: the waves
and their VMs, the simulated duration, where a gate or a bake stopped it, and how many
API calls it took. The source only ever sees GETs: its client is read-only, so the
transport guard refuses anything else before it is sent.

This sits above ``core`` and ``sim`` (like ``demo``): ``core`` never imports the simulator.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.events import OrchestratorEvent, RunState, format_seconds
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import BatchSize, Plan, Strategy, build_plan
from vmssdash.core.revert import RevertError, reverted_image
from vmssdash.core.runner import RunResult
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import Step, build_plan_from_steps
from vmssdash.sim import scenario_file
from vmssdash.sim.app import create_app
from vmssdash.sim.scenario_build import RESOURCE_GROUP, SUBSCRIPTION
from vmssdash.sim.scenario_file import ScenarioFile, SetFile, VmFile

#: Where the embedded simulator answers (in process; nothing listens on a socket).
BASE = "http://rehearsal.sim.test"
#: Warm-up the simulator adds after an upgrade (``Timings.warmup``), taken off learned waves.
_WARMUP = 8.0


class RehearsalError(ValueError):
    """The source cannot be rehearsed; ``str()`` says why in one line."""


async def read_source(api: ScaleSetApi) -> ScaleSetSnapshot:
    """The real set, read (GETs only; the caller's client is read-only)."""
    return ScaleSetSnapshot.build(await api.get(), await api.list_vms())


def scenario_of(
    snapshot: ScaleSetSnapshot,
    *,
    wave_seconds: Sequence[float] = (),
    faults: str | None = None,
    spread: float = 0.3,
) -> ScenarioFile:
    """A simulator scenario that copies ``snapshot``'s layout, image and policy."""
    scale_set = snapshot.scale_set
    if any(not vm.instance_id.isdigit() for vm in snapshot.vms):
        raise RehearsalError(f"{scale_set.name} is not a Uniform scale set; only those rehearse")
    if not snapshot.vms:
        raise RehearsalError(f"{scale_set.name} has no VMs to rehearse on")
    ref = scale_set.image_reference
    image = (
        {
            k: v
            for k, v in ref.model_dump(mode="json", by_alias=True, exclude_none=True).items()
            if k != "exactVersion"
        }
        if ref
        else {}
    )
    if not image:
        raise RehearsalError(f"{scale_set.name}'s model has no image reference to rehearse")
    stale = Counter(
        vm.image_version for vm in snapshot.vms if vm.latest_model is False and vm.image_version
    )
    old_image: dict[str, Any] | None = None
    if stale:
        try:
            old_image = reverted_image(image, stale.most_common(1)[0][0])
        except RevertError as exc:
            raise RehearsalError(str(exc)) from None
    groups = sorted({vm.placement_group or "" for vm in snapshot.vms})
    upgrade_policy = scale_set.raw.get("properties", {}).get("upgradePolicy", {})
    timings: dict[str, float] = {"upgrade_spread": spread}
    if wave_seconds:
        timings["upgrade"] = max(5.0, statistics.median(wave_seconds) - _WARMUP)
    return ScenarioFile(
        name=f"rehearsal of {scale_set.name}",
        description=f"copy of {scale_set.id}",
        faults=faults,
        timings=timings,
        sets=[
            SetFile(
                name=scale_set.name,
                sku=str(scale_set.raw.get("sku", {}).get("name", "Standard_D2s_v5")),
                mode=scale_set.upgrade_mode,
                rolling=dict(upgrade_policy.get("rollingUpgradePolicy") or {}),
                zones=list(scale_set.raw.get("zones") or []),
                fd_count=int(
                    scale_set.raw.get("properties", {}).get("platformFaultDomainCount") or 5
                ),
                single_pg=len(groups) <= 1,
                image=image,
                old_image=old_image,
                health_extension=any(vm.health is not None for vm in snapshot.vms),
                vms=[
                    VmFile(
                        id=int(vm.instance_id),
                        ud=vm.update_domain or 0,
                        fd=vm.fault_domain or 0,
                        zone=vm.zone,
                        pg=groups.index(vm.placement_group or ""),
                        latest=vm.latest_model is not False,
                        version=vm.image_version,
                        power=vm.power_state or "running",
                        health=vm.health,
                        protected=vm.protected_from_scale_set_actions,
                    )
                    for vm in snapshot.vms
                ],
            )
        ],
    )


@dataclass
class Rehearsal:
    """What the plan did on the copy."""

    plan: Plan
    result: RunResult
    seconds: float
    requests: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [self.plan.summary()]
        for wave in self.plan.waves:
            holds = "".join(f", then {h.text()}" for h in wave.after)
            out.append(
                f"  wave {wave.index + 1} ({wave.label}): {len(wave.instance_ids)} VMs "
                f"[{', '.join(wave.instance_ids)}]{holds}"
            )
        verdict = (
            "completed"
            if self.result.state is RunState.COMPLETED
            else f"{self.result.state.value}: {self.result.reason}"
        )
        out.append(f"Outcome on the copy: {verdict}")
        out.append(
            f"Simulated duration: {format_seconds(self.seconds)}; upgraded "
            f"{len(self.result.upgraded)}, unhealthy {len(self.result.failed)}, "
            f"not done {len(self.result.not_done)}"
        )
        calls = ", ".join(f"{n} {method}" for method, n in sorted(self.requests.items()))
        out.append(f"API calls it took: {sum(self.requests.values())} ({calls})")
        return out


class _Counting(httpx.AsyncBaseTransport):
    """Counts the requests a rehearsal sends to the copy (the API budget it would use)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, counts: Counter[str]) -> None:
        self.inner = inner
        self.counts = counts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/_sim/"):
            self.counts[request.method] += 1
        return await self.inner.handle_async_request(request)


async def rehearse(
    scenario: ScenarioFile,
    steps: Sequence[Step] = (),
    *,
    strategy: Strategy = Strategy.UPDATE_DOMAIN,
    batch: BatchSize | None = None,
    seed: int = 0,
    poll_interval: float = 5.0,
    health_timeout: float = 600.0,
) -> Rehearsal:
    """Run ``steps`` (or, without steps, the plain ``strategy``) on the copy at virtual
    speed and report what happened."""
    app = create_app(
        scenario_file.from_json(scenario.model_dump(mode="json"), source=scenario.name),
        manual_clock=True,
        base_url=BASE,
        seed=seed,
        faults=scenario.faults or "off",
    )
    world: Any = app.state.world
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    counts: Counter[str] = Counter()

    def clock() -> float:
        return float(world.now)

    async def sleep(seconds: float) -> None:
        if seconds > 0:
            await control.post("/_sim/clock/advance", json={"seconds": seconds})

    name = scenario.sets[0].name
    rid = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )
    log: list[str] = []

    def on_event(event: OrchestratorEvent) -> None:
        if type(event).__name__ != "Progress":
            log.append(event.text())

    async with ArmClient(
        BASE,
        transport=_Counting(httpx.ASGITransport(app=app), counts),
        sleep=sleep,
        clock=clock,
        poll_interval=poll_interval,
    ) as client:
        try:
            api = ScaleSetApi(client, rid)
            snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
            plan = (
                build_plan_from_steps(snapshot, steps)
                if steps
                else build_plan(snapshot, strategy, batch=batch)
            )
            started = clock()
            result = await Orchestrator(
                api,
                plan,
                on_event=on_event,
                poll_interval=poll_interval,
                health_timeout=health_timeout,
            ).run()
        finally:
            await control.aclose()
    return Rehearsal(plan, result, clock() - started, counts, log)


def with_version(scenario: ScenarioFile, version: str) -> ScenarioFile:
    """The copy as it would be once the model asks for ``version``: every VM stale, on the
    image it runs now (rehearse an image change before making it)."""
    sets = []
    for spec in scenario.sets:
        try:
            image = reverted_image(spec.image, version)
        except RevertError as exc:
            raise RehearsalError(str(exc)) from None
        vms = [vm.model_copy(update={"latest": False}) for vm in spec.vms]
        sets.append(spec.model_copy(update={"image": image, "old_image": spec.image, "vms": vms}))
    return scenario.model_copy(update={"sets": sets})


def only(scenario: ScenarioFile, instance_ids: Sequence[str]) -> ScenarioFile:
    """The copy with only ``instance_ids`` stale: a rehearsal of a plan for marked VMs."""
    wanted = {int(i) for i in instance_ids if i.isdigit()}
    sets = [
        spec.model_copy(
            update={
                "vms": [
                    vm if vm.id in wanted else vm.model_copy(update={"latest": True})
                    for vm in spec.vms
                ]
            }
        )
        for spec in scenario.sets
    ]
    return scenario.model_copy(update={"sets": sets})
