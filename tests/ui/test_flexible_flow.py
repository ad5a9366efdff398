"""The demo's Flexible set in the dashboard: rows by zone, a by-zone plan of VM names
confirmed by typing the set's name, run to the end (issue 16, item 1)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.story import story, until
from vmssdash.core.events import RunState
from vmssdash.core.snapshot import Grouping
from vmssdash.ui.run_pane import RunPane
from vmssdash.ui.screens.confirm import ConfirmScreen
from vmssdash.ui.screens.plan import PlanScreen, strategy_options


async def test_flexible_set_shows_zones_and_upgrades_zone_by_zone(tmp_path: Path) -> None:
    async with story(tmp_path, name="vmss-flex") as s:
        app, world = s.app, s.world
        async with app.run_test(size=(160, 50)) as pilot:
            await app.refresh_snapshot()
            assert app.heatmap.grouping == Grouping.ZONE_FAULT_DOMAIN
            assert [g.label for g in app.heatmap.groups] == ["zone 1", "zone 2", "zone 3"]
            assert app.heatmap.border_title == "zone × fault domains"
            await pilot.press("g")
            after_g: Grouping = app.heatmap.grouping
            assert after_g is Grouping.FAULT_DOMAIN  # no update domains in a Flexible set
            await pilot.press("P")
            await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
            screen = app.screen
            assert isinstance(screen, PlanScreen) and screen.plan is not None
            plan = screen.plan
            assert [w.label for w in plan.waves] == ["zone 1", "zone 2", "zone 3"]
            assert len(plan.targets) == 6
            assert all(i.startswith("vmss-flex_") for i in plan.targets)
            await pilot.click("#plan-start")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
            await pilot.click("#confirm-input")
            await pilot.press(*"vmss-flex", "enter")
            await until(pilot, lambda: app.run_view.control is not None, "the run to start")
            ctl = app.run_view
            await until(pilot, lambda: ctl.state is RunState.COMPLETED, "the run to finish")
            pane = app.query_one(RunPane)
            await until(pilot, lambda: "COMPLETED" in pane.status_text, "the pane update")
            assert sorted(s.wire.sent_ids("/manualupgrade")) == sorted(plan.targets)
            flex = next(v for v in world.scale_sets.values() if v.name == "vmss-flex")
            assert all(vm.applied_gen == flex.model_gen for vm in flex.vms.values())
            await app.refresh_snapshot()
            assert app.snapshot is not None and not app.snapshot.stale_ids()
            assert app.last_error is None


def test_a_flexible_set_is_not_offered_update_domain_plans() -> None:
    """A Flexible set has no update domains: "by update domain" would be one "UD ?" wave."""
    flexible = [label for label, _ in strategy_options(flexible=True)]
    uniform = [label for label, _ in strategy_options(flexible=False)]
    assert "by update domain" in uniform and "by update domain" not in flexible
    assert "canary 1, bake 2 min, then by zone" in flexible
    assert not [label for label in flexible if "by UD" in label]
