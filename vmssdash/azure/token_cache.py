"""The msal token cache on disk: 0600 file in a 0700 directory, encrypted when possible.

The cache holds refresh tokens, so it is treated as a secret: written atomically through
a private temp file, never loosened, and wiped whole by ``vmssdash logout``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal

from vmssdash import paths

log = logging.getLogger(__name__)

PLAIN_NAME = "msal_token_cache.json"
# A different name for the encrypted cache: one must never stomp the other.
ENCRYPTED_NAME = "msal_token_cache.bin"


def _lock_file(path: Path) -> Path:
    return path.with_name(path.name + ".lockfile")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Cross-process lock, so two vmssdash windows cannot interleave cache writes."""
    if os.name != "posix":
        yield
        return
    import fcntl

    fd = os.open(_lock_file(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class TokenCacheStore:
    """Owns one msal cache object and where (if anywhere) it is persisted.

    ``status`` is for the UI: "encrypted", "plaintext 0600" or "memory only".
    """

    def __init__(self, directory: Path | None = None, *, persist: bool = True) -> None:
        self.directory = directory if directory is not None else paths.token_cache_dir()
        self.persist = persist
        self._mutex = threading.Lock()
        self.path: Path | None = None
        self.status = "memory only"
        self.warning: str | None = None
        self.cache: msal.SerializableTokenCache = msal.SerializableTokenCache()
        self._encrypted = False
        if persist:
            self._open()

    def _open(self) -> None:
        paths.ensure_private_dir(self.directory)
        encrypted = self._try_encrypted()
        if encrypted is not None:
            self.cache = encrypted
            self.path = self.directory / ENCRYPTED_NAME
            self._encrypted = True
            self.status = "encrypted"
            return
        self.path = self.directory / PLAIN_NAME
        self.status = "plaintext 0600"
        self.warning = (
            f"token cache is not encrypted ({_why_plaintext()}); "
            f"stored at {self.path} readable only by you"
        )
        # Say it loudly once, when the file is first created; the UI shows ``status``.
        log.log(logging.INFO if self.path.exists() else logging.WARNING, "%s", self.warning)
        self._load_plain()

    def _try_encrypted(self) -> msal.SerializableTokenCache | None:
        if os.environ.get("VMSSDASH_PLAINTEXT_TOKEN_CACHE") == "1":
            return None
        try:
            import msal_extensions
        except ImportError:
            return None
        try:
            persistence = msal_extensions.build_encrypted_persistence(
                str(self.directory / ENCRYPTED_NAME)
            )
            cache: msal.SerializableTokenCache = msal_extensions.PersistedTokenCache(persistence)
            return cache
        except Exception as exc:  # libsecret/gi missing, no keyring on a headless box
            log.info("encrypted token cache unavailable: %s", type(exc).__name__)
            return None

    def _load_plain(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            return
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            # Written by something less careful; tighten rather than refuse, and say so.
            log.warning("token cache %s had mode %o; setting it to 600", self.path, mode)
            os.chmod(self.path, 0o600)
        with _file_lock(self.path):
            text = self.path.read_text(encoding="utf-8")
        if text.strip():
            try:
                self.cache.deserialize(text)
            except ValueError:
                log.warning("token cache %s is unreadable; starting empty", self.path)

    def save(self) -> None:
        """Write the cache if msal changed it (the encrypted cache saves itself)."""
        if not self.persist or self._encrypted or self.path is None:
            return
        with self._mutex:
            if not self.cache.has_state_changed:
                return
            data = self.cache.serialize()
            paths.ensure_private_dir(self.directory)
            with _file_lock(self.path):
                fd, tmp = tempfile.mkstemp(prefix=".msal-", dir=self.directory)  # 0600
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        fh.write(data)
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            self.cache.has_state_changed = False

    def describe(self) -> dict[str, Any]:
        return {"status": self.status, "path": str(self.path) if self.path else None}


def clear_token_cache(directory: Path | None = None) -> list[Path]:
    """Delete every cache file vmssdash may have written; return what was removed."""
    base = directory if directory is not None else paths.token_cache_dir()
    removed: list[Path] = []
    for name in (PLAIN_NAME, ENCRYPTED_NAME):
        for candidate in (base / name, _lock_file(base / name)):
            try:
                candidate.unlink()
            except FileNotFoundError:
                continue
            removed.append(candidate)
    return removed


def _why_plaintext() -> str:
    """Name the fix: the ``keyring`` extra when msal-extensions is missing."""
    if importlib.util.find_spec("msal_extensions") is None:
        return "msal-extensions is not installed: pip install 'vmssdash[keyring]'"
    return "no OS keyring available"
