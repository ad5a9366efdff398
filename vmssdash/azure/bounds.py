"""Limits on what one response may cost us: bytes, seconds and pages.

httpx's ``timeout`` applies per read, so a body trickled one byte every few seconds is
waited on forever, and nothing stops a 3 GB body or an endless chain of fresh
``nextLink``s. These bounds are enforced while the bytes arrive; each one that trips
raises a ``BoundExceededError`` subclass naming the URL and the bound.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from vmssdash.azure.debuglog import redact_url
from vmssdash.azure.errors import (
    BadResponseError,
    RequestDeadlineError,
    ResponseTooLargeError,
    UnexpectedAnswerError,
)

MB = 1024 * 1024


@dataclass(frozen=True)
class RequestLimits:
    """Per-request bounds for ``ArmClient`` (all configurable)."""

    #: The largest body we read (decoded). A 1,000-VM page with instance views is ~2 MB.
    max_body_bytes: int = 64 * MB
    #: One attempt, from connect to the last byte of the body.
    deadline: float = 120.0
    #: Pages per list when nothing better is known (``ScaleSetApi`` derives a tighter
    #: bound from the scale set's capacity).
    max_pages: int = 2000


def pages_for(capacity: int) -> int:
    """A page bound for a list of ``capacity`` items: one item per page would still
    fit twice over (the set may grow while we list it), plus slack for empty pages."""
    return max(capacity, 0) * 2 + 20


def _too_large(response: httpx.Response, limit: int, seen: int | None) -> ResponseTooLargeError:
    request = response.request
    what = f"{seen:,} bytes so far" if seen is not None else "a declared Content-Length"
    return ResponseTooLargeError(
        f"the response to {request.method} {redact_url(request.url)} exceeds the body limit "
        f"max_body_bytes={limit:,} ({what}); stopped reading",
        bound="max_body_bytes",
        status=response.status_code,
        request_id=response.headers.get("x-ms-request-id"),
        client_request_id=request.headers.get("x-ms-client-request-id"),
        method=request.method,
        url=str(request.url),
    )


async def read_bounded(response: httpx.Response, limit: int) -> httpx.Response:
    """Read a streamed response's body, at most ``limit`` decoded bytes, into a new,
    fully-read ``httpx.Response`` (the caller closes the streamed one)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(response, limit, None)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise _too_large(response, limit, len(body))
    # The body is decoded already: drop the headers that describe the encoded form.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body),
        request=response.request,
        extensions=response.extensions,
    )


async def send_bounded(
    http: httpx.AsyncClient, request: httpx.Request, limits: RequestLimits
) -> httpx.Response:
    """Send and read the whole body within the deadline and the size bound."""
    scope = asyncio.timeout(limits.deadline)
    try:
        async with scope:
            streamed = await http.send(request, stream=True)
            try:
                return await read_bounded(streamed, limits.max_body_bytes)
            finally:
                await streamed.aclose()
    except TimeoutError:
        if not scope.expired():
            raise
        raise RequestDeadlineError(
            f"{request.method} {redact_url(request.url)} did not complete within the "
            f"deadline={limits.deadline:g} s (connect, headers and body); gave up",
            bound="deadline",
            method=request.method,
            url=str(request.url),
            client_request_id=request.headers.get("x-ms-client-request-id"),
        ) from None
    except httpx.TransportError:
        raise
    except httpx.InvalidURL:
        # httpx parses a redirect's Location even when it will not follow it.
        raise UnexpectedAnswerError(
            f"{request.method} {redact_url(request.url)} was answered with a redirect to an "
            "unusable URL; not taken as success",
            method=request.method,
            url=str(request.url),
            client_request_id=request.headers.get("x-ms-client-request-id"),
        ) from None
    except httpx.HTTPError as exc:
        # Not a network failure but an unreadable answer (e.g. a corrupt gzip body).
        raise BadResponseError(
            f"unreadable response to {request.method} {redact_url(request.url)}: "
            f"{exc or type(exc).__name__}",
            method=request.method,
            url=str(request.url),
            client_request_id=request.headers.get("x-ms-client-request-id"),
        ) from exc
