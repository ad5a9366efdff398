"""Transport-level guards: read-only mode and the host allowlist.

These sit *under* httpx.AsyncClient, around the real transport, so that no code path in
the client (or a future one) can get a write or a foreign-host request onto the wire:
the check runs on the final ``httpx.Request`` just before bytes would be sent.
"""

from __future__ import annotations

from collections.abc import Collection

import httpx

from vmssdash.azure.errors import ReadOnlyError, UntrustedHostError

SAFE_METHODS = frozenset({"GET", "HEAD"})


def host_key(url: httpx.URL) -> str:
    """``host`` or ``host:port`` (default ports omitted) for allowlist comparison."""
    return f"{url.host}:{url.port}" if url.port else url.host


class GuardTransport(httpx.AsyncBaseTransport):
    """Refuse writes when read-only and any host outside ``allowed_hosts``.

    ``allowed_hosts`` entries are ``host`` (any port) or ``host:port``.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        read_only: bool = False,
        allowed_hosts: Collection[str] | None = None,
    ) -> None:
        self.inner = inner
        self.read_only = read_only
        self.allowed_hosts = (
            frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        )

    def check(self, request: httpx.Request) -> None:
        """Raise (before anything is sent) if this request must not leave the process."""
        method = request.method.upper()
        if self.read_only and method not in SAFE_METHODS:
            raise ReadOnlyError(
                f"read-only mode: refused to send {method} {request.url.path}",
                method=method,
                url=str(request.url),
            )
        if self.allowed_hosts is not None:
            host = request.url.host.lower()
            if (
                host not in self.allowed_hosts
                and host_key(request.url).lower() not in self.allowed_hosts
            ):
                raise UntrustedHostError(
                    f"host {host_key(request.url)} is not in the allowed hosts "
                    f"({', '.join(sorted(self.allowed_hosts))}); nothing was sent",
                    method=method,
                    url=str(request.url),
                )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.check(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
