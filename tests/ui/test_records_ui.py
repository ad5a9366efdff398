"""The dashboard leaves records a person can keep: `E` exports the run's change record
(the markdown of `vmssdash report`), `L` saves the activity log, `?` says where the
journals are."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from tests.ui.story import log_of, story, until, upgrade_marked
from vmssdash import __version__
from vmssdash.core.journal import list_journals
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.screens.help import HelpScreen


@asynccontextmanager
async def _dashboard(tmp_path: Path) -> AsyncIterator[tuple[VmssDashApp, Pilot[None]]]:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50), notifications=True) as pilot:
        s.app.records_dir = tmp_path / "records"
        await s.app.refresh_snapshot()
        yield s.app, pilot


async def _saved(app: VmssDashApp, pilot: Pilot[None], key: str, what: str) -> Path:
    """Press ``key``; the path the log names, checked private and in the records dir."""
    await pilot.press(key)
    await until(pilot, lambda: f"{what} saved to " in log_of(app), f"the {what}")
    line = next(line for line in log_of(app).splitlines() if f"{what} saved to " in line)
    path = Path(line.split(f"{what} saved to ", 1)[1])
    assert path.parent == app.records_dir and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert any(str(path) in note.message for note in app._notifications)
    return path


async def test_e_exports_the_last_runs_report(
    tmp_path: Path,
) -> None:
    async with _dashboard(tmp_path) as (app, pilot):
        await pilot.press("E")  # no run of this set yet: said, nothing written
        await until(pilot, lambda: "report not saved" in log_of(app), "the refusal")
        assert not (tmp_path / "records").exists()

        await upgrade_marked(app, pilot, {"1", "2"})

        path = await _saved(app, pilot, "E", "report")
        assert path.suffix == ".md"
        [run] = list_journals(tmp_path / "journal")
        text = path.read_text(encoding="utf-8")
        assert run.plan.plan_id[:8] in text and "vmss-web" in text
        assert "- Who:" in text and __version__ in text


async def test_l_saves_the_activity_log_and_help_says_where_the_journal_is(
    tmp_path: Path,
) -> None:
    async with _dashboard(tmp_path) as (app, pilot):
        before = list(app.activity.lines)
        path = await _saved(app, pilot, "L", "activity log")
        assert path.read_text(encoding="utf-8").splitlines() == before
        assert "watching vmss-web" in path.read_text(encoding="utf-8")

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        where = str(app.screen.query_one("#help-where", Static).render())
        assert str(tmp_path / "journal") in where and str(tmp_path / "records") in where
