"""Progressive delivery against the simulator (manual clock): a canary, a bake that
catches an image going bad late, halting during a wave, pause and promote, and resuming
in the middle of a bake."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.integration.orch_harness import SimHarness
from vmssdash.azure.pacing import Pacing
from vmssdash.core import bake
from vmssdash.core.events import Note, OrchestratorEvent, Progress, RunState, WaveFinished
from vmssdash.core.journal import Journal, Replay, read_records
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import build_plan_from_steps, parse_steps

GOOD = "24.04.202611150"
BAD = "24.04.202611990-bad"
BAD_LATE = "24.04.202611989-bad-late"
SET = "vmss-small"


async def _plan(h: SimHarness, steps: str) -> Plan:
    api = h.api(SET)
    snap = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    return build_plan_from_steps(snap, parse_steps(steps))


def _kinds(path: Path) -> list[str]:
    return [str(r["kind"]) for r in read_records(path)]


async def test_a_late_bad_image_halts_in_the_bake_with_only_the_canary_touched(
    tmp_path: Path,
) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, BAD_LATE)
        plan = await _plan(h, "canary 1, bake PT2M, ud")
        canary = plan.waves[0].instance_ids
        orch = Orchestrator(h.api(SET), plan, journal_dir=tmp_path)
        result = await orch.run()
        assert result.state is RunState.HALTED
        assert result.reason.startswith("bake PT2M after wave 1 (canary)")
        assert f"VM {canary[0]}: application health unhealthy" in result.reason
        assert [c.ids for c in h.upgrade_calls()] == [list(canary)]
        assert h.latest_ids(SET) == set(canary)
        assert orch.journal is not None
        replay = Replay.load(orch.journal.path)
        assert replay is not None and replay.finished and replay.final_state == "halted"
        assert "hold-start" in _kinds(orch.journal.path)


async def test_an_image_bad_at_once_halts_during_the_canary_wave(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, BAD)
        plan = await _plan(h, "canary 1, bake PT1M, ud")
        orch = Orchestrator(h.api(SET), plan, journal_dir=tmp_path)
        result = await orch.run()
        assert result.state is RunState.HALTED
        assert result.reason.startswith("wave 1 (canary): VM ")
        assert "unhealthy" in result.reason
        assert len(h.upgrade_calls()) == 1
        assert orch.journal is not None
        assert "hold-start" not in _kinds(orch.journal.path)


async def test_a_good_image_bakes_then_goes_on_domain_by_domain(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, GOOD)
        plan = await _plan(h, "canary 1, bake PT1M, batch 2, ud")
        orch = Orchestrator(h.api(SET), plan, journal_dir=tmp_path)
        result = await orch.run()
        assert result.state is RunState.COMPLETED, result.reason
        calls = h.upgrade_calls()
        assert [len(c.ids) for c in calls][:2] == [1, 2]
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        # The second wave waited for the whole bake after the canary settled.
        assert orch.journal is not None
        records = list(read_records(orch.journal.path))
        done = next(r for r in records if r["kind"] == "hold-done")
        assert done["ok"] is True
        assert calls[1].at - calls[0].at >= 60


async def test_pause_waits_for_promote_in_process_or_through_the_journal(
    tmp_path: Path,
) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, GOOD)
        plan = await _plan(h, "canary 1, pause, batch 2, pause, ud")
        pauses: asyncio.Queue[str] = asyncio.Queue()

        def on_event(event: OrchestratorEvent) -> None:
            if isinstance(event, Note) and event.message.startswith("Paused after"):
                pauses.put_nowait(event.message)

        async def sleep(seconds: float) -> None:
            await h.sleep(seconds)
            await asyncio.sleep(0)  # the in-process transport never yields on its own

        orch = Orchestrator(
            h.api(SET),
            plan,
            on_event=on_event,
            journal_dir=tmp_path,
            pacing=Pacing(h.clock, sleep, h.client.pacing.budget),
        )
        task = asyncio.create_task(orch.run())

        assert "wave 1 (canary)" in await asyncio.wait_for(pauses.get(), 30)
        assert len(h.upgrade_calls()) == 1
        assert orch.state is RunState.PAUSED and "waiting for promote" in orch.reason
        assert orch.journal is not None
        assert bake.promote_pending(orch.journal.path) == (0, 0)
        orch.promote()
        assert "wave 2" in await asyncio.wait_for(pauses.get(), 30)
        assert [len(c.ids) for c in h.upgrade_calls()] == [1, 2]
        # What `vmssdash promote` does from another process: a record in the journal.
        assert bake.promote_run(orch.journal.path) == (1, 0)
        result = await asyncio.wait_for(task, 30)
        assert result.state is RunState.COMPLETED, result.reason
        assert bake.promote_pending(orch.journal.path) is None


class Crash(Exception):
    """The process dies (a SIGKILL as far as the journal can tell)."""


async def test_resume_in_the_middle_of_a_bake_finishes_the_time_owed(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, GOOD)
        plan = await _plan(h, "canary 1, bake PT2M, ud")
        journal = Journal.create(tmp_path, plan)

        async def dying_sleep(seconds: float) -> None:
            if "bake-watch" in _kinds(journal.path):
                raise Crash
            await h.sleep(seconds)

        first = Orchestrator(
            h.api(SET),
            plan,
            journal=journal,
            pacing=Pacing(h.clock, dying_sleep, h.client.pacing.budget),
        )
        with contextlib.suppress(Crash):
            await first.run()
        watched = max(
            float(r["watched"]) for r in read_records(journal.path) if r["kind"] == "bake-watch"
        )
        assert 0 < watched < 120
        replay = Replay.load(journal.path)
        assert replay is not None and not replay.finished
        events: list[OrchestratorEvent] = []
        resumed_at = h.clock()
        second = Orchestrator(
            h.api(SET),
            replay.plan,
            replay=replay,
            journal=Journal(journal.path),
            on_event=events.append,
        )
        result = await second.run()
        assert result.state is RunState.COMPLETED, result.reason
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        assert any("watched before the restart" in e.text() for e in events)
        second_wave = h.upgrade_calls()[1]
        owed = 120 - watched
        assert owed <= second_wave.at - resumed_at < owed + 30


async def test_eta_is_learned_from_the_waves_not_assumed(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        await h.set_version(SET, GOOD)
        plan = await _plan(h, "ud")
        events: list[OrchestratorEvent] = []
        orch = Orchestrator(
            h.api(SET),
            plan,
            on_event=events.append,
            journal_dir=tmp_path,
        )
        assert (await orch.run()).state is RunState.COMPLETED
        first_done = next(i for i, e in enumerate(events) if isinstance(e, WaveFinished))
        before = [e for e in events[:first_done] if isinstance(e, Progress)]
        assert before and all(e.eta_seconds is None for e in before)
        wave = events[first_done]
        assert isinstance(wave, WaveFinished)
        after = next(e for e in events[first_done:] if isinstance(e, Progress))
        assert after.eta_seconds == pytest.approx((len(plan.waves) - 1) * wave.seconds)
        # A second run on the same set starts from what the first one learned.
        await h.set_version(SET, "24.04.202612010")
        again = await _plan(h, "ud")
        first_run = list(events)
        events.clear()
        await Orchestrator(
            h.api(SET),
            again,
            on_event=events.append,
            journal_dir=tmp_path,
        ).run()
        learned = sorted(e.seconds for e in first_run if isinstance(e, WaveFinished))
        first = next(e for e in events if isinstance(e, Progress))
        assert first.eta_low == pytest.approx(learned[0] * len(again.waves))
        assert first.eta_high == pytest.approx(learned[-1] * len(again.waves))
