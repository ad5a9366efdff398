"""A second run on a scale set, from another dashboard or `vmssdash upgrade`, is refused in
the dashboard with the holder named, and nothing is sent."""

from __future__ import annotations

from pathlib import Path

from tests.ui.story import log_of, new_image_version, story, until
from vmssdash.core.runlock import RunLock
from vmssdash.ui.screens.confirm import ConfirmScreen


async def test_a_held_scale_set_refuses_the_run_and_names_the_holder(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await new_image_version(app.api)
        await app.refresh_snapshot()
        other = RunLock(tmp_path / "locks", app.api.path)  # as another process would
        with other.hold("upgrade of 38 VMs in 5 waves") as holder:
            s.wire.writes.clear()
            app.heatmap.marked = {"1", "2"}
            await pilot.press("U")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
            await pilot.press("tab", "enter")
            await until(pilot, lambda: "failed: a run on vmss-web" in log_of(app), "the refusal")
            assert f"pid {holder.pid}" in log_of(app) and "upgrade of 38 VMs" in log_of(app)
            assert s.wire.writes == [] and not app.run_view.running
        await pilot.press("U", "tab", "enter")  # released: the run goes ahead
        await until(pilot, lambda: app.run_view.state.is_terminal, "the run")
        assert s.wire.sent_ids("/manualupgrade") == ["1", "2"]
