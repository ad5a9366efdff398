"""The dashboard on a Rolling-mode Flexible set: `P` starts the server's rolling upgrade and
watches it to the end; `X` cancels it. Nothing is sent by instance id or name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.test_flexible_rolling import FLEX, stale_members, to_rolling
from tests.ui.story import Gate, story, until
from tests.ui.test_confirmed_is_sent import confirm
from vmssdash.core.events import RunState


def flex(world: Any) -> Any:
    return next(s for s in world.scale_sets.values() if s.name == FLEX)


async def test_rolling_flexible_set_is_upgraded_by_the_server(tmp_path: Path) -> None:
    async with story(tmp_path, name=FLEX) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await to_rolling(app.api)
        snap = await app.refresh_snapshot()
        assert snap.flexible and stale_members(flex(s.world))
        await pilot.press("P")
        screen = await confirm(app, pilot)
        assert "Rolling mode" in screen.body and screen.require_text == FLEX
        await until(pilot, lambda: app.run_view.state.is_terminal, "the rolling upgrade")
        assert app.run_view.state is RunState.COMPLETED
        assert any(type(e).__name__ == "RollingStatusEvent" for e in app.run_view.events)
        assert [w for w in s.wire.writes if w.instance_ids] == []
        assert any(w.path.endswith("/osRollingUpgrade") for w in s.wire.writes)
        assert not stale_members(flex(s.world))


async def test_rolling_upgrade_of_a_flexible_set_is_cancelled_with_x(tmp_path: Path) -> None:
    gate = Gate()
    async with (
        story(tmp_path, name=FLEX, gate=gate) as s,
        s.app.run_test(size=(160, 50)) as pilot,
    ):
        app = s.app
        await to_rolling(app.api, batch_percent=10)
        await app.refresh_snapshot()
        vmss = flex(s.world)
        # Hold the simulated clock once the server's upgrade runs, to cancel it mid-way.
        gate.closed = lambda: vmss.rolling is not None and vmss.rolling.running
        await pilot.press("P")
        await confirm(app, pilot)
        await until(pilot, lambda: gate.waiting and app.run_view.running, "the running upgrade")
        await pilot.press("X")
        cancel = await confirm(app, pilot)
        assert "rolling upgrade is cancelled" in cancel.body
        await until(pilot, lambda: not vmss.rolling.running, "the cancel")
        gate.open()
        await until(pilot, lambda: app.run_view.state.is_terminal, "the end of the run")
        assert app.run_view.state is RunState.CANCELLED
        assert any(w.path.endswith("/rollingUpgrades/cancel") for w in s.wire.writes)
        assert vmss.rolling.code == "Cancelled" and stale_members(vmss)
