"""Which answers ARM gives, so that anything else is an error and never "Succeeded".

A captive portal, a misrouted proxy or a broken gateway can answer a write with a redirect
or a 200 HTML page. Taken at face value, the operation would count as done while nothing
reached Azure. Statuses per method are the spec's (reference §3): a write's 2xx must carry
JSON or nothing, and a 202 must say where to follow the operation.
"""

from __future__ import annotations

import httpx
import pydantic_core

from vmssdash.azure.debuglog import redact_url
from vmssdash.azure.errors import UnexpectedAnswerError

_WRITE_STATUSES: dict[str, frozenset[int]] = {
    "POST": frozenset({200, 202, 204}),
    "PUT": frozenset({200, 201, 202}),
    "PATCH": frozenset({200, 202}),
    "DELETE": frozenset({200, 202, 204}),
}
_FOLLOW_HEADERS = ("azure-asyncoperation", "location")


def _error(response: httpx.Response, why: str) -> UnexpectedAnswerError:
    request = response.request
    return UnexpectedAnswerError(
        f"{request.method} {redact_url(request.url)} was answered {why}; ARM does not send "
        "that, so it is not taken as success (nothing is assumed done)",
        status=response.status_code,
        request_id=response.headers.get("x-ms-request-id"),
        client_request_id=request.headers.get("x-ms-client-request-id"),
        method=request.method,
        url=str(request.url),
    )


def _target(where: str | None) -> str:
    if not where:
        return ""
    try:
        return f" to {redact_url(where)}"
    except (httpx.InvalidURL, ValueError, TypeError):
        return " to an unusable URL"


def check_answer(response: httpx.Response) -> None:
    """Raise ``UnexpectedAnswerError`` for a non-error answer ARM would not give."""
    status = response.status_code
    method = response.request.method.upper()
    if 300 <= status < 400:
        target = _target(response.headers.get("location"))
        raise _error(response, f"with a redirect (HTTP {status}{target})")
    allowed = _WRITE_STATUSES.get(method)
    if allowed is None:
        return
    if status not in allowed:
        raise _error(response, f"HTTP {status}, which is not an answer to {method}")
    if response.content:
        try:
            pydantic_core.from_json(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise _error(response, f"HTTP {status} with a body that is not JSON ({kind})") from None
    follow = any(response.headers.get(name) for name in _FOLLOW_HEADERS)
    if status == 202 and not follow:
        raise _error(response, "HTTP 202 without Azure-AsyncOperation or Location to follow")
    if method in ("PUT", "PATCH") and status in (200, 201) and not response.content and not follow:
        raise _error(response, f"HTTP {status} with neither the resource nor an operation")
