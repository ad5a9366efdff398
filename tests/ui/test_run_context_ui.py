"""A run started in the dashboard journals a ``context`` record, as a headless run does:
who ran it from which endpoint, with which tool version, on which image."""

from __future__ import annotations

from pathlib import Path

from tests.ui.story import GOOD, story, upgrade_marked
from vmssdash import __version__
from vmssdash.core.journal import list_journals, read_records


async def test_a_dashboard_run_records_its_context(tmp_path: Path) -> None:
    async with story(tmp_path) as s, s.app.run_test(size=(160, 50)) as pilot:
        app = s.app
        await app.refresh_snapshot()
        await upgrade_marked(app, pilot, {"1", "2"})
        [run] = list_journals(tmp_path / "journal")
        [context] = [r for r in read_records(run.path) if r["kind"] == "context"]
        assert context["tool"] == "vmssdash" and context["version"] == __version__
        assert context["endpoint"] == app.api.client.endpoint  # as the story passed it
        assert context["image"]["version"] == GOOD and context["resumed"] is False
