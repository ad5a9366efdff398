"""The bearer token as an ``httpx.Auth``: attach it, and on a 401 refresh it once and resend.

Living in the auth flow (as azure-core's ``BearerTokenCredentialPolicy`` does) keeps the
token out of the retry loop: a retried request asks the provider again (cached tokens are
free), and the refresh-after-401 is one resend of the same request, visible as one event.
The token only ever travels over TLS, except to a loopback host (the simulator).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncGenerator, Generator

import httpx

from vmssdash.azure.debuglog import redact_url
from vmssdash.azure.errors import ArmError, AuthFailedError, InsecureTransportError
from vmssdash.azure.events import ClientEvent, EventSink
from vmssdash.azure.tokens import TokenProvider


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: the only places a token may go without TLS."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerTokenAuth(httpx.Auth):
    def __init__(self, provider: TokenProvider, emit: EventSink) -> None:
        self.provider = provider
        self.emit = emit

    async def _authorize(self, request: httpx.Request, *, force: bool) -> None:
        try:
            token = await self.provider.get_token(force_refresh=force)
        except ArmError:
            raise
        except Exception as exc:
            raise AuthFailedError(f"could not get a token: {exc}") from exc
        if not token:
            request.headers.pop("Authorization", None)
            return
        url = request.url
        if url.scheme != "https" and not is_loopback_host(url.host):
            raise InsecureTransportError(
                f"refusing to send a bearer token over plain http to {url.host}; "
                "use https (plain http is allowed only to loopback); nothing was sent",
                method=request.method,
                url=redact_url(url),
                client_request_id=request.headers.get("x-ms-client-request-id"),
            )
        request.headers["Authorization"] = f"Bearer {token}"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await self._authorize(request, force=False)
        response = yield request
        if response.status_code != 401:
            return
        # One forced refresh and one resend; a second 401 is final.
        self.emit(
            ClientEvent(
                "retry",
                "HTTP 401: token rejected; refreshing it and retrying once",
                method=request.method,
                url=str(request.url),
                status=401,
                wait=0.0,
                request_id=response.headers.get("x-ms-request-id"),
            )
        )
        # A copy with a new id: ARM logs each attempt under its own client request id.
        again = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        again.headers["x-ms-client-request-id"] = str(uuid.uuid4())
        await self._authorize(again, force=True)
        yield again

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("BearerTokenAuth works with httpx.AsyncClient only")
