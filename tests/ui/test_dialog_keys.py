"""No key pressed while a dialog is open reaches the dashboard, and typing never sends a
change. The bug: `P` on a Rolling set, then `canary` typed without Tab — `n` cancelled
the dialog, `a` opened VM actions, `r` picked restart, `y` confirmed it: VM 0 restarted.
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input

from tests.ui.story import Gate, Story, new_image_version, story, until
from vmssdash.core.events import WaveStarted
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.screens.confirm import ConfirmScreen

#: Every printable key but Tab/Enter (which move focus or press the focused button).
KEYS = [c for c in string.printable if c not in "\t\n\r\x0b\x0c "] + ["space"]

Opener = Callable[[VmssDashApp, Pilot[object]], Awaitable[None]]


def dashboard_state(app: VmssDashApp) -> tuple[object, ...]:
    hm = app.heatmap
    return (frozenset(hm.marked), hm.grouping, app.observer.paused, app._filter.value)


async def type_everything(s: Story, pilot: Pilot[object], open_dialog: Opener) -> None:
    """Each key into the dialog (reopened whenever a key closed it): nothing is sent, and
    the dashboard's state does not move."""
    app = s.app
    before, writes = dashboard_state(app), list(s.wire.writes)
    for key in KEYS:
        if not isinstance(app.screen, ModalScreen):
            await open_dialog(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, ModalScreen), "the dialog")
        await pilot.press(key)
    await pilot.pause()
    assert s.wire.writes == writes, key
    while isinstance(app.screen, ModalScreen):
        await pilot.press("escape")
        await pilot.pause()
    assert dashboard_state(app) == before


def press(*keys: str) -> Opener:
    async def opener(app: VmssDashApp, pilot: Pilot[object]) -> None:
        await pilot.press(*keys)

    return opener


async def test_typing_into_a_typed_name_confirmation_sends_nothing(tmp_path: Path) -> None:
    async with story(tmp_path, name="vmss-rolling") as s, s.app.run_test(size=(160, 50)) as pilot:
        app: VmssDashApp = s.app
        await new_image_version(app.api)
        s.wire.writes.clear()
        await app.refresh_snapshot()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert isinstance(app.screen.focused, Input)  # the name box has the keys
        await pilot.press(*"canary")
        await pilot.pause()
        assert app.screen.focused.value == "canary"
        assert s.wire.writes == []
        await type_everything(s, pilot, press("P"))


async def test_every_dialog_keeps_every_key(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await new_image_version(app.api)
        s.wire.writes.clear()
        await app.refresh_snapshot()
        await pilot.press("home", "space")
        for keys in (("U",), ("P",), ("a",), ("c",), ("e",), ("question_mark",)):
            await type_everything(s, pilot, press(*keys))
        await pilot.press("a", "r")  # a plain confirmation: Cancel has the focus
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await type_everything(s, pilot, press("a", "r"))


async def test_quit_and_abort_during_a_run_ask_first_and_keep_their_keys(tmp_path: Path) -> None:
    gate = Gate()
    async with story(tmp_path, gate=gate) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await new_image_version(app.api)
        await app.refresh_snapshot()
        gate.closed = lambda: any(isinstance(e, WaveStarted) for e in app.run_view.events)
        app.heatmap.marked = {"1", "2"}
        await pilot.press("U", "tab", "enter")
        await until(pilot, lambda: gate.waiting, "the wave in flight")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the quit question")
        body = app.screen.body  # type: ignore[attr-defined]
        assert "continuing in Azure: VM 1." in body and "--resume" in body
        await type_everything(s, pilot, press("q"))
        await type_everything(s, pilot, press("X"))
        assert app.is_running and app.run_view.running
        gate.open()
