"""Revert after a halted run: the model goes back to the image the run started from
(If-Match, diff first), and exactly the VMs the run upgraded are upgraded again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.orch_harness import SimHarness
from vmssdash.azure.errors import PreconditionFailedError
from vmssdash.core.events import RunState
from vmssdash.core.journal import Replay, find_unfinished
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.revert import RevertError, find_run, plan_revert, run_revert
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import build_plan_from_steps, parse_steps

BAD_LATE = "24.04.202611989-bad-late"
SET = "vmss-small"


async def _halted_run(h: SimHarness, journal_dir: Path) -> tuple[Replay, str]:
    api = h.api(SET)
    await h.set_version(SET, BAD_LATE)
    snap = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    plan = build_plan_from_steps(snap, parse_steps("canary 1, bake PT2M, ud"))
    canary = plan.waves[0].instance_ids[0]
    result = await Orchestrator(api, plan, journal_dir=journal_dir).run()
    assert result.state is RunState.HALTED
    return find_run(journal_dir, plan.plan_id[:8]), canary


async def test_revert_puts_the_canary_back_on_the_image_it_ran(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        sim_vm = h.sim_set(SET).vms
        replay, canary = await _halted_run(h, tmp_path)
        old_version = None
        for iid, vm in sim_vm.items():
            if str(iid) == canary:
                assert vm.exact_version == BAD_LATE and vm.health == "unhealthy"
        api = h.api(SET)
        revert = plan_revert(replay, await api.get())
        assert revert.instance_ids == (canary,)
        old_version = revert.before_version
        assert old_version.startswith("24.04.2026") and "bad" not in old_version
        text = revert.describe()
        assert f"imageReference.version: {BAD_LATE} → {old_version}" in text
        assert f"[{canary}]" in text
        calls_before = len(h.upgrade_calls())
        result = await run_revert(api, revert, replay, journal_dir=tmp_path)
        assert result.state is RunState.COMPLETED, result.reason
        vm = sim_vm[int(canary)]
        assert vm.exact_version == old_version and vm.health == "healthy"
        model = (await api.get()).image_reference
        assert model is not None and model.version == old_version
        assert [c.ids for c in h.upgrade_calls()[calls_before:]] == [[canary]]
        assert find_unfinished(tmp_path, replay.plan.scale_set_id) is None
        # Run again (after a crash, say): the model is not patched twice, nothing to do.
        again = plan_revert(replay, await api.get())
        assert not again.model_changes and "not patched again" in again.describe()


async def test_revert_refuses_a_model_changed_since_it_was_shown(tmp_path: Path) -> None:
    async with SimHarness("small") as h:
        replay, _ = await _halted_run(h, tmp_path)
        api = h.api(SET)
        revert = plan_revert(replay, await api.get())
        await h.set_version(SET, "24.04.202612010")  # someone else, meanwhile
        with pytest.raises(PreconditionFailedError):
            await run_revert(api, revert, replay, journal_dir=tmp_path)
        assert h.latest_ids(SET) == set()  # nothing re-upgraded


def test_no_run_gives_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(RevertError, match="no run to revert"):
        find_run(tmp_path, None)
