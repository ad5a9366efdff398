"""No key pressed while a dialog is open reaches the dashboard, and typing never sends a
change: the bug was `P` on a Rolling set, then `canary` typed without Tab — `n`
cancelled the dialog, `a` opened VM actions, `r` picked restart, `y` confirmed it."""

from __future__ import annotations

from pathlib import Path

from tests.ui.story import new_image_version, story, until
from vmssdash.ui.app import VmssDashApp


async def test_typing_into_a_typed_name_confirmation_sends_nothing(tmp_path: Path) -> None:
    async with story(tmp_path, name="vmss-rolling") as s, s.app.run_test(size=(160, 50)) as pilot:
        app: VmssDashApp = s.app
        await new_image_version(app.api)
        s.wire.writes.clear()
        await app.refresh_snapshot()
        await pilot.press("P")
        await until(pilot, lambda: app.screen is not app.screen_stack[0], "the confirmation")
        await pilot.press(*"canary")
        await pilot.pause()
        await pilot.press(*"canary")
        await pilot.pause()
        assert s.wire.writes == []
