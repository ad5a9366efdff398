"""TLS verification as httpx wants it, with CA bundles loaded once per process."""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import httpx


def build_ssl_context(verify: bool | str | Path) -> ssl.SSLContext | bool:
    """``verify`` as httpx 0.28 wants it: a CA bundle path becomes an SSLContext.

    Contexts are cached per process: loading a CA bundle costs ~20 ms, and the app makes
    several short-lived clients (picker, preflight, dashboard).
    """
    if verify is False:
        return False
    if verify is True:
        return _context(None)
    return _context(str(Path(verify).resolve()))


@functools.lru_cache(maxsize=8)
def _context(path: str | None) -> ssl.SSLContext:
    if path is None:
        return httpx.create_ssl_context()
    if Path(path).is_dir():
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)
