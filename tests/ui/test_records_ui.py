"""The dashboard leaves records a person can keep: `E` exports the run's change record
(the markdown of `vmssdash report`), `L` saves the activity log, `?` says where the
journals are."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Static

from tests.ui.story import log_of, story, until, upgrade_marked
from vmssdash import __version__
from vmssdash.core.journal import list_journals
from vmssdash.ui.screens.help import HelpScreen


def _saved(log: str, what: str) -> Path:
    line = next(line for line in log.splitlines() if f"{what} saved to " in line)
    return Path(line.split(f"{what} saved to ", 1)[1])


async def test_e_exports_the_last_runs_report(
    tmp_path: Path,
) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50), notifications=True) as pilot:
        app = s.app
        app.records_dir = tmp_path / "records"
        await app.refresh_snapshot()
        await pilot.press("E")  # no run of this set yet: said, nothing written
        await until(pilot, lambda: "report not exported" in log_of(app), "the refusal")
        assert not (tmp_path / "records").exists()

        await upgrade_marked(app, pilot, {"1", "2"})

        await pilot.press("E")
        await until(pilot, lambda: "report saved to" in log_of(app), "the export")
        path = _saved(log_of(app), "report")
        assert path.parent == tmp_path / "records" and path.suffix == ".md"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert any(str(path) in note.message for note in app._notifications)
        [run] = list_journals(tmp_path / "journal")
        text = path.read_text(encoding="utf-8")
        assert run.plan.plan_id[:8] in text and "vmss-web" in text
        assert "- Who:" in text and __version__ in text


async def test_l_saves_the_activity_log_and_help_says_where_the_journal_is(
    tmp_path: Path,
) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50), notifications=True) as pilot:
        app = s.app
        app.records_dir = tmp_path / "records"
        await app.refresh_snapshot()
        before = list(app.activity.lines)
        await pilot.press("L")
        await until(pilot, lambda: "activity log saved to" in log_of(app), "the save")
        path = _saved(log_of(app), "activity log")
        assert path.parent == tmp_path / "records"
        assert path.read_text(encoding="utf-8").splitlines() == before
        assert "watching vmss-web" in path.read_text(encoding="utf-8")
        assert any(str(path) in note.message for note in app._notifications)

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        where = str(app.screen.query_one("#help-where", Static).render())
        assert str(tmp_path / "journal") in where and str(tmp_path / "records") in where
