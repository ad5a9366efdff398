"""The orchestrator against the simulator (manual clock): waves, health gates, limits,
pause/resume/abort, resume from a journal, and the server-side rolling upgrade."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.orch_harness import SimHarness
from tests.integration.wrapped_api import Wrapped
from vmssdash.azure.errors import ConflictError
from vmssdash.core.events import OrchestratorEvent, RunState, VmSettled, WaveStarted
from vmssdash.core.journal import Replay, find_unfinished
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import BatchSize, Plan, Policy, Strategy, build_plan
from vmssdash.core.rolling_runner import RollingRunner
from vmssdash.core.snapshot import ScaleSetSnapshot

GOOD = "24.04.202611150"
BAD = "24.04.202611990-bad"
FAIL = "24.04.202611991-fail"


async def _plan(h: SimHarness, name: str, strategy: Strategy, **kw: object) -> Plan:
    api = h.api(name)
    snap = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    return build_plan(snap, strategy, **kw)  # type: ignore[arg-type]


async def test_demo_by_update_domain_upgrades_every_target_once(tmp_path: Path) -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-web", GOOD)
        plan = await _plan(h, "vmss-web", Strategy.UPDATE_DOMAIN)
        assert {s.reason for s in plan.skipped} == {
            "protected from scale-set actions",
            "deallocated",
        }
        events: list[OrchestratorEvent] = []
        orch = Orchestrator(h.api("vmss-web"), plan, on_event=events.append, journal_dir=tmp_path)
        result = await orch.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert sorted(result.upgraded, key=int) == sorted(plan.targets, key=int)
        assert set(plan.targets) <= h.latest_ids("vmss-web")
        ups = h.upgrade_calls()
        assert [c.ids for c in ups] == [list(w.instance_ids) for w in plan.waves]
        assert not any(c.overlapped for c in ups)
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        started = [e.index for e in events if isinstance(e, WaveStarted)]
        assert started == list(range(len(plan.waves)))
        assert orch.journal is not None
        replay = Replay.load(orch.journal.path)
        assert replay is not None and replay.finished and replay.final_state == "completed"


async def test_bad_image_faults_after_the_first_wave_with_the_health_reason(tmp_path: Path) -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-web", BAD)
        plan = await _plan(h, "vmss-web", Strategy.UPDATE_DOMAIN)
        result = await Orchestrator(h.api("vmss-web"), plan, journal_dir=tmp_path).run()
        assert result.state is RunState.FAULTED
        assert result.reason.startswith("after wave 1: max unhealthy upgraded instance limit")
        assert "health probe reports unhealthy" in result.reason
        assert len(h.upgrade_calls()) == 1
        assert set(result.failed) == set(plan.waves[0].instance_ids)
        assert set(result.not_done) == set(plan.targets) - set(plan.waves[0].instance_ids)
        assert find_unfinished(tmp_path, plan.scale_set_id) is None


async def test_failed_provisioning_is_reported_not_waited_for() -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", FAIL)
        plan = await _plan(h, "vmss-small", Strategy.BATCH, batch=BatchSize(count=2))
        result = await Orchestrator(h.api("vmss-small"), plan, health_timeout=600).run()
        assert result.state is RunState.FAULTED
        assert "provisioning failed" in result.reason
        assert h.clock() < 300  # did not sit out the health timeout


async def test_precheck_stops_a_wave_larger_than_the_unhealthy_limit() -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(
            h, "vmss-small", Strategy.FAULT_DOMAIN, policy=Policy(max_unhealthy_percent=20)
        )
        assert len(plan.waves[0].instance_ids) * 100 > 20 * plan.total_instances
        result = await Orchestrator(h.api("vmss-small"), plan).run()
        assert result.state is RunState.FAULTED
        assert result.reason.startswith("before wave 1: max unhealthy instance limit")
        assert not h.upgrade_calls()


async def test_pause_resume_and_abort_between_waves() -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(h, "vmss-small", Strategy.BATCH, batch=BatchSize(count=2))
        assert len(plan.waves) == 5
        orch: Orchestrator
        states: list[RunState] = []

        def on_event(event: OrchestratorEvent) -> None:
            if isinstance(event, WaveStarted) and event.index == 1:
                orch.pause()
            if isinstance(event, WaveStarted) and event.index == 2:
                orch.abort()  # with wave 3 in flight: it finishes, nothing new starts
            if hasattr(event, "state") and not isinstance(event, VmSettled):
                states.append(event.state)  # type: ignore[attr-defined]

        orch = Orchestrator(h.api("vmss-small"), plan, on_event=on_event)
        task = asyncio.create_task(orch.run())
        for _ in range(2000):
            if orch.state is RunState.PAUSED:
                break
            await asyncio.sleep(0)
        assert orch.state is RunState.PAUSED
        dispatched = len(h.upgrade_calls())
        assert dispatched == 2  # the wave in flight finished; no new wave started
        await h.sleep(600)
        assert len(h.upgrade_calls()) == 2
        orch.resume()
        result = await task
        assert result.state is RunState.CANCELLED
        assert len(h.upgrade_calls()) == 3
        assert len(result.upgraded) == 6 and len(result.not_done) == 4
        assert RunState.PAUSED in states and RunState.CANCELLED in states


async def test_pause_between_batches_is_honoured_and_interruptible() -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(
            h,
            "vmss-small",
            Strategy.FAULT_DOMAIN,
            policy=Policy(max_unhealthy_percent=60, pause_seconds=120),
        )
        assert len(plan.waves) >= 2
        result = await Orchestrator(h.api("vmss-small"), plan).run()
        assert result.state is RunState.COMPLETED
        ups = h.upgrade_calls()
        assert ups[1].at - ups[0].at >= 120 + 20


class Crash(BaseException):
    """The process dies here (BaseException: nothing in the orchestrator catches it)."""


class CrashingApi:
    """Wraps ScaleSetApi; dies at the third dispatch, before or after it reaches Azure."""

    def __init__(self, api: Any, h: SimHarness, *, after_send: bool) -> None:
        self.api = api
        self.h = h
        self.after_send = after_send
        self.client = api.client
        self.dispatches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    @property
    def name(self) -> str:
        return str(self.api.name)

    async def begin_manual_upgrade(self, ids: Any) -> Any:
        self.dispatches += 1
        if self.dispatches == 3 and not self.after_send:
            raise Crash
        op = await self.api.begin_manual_upgrade(ids)
        if self.dispatches == 3:
            await self.h.sleep(2.0)  # let the VMs start updating
            raise Crash
        return op


class BusyApi(Wrapped):
    """The first ``busy`` dispatches are refused with 409 Conflict."""

    def __init__(self, api: Any, busy: int) -> None:
        super().__init__(api)
        self.busy = busy

    async def begin_manual_upgrade(self, ids: Any) -> Any:
        if self.busy:
            self.busy -= 1
            raise ConflictError("another operation is in progress", status=409)
        return await self.api.begin_manual_upgrade(ids)


@pytest.mark.parametrize(("busy", "state"), [(2, RunState.COMPLETED), (3, RunState.FAULTED)])
async def test_busy_scale_set_is_retried_up_to_the_limit(busy: int, state: RunState) -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(h, "vmss-small", Strategy.BATCH, batch=BatchSize(count=5))
        events: list[OrchestratorEvent] = []
        api = BusyApi(h.api("vmss-small"), busy)
        orch = Orchestrator(api, plan, on_event=events.append, conflict_retries=2)
        result = await orch.run()
        assert result.state is state, result.reason
        notes = [e.text() for e in events if e.text().startswith("Scale set busy")]
        assert len(notes) == 2
        if state is RunState.FAULTED:
            assert result.reason.startswith("ConflictError")
            assert not h.upgrade_calls()
        else:
            assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)


@pytest.mark.parametrize("after_send", [True, False], ids=["sent", "not-sent"])
async def test_resume_continues_without_redoing_or_skipping(
    tmp_path: Path, after_send: bool
) -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(h, "vmss-small", Strategy.BATCH, batch=BatchSize(count=2))
        assert len(plan.waves) >= 4
        crashing = CrashingApi(h.api("vmss-small"), h, after_send=after_send)
        first = Orchestrator(crashing, plan, journal_dir=tmp_path)
        with pytest.raises(Crash):
            await first.run()
        replay = find_unfinished(tmp_path, plan.scale_set_id)
        assert replay is not None and replay.in_doubt == {2: plan.waves[2].instance_ids}
        assert replay.waves_done == {0, 1}
        sent = len(h.upgrade_calls())
        assert sent == (3 if after_send else 2)
        second = Orchestrator(h.api("vmss-small"), replay.plan, journal_dir=tmp_path, replay=replay)
        result = await second.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        assert set(plan.targets) <= h.latest_ids("vmss-small")
        assert find_unfinished(tmp_path, plan.scale_set_id) is None


async def test_rolling_mode_uses_the_server_side_upgrade() -> None:
    async with SimHarness("demo") as h:
        events: list[OrchestratorEvent] = []
        runner = RollingRunner(h.api("vmss-rolling"), on_event=events.append)
        result = await runner.run()
        assert result.state in (RunState.COMPLETED, RunState.FAULTED)
        assert any(type(e).__name__ == "RollingStatusEvent" for e in events)
        assert not h.upgrade_calls()


# ----------------------------------------------------------------------------- properties


@settings(
    max_examples=int(os.environ.get("ORCH_EXAMPLES", "16")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    strategy=st.sampled_from([Strategy.UPDATE_DOMAIN, Strategy.FAULT_DOMAIN, Strategy.BATCH]),
    batch=st.one_of(st.none(), st.integers(1, 4)),
    version=st.sampled_from([GOOD, GOOD, BAD]),
    upgraded_limit=st.sampled_from([0, 20, 100]),
    unhealthy_limit=st.sampled_from([20, 30, 100]),
    seed=st.integers(0, 3),
)
def test_orchestrator_properties(
    strategy: Strategy,
    batch: int | None,
    version: str,
    upgraded_limit: int,
    unhealthy_limit: int,
    seed: int,
) -> None:
    asyncio.run(_property_run(strategy, batch, version, upgraded_limit, unhealthy_limit, seed))


async def _property_run(
    strategy: Strategy,
    batch: int | None,
    version: str,
    upgraded_limit: int,
    unhealthy_limit: int,
    seed: int,
) -> None:
    async with SimHarness("small", seed=seed) as h:
        await h.set_version("vmss-small", version)
        policy = Policy(
            max_unhealthy_percent=unhealthy_limit, max_unhealthy_upgraded_percent=upgraded_limit
        )
        plan = await _plan(
            h,
            "vmss-small",
            strategy,
            batch=BatchSize(count=batch) if batch else None,
            policy=policy,
        )
        result = await Orchestrator(h.api("vmss-small"), plan, poll_interval=3.0).run()
        ups = h.upgrade_calls()
        # Never two operations in flight.
        assert not any(c.overlapped for c in ups)
        # Dispatches follow the plan's waves, in order, within the batch size.
        assert [c.ids for c in ups] == [list(w.instance_ids) for w in plan.waves[: len(ups)]]
        if batch:
            assert all(len(c.ids) <= batch for c in ups)
        # No VM upgraded twice.
        assert all(n == 1 for n in h.upgrades_per_vm().values())
        # Every target ends on the latest model or is reported.
        latest = h.latest_ids("vmss-small")
        for iid in plan.targets:
            assert (
                (iid in result.upgraded and iid in latest)
                or iid in result.failed
                or iid in result.not_done
            )
        # The max-unhealthy limit: no wave is sent that would breach it; the first one that
        # would stops the run (the set is otherwise healthy between waves).
        total = plan.total_instances
        fits = [len(w.instance_ids) * 100 <= unhealthy_limit * total for w in plan.waves]
        first_too_big = fits.index(False) if False in fits else len(plan.waves)
        assert all(len(c.ids) * 100 <= unhealthy_limit * total for c in ups)
        assert len(ups) <= first_too_big
        # The unhealthy-upgraded limit stops the run after the first bad wave.
        if version == BAD and upgraded_limit < 100 and first_too_big > 0:
            assert result.state is RunState.FAULTED
            assert len(ups) == 1
            assert "max unhealthy upgraded" in result.reason
        elif first_too_big < len(plan.waves) and version == GOOD:
            assert result.state is RunState.FAULTED
            assert result.reason.startswith(f"before wave {first_too_big + 1}:")
            assert len(ups) == first_too_big
        elif version == GOOD:
            assert result.state is RunState.COMPLETED
            assert set(result.upgraded) == set(plan.targets)


async def test_included_deallocated_vm_is_upgraded_and_stays_deallocated() -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-web", GOOD)
        plan = await _plan(h, "vmss-web", Strategy.UPDATE_DOMAIN, include_deallocated=True)
        parked = [i for i, vm in h.sim_set("vmss-web").vms.items() if vm.power == "deallocated"]
        assert len(parked) == 1 and str(parked[0]) in plan.targets
        result = await Orchestrator(h.api("vmss-web"), plan, health_timeout=120).run()
        assert result.state is RunState.COMPLETED, result.reason
        assert str(parked[0]) in result.upgraded
        assert h.sim_set("vmss-web").vms[parked[0]].power == "deallocated"
        assert h.clock() < 5 * 120  # no wave sat out its health timeout


async def test_200_vm_upgrade_by_ud_is_within_5_percent_of_ideal() -> None:
    # Simulated time, so deterministic: the benchmark's figure, held as a regression test.
    from tests.benchmarks.bench_orchestrator import one_run

    row = await one_run(poll_interval=5.0, pause_seconds=0.0)
    assert row["vms"] == 200 and row["waves"] == 5
    assert row["overhead"] < 5.0, row


async def test_rolling_upgrade_cancel_is_reported_as_cancelled() -> None:
    async with SimHarness("demo") as h:
        events: list[OrchestratorEvent] = []
        runner: RollingRunner

        def on_event(event: OrchestratorEvent) -> None:
            events.append(event)
            if type(event).__name__ == "RollingStatusEvent" and event.code == "RollingForward":  # type: ignore[attr-defined]
                runner.abort()

        runner = RollingRunner(h.api("vmss-rolling"), on_event=on_event)
        result = await runner.run()
        assert result.state is RunState.CANCELLED, result.reason
        assert any("cannot be recalled" in e.text() for e in events)
        assert any(op.kind == "rollingUpgradeCancel" for op in h.world.operations.values())
