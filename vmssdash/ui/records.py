"""What the dashboard writes down for a person to keep: a run's change record, the log.

The same markdown as ``vmssdash report``, so a run watched in the TUI leaves the record a
pipeline would have; the activity log as plain text, for a ticket or a handover. Files go
to the state dir (0700 folders, 0600 files: they name scale sets and identities). These
are blocking file reads and writes: the App calls them off its event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from vmssdash.core.journal import list_journals
from vmssdash.core.report import build_report, render_markdown
from vmssdash.paths import ensure_private_dir, state_dir


def records_dir() -> Path:
    return state_dir() / "records"


def export_report(journal_dir: Path, scale_set_id: str, folder: Path) -> Path:
    """This scale set's newest run (the current one while it runs) as markdown; raises
    ``LookupError`` when the journal holds no run of it."""
    runs = [
        j for j in list_journals(journal_dir) if j.plan.scale_set_id.lower() == scale_set_id.lower()
    ]
    if not runs:
        raise LookupError(f"no run of this scale set in {journal_dir}")
    run = max(runs, key=lambda j: j.last_ts)
    text = render_markdown(build_report(journal_dir, str(run.path)))
    return _write(folder, f"report-{run.plan.scale_set_name}-{run.plan.plan_id[:8]}", "md", text)


def save_lines(lines: Iterable[str], name: str, folder: Path) -> Path:
    return _write(folder, f"{name}-{_stamp()}", "log", "".join(f"{line}\n" for line in lines))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _write(folder: Path, stem: str, suffix: str, text: str) -> Path:
    path = ensure_private_dir(folder) / f"{stem}.{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path
