"""Typed ARM errors that read like one clear sentence.

The 2016 tools printed ``<Response [202]>``; we print the server's code and message, and
keep the request and correlation ids because support cases need them. Anything that goes
wrong between us and ARM ends up as an ``ArmError`` subclass, so callers catch one type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from vmssdash.azure.models.operations import ErrorDetail

if TYPE_CHECKING:
    from vmssdash.azure.models.operations import OperationStatus
    from vmssdash.azure.models.scaleset import ScaleSet


class ArmError(Exception):
    """An error from (or on the way to) Azure Resource Manager."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        target: str | None = None,
        details: Sequence[ErrorDetail] = (),
        request_id: str | None = None,
        correlation_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        client_request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.target = target
        self.details: list[ErrorDetail] = list(details)
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.method = method
        self.url = url
        self.retry_after = retry_after
        #: The ``x-ms-client-request-id`` we sent: ARM logs it, so it finds a call even
        #: when no answer (and so no ``x-ms-request-id``) came back.
        self.client_request_id = client_request_id

    def __str__(self) -> str:
        head = self.code or ""
        if self.status is not None:
            head = f"{head} (HTTP {self.status})" if head else f"HTTP {self.status}"
        text = " ".join(self.message.split())
        if self.details:
            codes = ", ".join(d.code or d.message or "?" for d in self.details[:3])
            text += f" [details: {codes}]"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        elif self.client_request_id:
            text += f" [client request id {self.client_request_id}]"
        return f"{head}: {text}" if head else text

    def describe(self) -> str:
        """Several lines for a details pane: everything a support case asks for."""
        lines = [str(self)]
        if self.method or self.url:
            lines.append(f"request: {self.method or ''} {self.url or ''}".rstrip())
        if self.target:
            lines.append(f"target: {self.target}")
        for detail in self.details:
            where = f" ({detail.target})" if detail.target else ""
            lines.append(f"  - {detail.code or '?'}{where}: {detail.message or ''}")
        if self.request_id:
            lines.append(f"x-ms-request-id: {self.request_id}")
        if self.correlation_id:
            lines.append(f"x-ms-correlation-request-id: {self.correlation_id}")
        if self.client_request_id:
            lines.append(f"x-ms-client-request-id: {self.client_request_id}")
        return "\n".join(lines)


class NotFoundError(ArmError):
    """404: the scale set, VM or operation does not exist (or we may not see it)."""


class ConflictError(ArmError):
    """409: e.g. another operation is in flight on the scale set."""


