"""Journal: durable JSON lines, replay for resume, torn lines, and no secrets written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import RID, grid, snapshot
from vmssdash.core import journal as journal_mod
from vmssdash.core.journal import Journal, Replay, find_unfinished, scrub
from vmssdash.core.plan import Strategy, build_plan


def _plan():  # type: ignore[no-untyped-def]
    return build_plan(snapshot(grid(10, uds=5)), Strategy.UPDATE_DOMAIN)


def test_plan_and_steps_replay(tmp_path: Path) -> None:
    plan = _plan()
    j = Journal.create(tmp_path, plan)
    j.append("dispatch", wave=0, instance_ids=["0", "5"])
    j.append("accepted", wave=0, instance_ids=["0", "5"], operation="http://x/op/1")
    j.append("vm", instance_id="0", ok=True)
    j.append("vm", instance_id="5", ok=True)
    j.append("wave-done", wave=0)
    j.append("dispatch", wave=1, instance_ids=["1", "6"])
    replay = find_unfinished(tmp_path, RID.upper())
    assert replay is not None
    assert replay.plan == plan
    assert replay.waves_done == {0}
    assert replay.in_doubt == {1: ("1", "6")}
    assert replay.settled_ok == {"0", "5"}
    assert replay.upgrade_calls == {"0": 1, "5": 1, "1": 1, "6": 1}
    j.append("finished", state="completed")
    assert find_unfinished(tmp_path, RID) is None
    loaded = Replay.load(j.path)
    assert loaded is not None and loaded.finished and loaded.final_state == "completed"


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, _plan())
    j.append("dispatch", wave=0, instance_ids=["0"])
    with j.path.open("a") as handle:
        handle.write('{"kind":"wave-done","wa')
    replay = Replay.load(j.path)
    assert replay is not None and replay.waves_done == set() and 0 in replay.dispatched


def test_records_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = journal_mod.os.fsync
    monkeypatch.setattr(journal_mod.os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    j = Journal.create(tmp_path, _plan())
    before = len(calls)
    j.append("dispatch", wave=0, instance_ids=["0"])
    assert len(calls) == before + 1


def test_no_token_ever_reaches_the_journal(tmp_path: Path) -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmNkZWYxMjM0In0.c2lnbmF0dXJl"
    j = Journal.create(tmp_path, _plan())
    j.append(
        "accepted",
        wave=0,
        headers={"Authorization": f"Bearer {jwt}"},
        access_token=jwt,
        error=f"failed with Bearer {jwt} and {jwt}",
        operation="https://h/op?sig=SECRETSIG&api-version=1",
    )
    text = j.path.read_text()
    assert jwt not in text and "SECRETSIG" not in text and "Bearer ey" not in text
    record = json.loads(text.splitlines()[-1])
    assert record["operation"].endswith("sig=<redacted>&api-version=1")
    assert scrub({"a": ["x", {"client_secret": "s"}]}) == {
        "a": ["x", {"client_secret": "<redacted>"}]
    }


def test_default_dir_is_under_the_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert str(journal_mod.default_journal_dir()).startswith(str(tmp_path))
    assert journal_mod.default_journal_dir().name == "journal"


def test_other_scale_sets_are_not_offered(tmp_path: Path) -> None:
    Journal.create(tmp_path, _plan())
    assert find_unfinished(tmp_path, RID.replace("vmss-t", "other")) is None
    assert find_unfinished(tmp_path / "missing", RID) is None
