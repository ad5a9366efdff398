"""A Flexible set end to end on the demo scenario: the observer reads it through the VM
API on the VM policies, the heatmap groups it by zone, and a by-zone plan upgrades it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.integration.orch_harness import SimHarness
from vmssdash.azure.lro import Operation
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.events import RunState
from vmssdash.core.journal import Replay, find_unfinished
from vmssdash.core.observer import Observer
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Strategy, build_plan
from vmssdash.core.snapshot import Grouping
from vmssdash.core.steps import build_plan_from_steps, parse_steps

GOOD = "24.04.202611150"


async def test_observer_reads_members_on_the_vm_policies_and_groups_them_by_zone() -> None:
    async with SimHarness("demo") as h:
        observer = Observer(h.api("vmss-flex"))
        outcome = await observer.step(force=True)
        assert outcome.error is None
        snapshot = observer.latest
        assert snapshot is not None and snapshot.flexible
        assert len(snapshot.vms) == 12 and len(snapshot.stale_ids()) == 6
        assert snapshot.default_grouping is Grouping.ZONE_FAULT_DOMAIN
        rows = snapshot.groups(snapshot.default_grouping)
        assert [(g.label, len(g.vms)) for g in rows] == [
            ("zone 1", 4),
            ("zone 2", 4),
            ("zone 3", 4),
        ]
        windows = observer.planner.windows
        now = observer.clock()
        assert windows["HighCostGet3Min"].used(now) == 1
        assert windows["HighCostGet3Min"].remaining is not None  # learned from Azure's header
        assert windows["HighCostGetVMScaleSet3Min"].used(now) == 0
        # Only stale VMs wanted: no Uniform-only latestModelApplied filter is sent.
        stale = snapshot.stale_ids()
        await observer.read_vms(stale, newer_than=observer.clock() + 1, reason="test")
        assert not [d for d in observer.decisions if "stale VMs" in d]
        assert (
            windows["HighCostGet3Min"].used(observer.clock())
            + windows["LowCostGet3Min"].used(observer.clock())
            >= 2
        )


async def test_a_by_zone_plan_upgrades_the_flexible_set_by_name(tmp_path: Path) -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-flex", GOOD)
        api = h.api("vmss-flex")
        observer = Observer(api)
        await observer.step(force=True)
        assert observer.latest is not None
        plan = build_plan(observer.latest, Strategy.ZONE)
        assert [w.label for w in plan.waves] == ["zone 1", "zone 2", "zone 3"]
        assert len(plan.targets) == 12 and not plan.skipped
        orchestrator = Orchestrator(api, plan, reader=observer, journal_dir=tmp_path)
        result = await orchestrator.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert sorted(result.upgraded) == sorted(plan.targets)
        assert [c.ids for c in h.upgrade_calls()] == [list(w.instance_ids) for w in plan.waves]
        assert all(i.startswith("vmss-flex_") for c in h.upgrade_calls() for i in c.ids)
        assert len(h.latest_ids("vmss-flex")) == 12
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        assert orchestrator.journal is not None
        replay = Replay.load(orchestrator.journal.path)
        assert replay is not None and replay.final_state == "completed"


async def test_canary_bake_then_zone_by_zone_completes_on_the_flexible_set(
    tmp_path: Path,
) -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-flex", GOOD)
        api = h.api("vmss-flex")
        observer = Observer(api)
        await observer.step(force=True)
        assert observer.latest is not None
        plan = build_plan_from_steps(observer.latest, parse_steps("canary 1, bake PT2M, zone"))
        assert [w.label for w in plan.waves] == ["canary", "zone 1", "zone 2", "zone 3"]
        assert len(plan.waves[0].instance_ids) == 1
        orchestrator = Orchestrator(api, plan, reader=observer, journal_dir=tmp_path)
        result = await orchestrator.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert [c.ids for c in h.upgrade_calls()] == [list(w.instance_ids) for w in plan.waves]
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        assert len(h.latest_ids("vmss-flex")) == 12


class Crash(Exception):
    pass


class CrashingApi(ScaleSetApi):
    """Dies right after the second dispatch reached Azure (its VMs start updating)."""

    def __init__(self, h: SimHarness, name: str) -> None:
        base = h.api(name)
        super().__init__(base.client, base.resource_id)
        self.h = h
        self.dispatches = 0

    async def begin_manual_upgrade(self, instance_ids: Iterable[str | int]) -> Operation:
        self.dispatches += 1
        op = await super().begin_manual_upgrade(instance_ids)
        if self.dispatches == 2:
            await self.h.sleep(2.0)
            raise Crash
        return op


async def test_a_crashed_flexible_run_resumes_from_its_journal_by_name(tmp_path: Path) -> None:
    async with SimHarness("demo") as h:
        await h.set_version("vmss-flex", GOOD)
        api = CrashingApi(h, "vmss-flex")
        observer = Observer(api)
        await observer.step(force=True)
        assert observer.latest is not None
        plan = build_plan(observer.latest, Strategy.ZONE)
        with pytest.raises(Crash):
            await Orchestrator(api, plan, reader=observer, journal_dir=tmp_path).run()
        replay = find_unfinished(tmp_path, plan.scale_set_id)
        assert replay is not None and replay.in_doubt == {1: plan.waves[1].instance_ids}
        fresh = h.api("vmss-flex")  # a new process: the model is not read yet
        second = Orchestrator(fresh, replay.plan, journal_dir=tmp_path, replay=replay)
        result = await second.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        assert len(h.latest_ids("vmss-flex")) == 12
        assert find_unfinished(tmp_path, plan.scale_set_id) is None
