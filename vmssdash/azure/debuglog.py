"""Opt-in debug log of every HTTP exchange, with secrets redacted.

One line per request: time, method, URL, status, request id, correlation id, duration and
attempt. Bodies are never written (a token response body is a credential), headers only
through ``redact_headers``, and query parameters that look like secrets are masked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import httpx

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-ms-authorization-auxiliary"}
)
SECRET_QUERY_KEYS = frozenset(
    {
        "sig",
        "signature",
        "token",
        "access_token",
        "refresh_token",
        "code",
        "client_secret",
        "password",
        "assertion",
        "client_assertion",
    }
)
REDACTED = "***"


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with credentials replaced (the auth scheme is kept for debugging)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        out.append((name, value))
    return out


def redact_url(url: httpx.URL | str) -> str:
    """The URL with secret-looking query values masked and any userinfo removed."""
    parsed = httpx.URL(str(url))
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    if not parsed.query:
        return str(parsed)
    pairs: list[tuple[str, str | int | float | bool | None]] = [
        (k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v)
        for k, v in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=httpx.QueryParams(pairs)))


class HttpDebugLog:
    """Appends one line per exchange to a file; safe to share between tasks and threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(
        self,
        request: httpx.Request,
        *,
        status: int | None,
        elapsed: float,
        attempt: int,
        response_headers: httpx.Headers | None = None,
        note: str = "",
    ) -> None:
        headers = response_headers or httpx.Headers()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        fields = [
            stamp,
            request.method,
            redact_url(request.url),
            str(status) if status is not None else "---",
            f"{elapsed * 1000:.0f}ms",
            f"attempt={attempt}",
            f"client-request-id={request.headers.get('x-ms-client-request-id', '-')}",
            f"request-id={headers.get('x-ms-request-id', '-')}",
            f"correlation-id={headers.get('x-ms-correlation-request-id', '-')}",
        ]
        if note:
            fields.append(note.replace("\n", " "))
        line = " ".join(fields) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
