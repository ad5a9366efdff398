"""One run per scale set, across processes: a lock file per scale set in the state dir.

Two ``vmssdash upgrade`` processes (or a dashboard and a headless run) on one scale set
upgraded the same VMs twice: an in-process guard cannot see the other process. The lock
is an OS file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on
``<dir>/<set>.lock``; the holder (pid, host, user, start time, what) is written beside
it in ``<set>.json`` so the refusal can name who holds it. The OS drops the lock when its
process dies, so a crashed holder's lock is taken over without any stale-pid guessing;
a leftover holder file of a dead process is simply overwritten.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from vmssdash.paths import ensure_private_dir, state_dir

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def default_lock_dir() -> Path:
    return state_dir() / "locks"


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    user: str
    started: str
    what: str
    scale_set: str

    def describe(self) -> str:
        return f"{self.what} by {self.user}@{self.host} (pid {self.pid}) since {self.started}"


class RunLockHeldError(RuntimeError):
    """Another run holds this scale set; the message names it."""

    def __init__(self, scale_set: str, holder: Holder | None) -> None:
        who = holder.describe() if holder else "another vmssdash process (holder unknown)"
        super().__init__(
            f"a run on {scale_set} is already in progress: {who}. "
            "Wait for it to finish, or stop it there (a crashed run's lock is released "
            "by the system and taken over)."
        )
        self.holder = holder


class RunLock:
    """The run lock of one scale set; ``hold(what)`` for the length of a run."""

    def __init__(self, folder: Path, scale_set_id: str) -> None:
        self.folder = folder
        self.scale_set_id = scale_set_id
        name = scale_set_id.rstrip("/").rsplit("/", 1)[-1] or "scale-set"
        digest = hashlib.sha256(scale_set_id.lower().encode()).hexdigest()[:12]
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        self.path = folder / f"{slug}-{digest}.lock"
        self.holder_path = folder / f"{slug}-{digest}.json"
        self._fd: int | None = None
        self._kept: Holder | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> Holder | None:
        try:
            data = json.loads(self.holder_path.read_text(encoding="utf-8"))
            return Holder(**data)
        except (OSError, ValueError, TypeError):
            return None

    def acquire(self, what: str) -> Holder:
        """Take the lock or raise ``RunLockHeldError`` naming the holder."""
        name = self.scale_set_id.rstrip("/").rsplit("/", 1)[-1]
        if self._fd is not None:
            raise RunLockHeldError(name, self.holder())
        ensure_private_dir(self.folder)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise RunLockHeldError(name, self.holder())
        self._fd = fd
        me = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_user(),
            started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            what=what,
            scale_set=self.scale_set_id,
        )
        tmp = self.holder_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(me)), encoding="utf-8")
        os.replace(tmp, self.holder_path)
        return me

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.holder_path.unlink()
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def hold(self, what: str) -> Iterator[Holder]:
        if self._kept is not None:  # inside ``keep``: this step is part of that command
            yield self._kept
            return
        me = self.acquire(what)
        try:
            yield me
        finally:
            self.release()

    @contextlib.contextmanager
    def keep(self, what: str) -> Iterator[Holder]:
        """Hold the lock across a headless command's steps (the model PATCH, then the run
        it starts), so no other process slips in between; a ``hold`` inside joins it."""
        with self.hold(what) as me:
            self._kept = me
            try:
                yield me
            finally:
                self._kept = None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
