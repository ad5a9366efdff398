"""The issue-15 story in the dashboard (demo scenario, real socket, virtual clock):
choose "canary 1, bake 2 min, then by UD", rehearse it, watch a late-bad image halt in
the bake with only the canary touched, revert with one key, the canary back on its image."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select, Static

from tests.ui.story import new_image_version, story, until
from tests.ui.test_confirmed_is_sent import confirm
from vmssdash.core.events import RunState
from vmssdash.ui.screens.plan import PlanScreen

BAD_LATE = "24.04.202611989-bad-late"


async def test_canary_bake_halt_and_one_key_revert(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        before = {
            str(i): vm.exact_version
            for i, vm in s.world.scale_sets[
                next(k for k in s.world.scale_sets if k[2] == "vmss-web")
            ].vms.items()
        }
        await new_image_version(app.api, BAD_LATE)
        await app.refresh_snapshot()
        s.wire.writes.clear()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        screen.query_one("#plan-strategy", Select).value = "canary 1, bake PT2M, ud"
        await until(pilot, lambda: screen.plan is not None and bool(screen.plan.steps), "steps")
        plan = screen.plan
        assert plan is not None and plan.waves[0].label == "canary"
        canary = plan.waves[0].instance_ids[0]
        # Rehearse first: on the embedded copy the same plan halts in the bake too.
        await pilot.press("f5")
        rehearsal = screen.query_one("#plan-rehearsal", Static)
        await until(pilot, lambda: "Outcome on the copy" in str(rehearsal.render()), "rehearsal")
        text = str(rehearsal.render())
        assert "halted: bake PT2M after wave 1 (canary)" in text and "Simulated duration" in text
        assert s.wire.writes == []  # the rehearsal sent nothing to the set
        screen.query_one("#plan-start").focus()
        await pilot.press("enter")
        body = (await confirm(app, pilot)).body
        assert "then bake PT2M" in body
        await until(pilot, lambda: app.run_view.state is RunState.HALTED, "the halt", 6000)
        assert "application health unhealthy" in app.run_view.reason
        assert s.wire.sent_ids("/manualupgrade") == [canary]
        # One key back: R previews the revert (model diff, the canary), then sends it.
        s.wire.writes.clear()
        await pilot.press("R")
        revert = await confirm(app, pilot)
        assert f"imageReference.version: {BAD_LATE} → {before[canary]}" in revert.body
        assert f"[{canary}]" in revert.body
        await until(
            pilot,
            lambda: app.run_view.state is RunState.COMPLETED and bool(app.run_view.control),
            "the revert",
            6000,
        )
        assert [w.method for w in s.wire.writes][:1] == ["PATCH"]
        assert s.wire.sent_ids("/manualupgrade") == [canary]
        vm = next(
            v
            for k, ss in s.world.scale_sets.items()
            if k[2] == "vmss-web"
            for i, v in ss.vms.items()
            if str(i) == canary
        )
        assert vm.exact_version == before[canary] and vm.health == "healthy"
