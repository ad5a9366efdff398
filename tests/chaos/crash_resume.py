"""What the SIGKILL-and-resume test and ``make chaos`` share: the headless upgrade's
command line against a simulator, and the journal records it left."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any


def upgrade_cli(base_url: str, rid: str, journal: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vmssdash.orch_cli",
        "--endpoint",
        base_url,
        "--resource-id",
        rid,
        "--auth",
        "none",
        "--by",
        "ud",
        "--yes",
        "--poll-interval",
        "0.2",
        "--journal-dir",
        str(journal),
        *extra,
    ]


def journal_records(journal: Path) -> list[dict[str, Any]]:
    """Every record of every journal in ``journal`` (a line cut by the kill is skipped)."""
    out: list[dict[str, Any]] = []
    for path in journal.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out
