"""What a confirmation lists is exactly what goes on the wire, for every kind of change.

The app runs against the simulator over a real socket with every write recorded
(``tests.ui.story``). The bug: `U` listed the marked VMs by its own rules while the run
skipped deallocated VMs by ``skip_reason`` — the dialog named a VM that was never sent.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.story import new_image_version, story, until
from vmssdash.core.events import RunState
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.screens.confirm import ConfirmScreen
from vmssdash.ui.screens.plan import PlanScreen
from vmssdash.ui.screens.scale import ScaleScreen
from vmssdash.ui.screens.vm_actions import ActionMenu


def listed_ids(body: str) -> list[str]:
    """Every instance id the confirmation names as sent: its waves or its id line."""
    ids: list[str] = []
    for line in body.splitlines():
        wave = re.match(r"Wave +\d+ .*? \d+ VMs? +(.*)$", line)
        if wave:
            ids += wave.group(1).split(", ")
        elif line.startswith("Instance ids: "):
            ids += line.removeprefix("Instance ids: ").split(", ")
    return ids


async def confirm(app: VmssDashApp, pilot: Pilot[object]) -> ConfirmScreen:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    if screen.require_text is not None:
        await pilot.press(*screen.require_text, "enter")
    else:
        await pilot.press("tab", "enter")
    return screen


async def test_upgrade_of_marked_vms_lists_exactly_the_vms_sent(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await new_image_version(app.api)
        snap = await app.refresh_snapshot()
        off = next(vm for vm in snap.vms if vm.power_state == "deallocated")
        guarded = next(vm for vm in snap.vms if vm.protected_from_scale_set_actions)
        ud = [vm.instance_id for vm in snap.vms if vm.update_domain == off.update_domain]
        app.heatmap.marked = {*ud, guarded.instance_id}
        s.wire.writes.clear()
        await pilot.press("U")
        screen = await confirm(app, pilot)
        await until(pilot, lambda: app.run_view.state is RunState.COMPLETED, "the run")
        listed = listed_ids(screen.body)
        assert off.instance_id not in listed and guarded.instance_id not in listed
        assert f"deallocated: 1 [{off.instance_id}]" in screen.body
        assert listed == s.wire.sent_ids("/manualupgrade")
        assert sorted(listed, key=int) == sorted(set(ud) - {off.instance_id}, key=int)


async def test_plan_lists_every_wave_as_sent(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await new_image_version(app.api)
        await app.refresh_snapshot()
        s.wire.writes.clear()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        await pilot.press("tab", "enter")  # Enter starts (after the confirmation)
        screen = await confirm(app, pilot)
        assert "in 5 waves" in screen.title_text
        await until(pilot, lambda: app.run_view.state is RunState.COMPLETED, "the run")
        waves = [s.instance_ids for s in s.wire.writes if s.path.endswith("/manualupgrade")]
        assert len(waves) == 5
        assert listed_ids(screen.body) == [i for wave in waves for i in wave]


async def test_vm_action_lists_exactly_the_vms_sent(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        snap = await app.refresh_snapshot()
        guarded = next(vm for vm in snap.vms if vm.protected_from_scale_set_actions)
        app.heatmap.marked = {"1", "6", guarded.instance_id}
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionMenu), "the menu")
        await pilot.press("r")
        screen = await confirm(app, pilot)
        await until(pilot, lambda: "restart of 2 VMs succeeded" in _log(app), "the restart")
        assert "protected from scale-set actions: 1" in screen.body
        assert listed_ids(screen.body) == ["1", "6"] == s.wire.sent_ids("/restart")


async def test_scale_model_and_rolling_send_no_instance_ids(tmp_path: Path) -> None:
    async with (
        story(tmp_path, name="vmss-rolling") as s,
        s.app.run_test(size=(160, 50)) as pilot,
    ):
        app = s.app
        await app.refresh_snapshot()
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ScaleScreen), "the scale box")
        box = app.screen.query_one("#scale-capacity", Input)
        box.value = ""
        await pilot.press("1", "2", "enter")  # Enter submits the box
        screen = await confirm(app, pilot)
        await until(pilot, lambda: "capacity is now 12" in _log(app), "the scale")
        assert listed_ids(screen.body) == []
        await new_image_version(app.api)
        await app.refresh_snapshot()
        await pilot.press("P")
        screen = await confirm(app, pilot)
        assert "not on the latest model" in screen.body
        await until(pilot, lambda: app.run_view.state.is_terminal, "the rolling upgrade")
        assert listed_ids(screen.body) == []
        assert [w for w in s.wire.writes if w.instance_ids] == []
        assert any(w.path.endswith("/osRollingUpgrade") for w in s.wire.writes)


def _log(app: VmssDashApp) -> str:
    return "\n".join(str(line) for line in app.activity.lines)
