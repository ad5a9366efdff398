"""The default journal directory is private (issue 13, item 8): plans and their records
name subscriptions, scale sets and instance ids. Before, it was created 0755."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vmssdash import paths


def test_the_journal_directory_is_0700_even_when_it_existed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    existing = paths.state_dir() / "journal"
    existing.mkdir(parents=True, mode=0o755)
    existing.chmod(0o755)
    folder = paths.journal_dir()
    assert folder == existing
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
