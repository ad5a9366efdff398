"""A crash-safe record of every plan and every step, so a killed run can be resumed.

An in-flight ``manualupgrade`` cannot be recalled or re-attached after a crash, so the
only way to continue safely is to know what we had asked for. Each plan gets one JSON
lines file; every step is appended and fsync'd *before* the call it describes and again
after it, so on restart we know which waves were finished, which one may have been in
flight, and which never started. Nothing secret goes in: keys and values that look like
credentials are scrubbed before writing.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vmssdash import paths
from vmssdash.core.plan import Plan


def default_journal_dir() -> Path:
    """``<XDG state dir>/journal`` (paths are decided in one place, ``vmssdash.paths``)."""
    return paths.journal_dir()


_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|password|assertion|credential|cookie)", re.IGNORECASE
)
_SECRET_VALUES = [
    re.compile(r"bearer\s+\S+", re.IGNORECASE),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"([?&](?:sig|code|access_token|token)=)[^&\s]+", re.IGNORECASE),
]


def scrub(value: Any) -> Any:
    """Drop anything that could be a credential (keys by name, values by shape)."""
    if isinstance(value, dict):
        return {
            k: ("<redacted>" if _SECRET_KEYS.search(str(k)) else scrub(v)) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        out = value
        for pattern in _SECRET_VALUES:
            out = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "<redacted>", out)
        return out
    return value


TERMINAL_KINDS = ("finished",)


class Journal:
    """Append-only JSON lines for one plan run."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock

    @classmethod
    def create(
        cls, directory: Path, plan: Plan, *, clock: Callable[[], float] = time.time
    ) -> Journal:
        directory.mkdir(parents=True, exist_ok=True)
        journal = cls(directory / f"{plan.plan_id}.jsonl", clock=clock)
        journal.append("plan", plan=plan.to_json())
        _fsync_dir(directory)
        return journal

    def append(self, kind: str, **data: Any) -> None:
        now = self._clock()
        record = {"ts": round(now, 3), "at": iso_time(now), "kind": kind, **scrub(data)}
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def iso_time(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds: what a change record and a support case quote."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """All complete records; a line torn by a crash mid-write is ignored."""
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


@dataclass
class Replay:
    """What a journal says about a run: enough to resume it without redoing or skipping VMs."""

    path: Path
    plan: Plan
    waves_done: set[int] = field(default_factory=set)
    dispatched: dict[int, tuple[str, ...]] = field(default_factory=dict)
    accepted: dict[int, tuple[str, ...]] = field(default_factory=dict)
    settled_ok: set[str] = field(default_factory=set)
    settled_failed: set[str] = field(default_factory=set)
    upgrade_calls: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    final_state: str = ""
    last_ts: float = 0.0

    @property
    def in_doubt(self) -> dict[int, tuple[str, ...]]:
        """Waves whose dispatch was journaled but whose result never was."""
        return {w: ids for w, ids in self.dispatched.items() if w not in self.waves_done}

    def describe(self) -> str:
        total = len(self.plan.waves)
        return (
            f"plan {self.plan.plan_id[:8]} on {self.plan.scale_set_name}: "
            f"{len(self.waves_done)}/{total} waves finished, "
            f"{len(self.settled_ok)} VMs upgraded"
        )

    @classmethod
    def load(cls, path: Path) -> Replay | None:
        replay: Replay | None = None
        for record in read_records(path):
            kind = record.get("kind")
            if kind == "plan":
                replay = cls(path=path, plan=Plan.from_json(record["plan"]))
                continue
            if replay is None:
                return None
            replay.last_ts = float(record.get("ts", 0.0))
            wave = record.get("wave")
            ids = tuple(record.get("instance_ids", ()))
            if kind == "dispatch" and isinstance(wave, int):
                replay.dispatched[wave] = ids
                for i in ids:
                    replay.upgrade_calls[i] = replay.upgrade_calls.get(i, 0) + 1
            elif kind == "accepted" and isinstance(wave, int):
                replay.accepted[wave] = ids
            elif kind == "dispatch-failed" and isinstance(wave, int):
                replay.dispatched.pop(wave, None)
                for i in ids:
                    replay.upgrade_calls[i] = replay.upgrade_calls.get(i, 1) - 1
            elif kind == "vm":
                iid = str(record.get("instance_id"))
                if record.get("ok"):
                    replay.settled_ok.add(iid)
                    replay.settled_failed.discard(iid)
                else:
                    replay.settled_failed.add(iid)
            elif kind == "wave-done" and isinstance(wave, int):
                replay.waves_done.add(wave)
            elif kind in TERMINAL_KINDS:
                replay.finished = True
                replay.final_state = str(record.get("state", ""))
        return replay


def list_journals(directory: Path) -> list[Replay]:
    """Every readable journal in ``directory``; damaged ones are passed over."""
    out: list[Replay] = []
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.jsonl")):
        try:
            replay = Replay.load(path)
        except (OSError, KeyError, ValueError, TypeError):
            continue
        if replay is not None:
            out.append(replay)
    return out


def find_unfinished(directory: Path, scale_set_id: str) -> Replay | None:
    """The most recent unfinished plan for this scale set, if any."""
    unfinished = [
        replay
        for replay in list_journals(directory)
        if not replay.finished and replay.plan.scale_set_id.lower() == scale_set_id.lower()
    ]
    return max(unfinished, key=lambda replay: replay.last_ts, default=None)