class PreconditionFailedError(ArmError):
    """412: the ETag we sent is stale; someone changed the scale set since we loaded it.

    ``yours`` is the model you edited (when known), ``theirs`` the server's current one
    (fetched right after the 412), so the UI can show a diff and let the user redo the edit.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.yours: ScaleSet | None = None
        self.theirs: ScaleSet | None = None
        self.patch: dict[str, Any] | None = None
        self.your_etag: str | None = None
        self.server_etag: str | None = None


class ThrottledError(ArmError):
    """429 that we did not (or no longer) retry; ``retry_after`` says how long to back off."""


class AuthFailedError(ArmError):
    """401/403: the token was rejected (even after a refresh) or RBAC denied the action."""


class OperationFailedError(ArmError):
    """A long-running operation ended ``Failed`` or ``Canceled``."""

    def __init__(
        self, message: str, *, operation: OperationStatus | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.operation = operation


class OperationTimeoutError(ArmError, TimeoutError):
    """We stopped waiting for a long-running operation; it continues on the server."""


class ArmConnectionError(ArmError):
    """ARM could not be reached: refused, reset, DNS, TLS or timeout."""


class ReadOnlyError(ArmError):
    """A write was attempted while the client is read-only; nothing was sent."""


class UntrustedHostError(ArmError):
    """A URL points outside the configured endpoint (or allowlist); nothing was sent.

    Async-operation and nextLink URLs come from the server; following one to another
    host would hand it our bearer token.
    """


class BadResponseError(ArmError):
    """A 2xx response whose body is not the JSON we need (gateway page, truncation)."""


class InvalidBodyError(BadResponseError):
    """A JSON body that does not fit the model; the message names the field path."""


class UnexpectedAnswerError(BadResponseError):
    """An answer ARM never gives to this request (a redirect, an HTML 200 to a write, a
    202 with nothing to follow): never taken as success."""


class InsecureTransportError(ArmError):
    """Refused to send a bearer token over plain http to a host that is not loopback."""


class BoundExceededError(BadResponseError):
    """A response broke one of our limits; ``bound`` names it (``max_body_bytes``,
    ``deadline``, ``max_pages``), so a hostile server cannot exhaust memory or time."""

    def __init__(self, message: str, *, bound: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.bound = bound


class ResponseTooLargeError(BoundExceededError):
    """The body grew past the size limit while it was being read."""


class RequestDeadlineError(BoundExceededError):
    """One attempt (connect, headers and the whole body) took longer than the deadline."""


class TooManyPagesError(BoundExceededError):
    """A list kept handing out new ``nextLink``s past the page limit."""


_EXPECTED: dict[str, str] = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected a string",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list",
    "datetime_parsing": "expected a date-time",
    "datetime_from_date_parsing": "expected a date-time",
    "datetime_type": "expected a date-time",
}


def _shown(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invalid_body(
    exc: ValidationError, what: str, response: httpx.Response | None = None
) -> InvalidBodyError:
    """The typed error for a body that does not fit ``what`` (field path included)."""
    request = response.request if response is not None else None
    where = f" from {request.url.path}" if request is not None else ""
    return InvalidBodyError(
        f"unreadable {what}{where}: {describe_validation(exc)}",
        status=response.status_code if response is not None else None,
        request_id=response.headers.get("x-ms-request-id") if response is not None else None,
        client_request_id=request.headers.get("x-ms-client-request-id") if request else None,
        method=request.method if request is not None else None,
        url=str(request.url) if request is not None else None,
    )


def describe_validation(exc: ValidationError, *, limit: int = 3) -> str:
    """``sku.capacity: expected an integer, got "lots"`` (wire names, first few errors)."""
    errors = exc.errors(include_url=False)
    parts: list[str] = []
    for err in errors[:limit]:
        path = ".".join(str(p) for p in err["loc"]) or "(the body)"
        kind = err["type"]
        if kind == "missing":
            parts.append(f"{path}: required but missing")
            continue
        expected = _EXPECTED.get(kind) or str(err["msg"])
        parts.append(f"{path}: {expected}, got {_shown(err.get('input'))}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def _known(status: int | None) -> bool:
    if status is None:
        return False
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True


_STATUS_TYPES: dict[int, type[ArmError]] = {
    401: AuthFailedError,
    403: AuthFailedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    429: ThrottledError,
}

_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def body_excerpt(text: str, limit: int = 160) -> str:
    """A short human excerpt of a non-JSON body (tags stripped, whitespace collapsed)."""
    title = _TITLE.search(text)
    if title and title.group(1).strip():
        text = title.group(1)
    else:
        text = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail_from(data: Any) -> ErrorDetail | None:
    """The ``{"error": {...}}`` envelope, or a bare ``{"code", "message"}`` (Compute 429)."""
    if not isinstance(data, dict):
        return None
    inner = data.get("error", data)
    if not isinstance(inner, dict) or not (inner.get("code") or inner.get("message")):
        return None
    try:
        return ErrorDetail.model_validate(inner)
    except ValidationError:
        return ErrorDetail(code=str(inner.get("code") or ""), message=str(inner.get("message")))


def error_from_response(response: httpx.Response, *, retry_after: float | None = None) -> ArmError:
    """Turn an error response into the right ``ArmError`` subclass."""
    request = response.request
    status = response.status_code
    cls = _STATUS_TYPES.get(status, ArmError)
    content_type = response.headers.get("content-type", "")
    text = response.text if response.content else ""
    detail: ErrorDetail | None = None
    if text.strip():
        try:
            detail = _detail_from(json.loads(text))
        except ValueError:
            detail = None
    phrase = HTTPStatus(status).phrase if _known(status) else "error"
    if detail is not None:
        message = detail.message or phrase
        code = detail.code
    elif text.strip():
        kind = content_type.split(";")[0].strip() or "no content type"
        message = (
            f"{phrase} from {request.url.host}; the body is not an ARM error ({kind}): "
            f"{body_excerpt(text)!r}"
        )
        code = None
    else:
        message = f"{phrase} from {request.url.host} (empty body)"
        code = None
    return cls(
        message,
        status=status,
        code=code,
        target=detail.target if detail else None,
        details=detail.details if detail else (),
        request_id=response.headers.get("x-ms-request-id"),
        correlation_id=response.headers.get("x-ms-correlation-request-id"),
        method=request.method,
        url=str(request.url),
        retry_after=retry_after,
    )
