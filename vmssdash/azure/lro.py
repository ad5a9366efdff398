"""Long-running operations, followed the way ARM specifies (reference §4.4).

The polling strategy is chosen once, from the first response, as azure-core does:
``Azure-AsyncOperation`` (status body), else ``Location`` (202 = running), else for
PUT/PATCH the resource's ``provisioningState``. One wait loop serves them all; its delay
is the larger of the server's ``Retry-After`` (clamped to [1 s, the cap]) and what the
throttle budget suggests, else an interval that starts short and grows to
``poll_interval``. Cancelling ``wait()`` (task cancellation or the timeout) stops
*waiting*; the operation goes on in Azure and this object can be polled again later.

The operation knows nothing of ``ArmClient``: it gets a GET function, the client's
``Pacing`` and an ``emit`` callable, so lro and client do not import each other.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from vmssdash.azure.delays import DEFAULT_MAX_DELAY, server_delay, until_text
from vmssdash.azure.errors import (
    BadResponseError,
    OperationFailedError,
    OperationTimeoutError,
    invalid_body,
)
from vmssdash.azure.events import ClientEvent, EventSink, ignore_events
from vmssdash.azure.models.operations import ErrorDetail, OperationStatus
from vmssdash.azure.pacing import Pacing

ProgressCallback = Callable[[OperationStatus], Awaitable[None] | None]
#: GET one URL (host-checked, retried, typed errors): ``ArmClient.request("GET", url)``.
Get = Callable[[str], Awaitable[httpx.Response]]

_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
_FIRST_INTERVAL = 1.0
_GROWTH = 1.5


def _status_word(value: str) -> str:
    return value.strip().lower()


@dataclass(frozen=True)
class PollSettings:
    """What polling needs from the client that started the operation."""

    pacing: Pacing
    emit: EventSink = ignore_events
    poll_interval: float = 5.0
    max_delay: float = DEFAULT_MAX_DELAY


@dataclass
class _Step:
    """One poll's outcome: the status, the response it came from, and the final resource
    body when the strategy has one."""

    status: OperationStatus
    response: httpx.Response
    result: dict[str, Any] | None = None


class _Strategy:
    """How to learn an operation's state; chosen once from the first response."""

    mode = "none"
    url: str | None = None

    async def poll(self, get: Get) -> _Step:  # pragma: no cover - "none" never polls
        raise NotImplementedError


class _AsyncStatus(_Strategy):
    mode = "async"

    def __init__(self, url: str, resource_url: str, method: str) -> None:
        self.url = url
        self.resource_url = resource_url
        self.method = method

    async def poll(self, get: Get) -> _Step:
        response = await get(self.url or "")
        status = _parse_status(response)
        step = _Step(status, response)
        done = status.is_terminal and _status_word(status.status) == "succeeded"
        if done and self.method in ("PUT", "PATCH"):
            # The status body says nothing about the resource; fetch its final form.
            step.result = _object_or_none(await get(self.resource_url))
        return step


class _LocationPoll(_Strategy):
    mode = "location"

    def __init__(self, url: str) -> None:
        self.url = url

    async def poll(self, get: Get) -> _Step:
        response = await get(self.url or "")
        word = "InProgress" if response.status_code == 202 else "Succeeded"
        return _Step(OperationStatus(status=word), response)


class _ProvisioningPoll(_Strategy):
    mode = "provisioning"

    def __init__(self, url: str) -> None:
        self.url = url

    async def poll(self, get: Get) -> _Step:
        response = await get(self.url or "")
        body = _object_or_none(response)
        state = _provisioning_state(body)
        if state in _TERMINAL:
            return _Step(OperationStatus(status=(state or "").capitalize()), response, body)
        return _Step(OperationStatus(status=(state or "InProgress").capitalize()), response)


def _strategy(method: str, response: httpx.Response, body: Any) -> _Strategy:
    headers = response.headers
    status_url = headers.get("azure-asyncoperation")
    location_url = headers.get("location")
    resource_url = str(response.request.url)
    if status_url:
        return _AsyncStatus(status_url, resource_url, method)
    if location_url and response.status_code in (201, 202):
        return _LocationPoll(location_url)
    if method in ("PUT", "PATCH") and _provisioning_state(body) not in (None, *_TERMINAL):
        return _ProvisioningPoll(resource_url)
    return _Strategy()


class Operation:
    """One started long-running operation.

    ``mode`` is ``"async"`` (Azure-AsyncOperation), ``"location"``, ``"provisioning"``
    or ``"none"`` (finished in the first response).
    """

    def __init__(
        self, get: Get, method: str, response: httpx.Response, settings: PollSettings
    ) -> None:
        self._get = get
        self.settings = settings
        self.method = method
        self.response = response
        self.resource_url = str(response.request.url)
        self.result: dict[str, Any] | None = None
        self.polls = 0
        self._interval = min(_FIRST_INTERVAL, settings.poll_interval)
        self._last_response = response
        body = _json_or_none(response)
        self.status_url: str | None = response.headers.get("azure-asyncoperation")
        self.location_url: str | None = response.headers.get("location")
        self._strategy = _strategy(method, response, body)
        if self.mode == "none":
            state = _provisioning_state(body)
            final = state.capitalize() if state in ("failed", "canceled") else "Succeeded"
            self.status = OperationStatus(status=final)
            self.result = body if isinstance(body, dict) else None
        else:
            self.status = OperationStatus(status="InProgress")

    # ------------------------------------------------------------------ state

    @property
    def mode(self) -> str:
        return self._strategy.mode

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        return _status_word(self.status.status) == "succeeded"

    @property
    def url(self) -> str | None:
        """The URL being polled (for the activity log and the journal)."""
        return self._strategy.url

    # ------------------------------------------------------------------ polling

    async def poll(self) -> OperationStatus:
        """Poll once (no wait) and return the current status."""
        if self.done:
            return self.status
        self.polls += 1
        step = await self._strategy.poll(self._get)
        self._last_response = step.response
        self.status = step.status
        if step.result is not None:
            self.result = step.result
        self.settings.emit(
            ClientEvent(
                "lro",
                f"operation {_short(self.url)}: {step.status.status}",
                method="GET",
                url=self.url,
                status=step.response.status_code,
                request_id=step.response.headers.get("x-ms-request-id"),
            )
        )
        return step.status

    def next_delay(self) -> float:
        """The larger of the server's ask (clamped to [1 s, the cap]; a longer ask is said
        out loud) or our growing interval, and what the throttle budget suggests."""
        cap = self.settings.max_delay
        asked = server_delay(self._last_response.headers, cap=cap)
        if asked is not None:
            if asked.capped:
                self.settings.emit(
                    ClientEvent(
                        "throttle",
                        f"throttled until {until_text(asked.wait)}: operation {_short(self.url)} "
                        f"asked to wait {asked.asked:g} s, more than the {cap:g} s cap; "
                        f"polling again in {asked.wait:g} s",
                        url=self.url,
                        wait=asked.wait,
                        request_id=self._last_response.headers.get("x-ms-request-id"),
                    )
                )
            delay = asked.wait
        else:
            delay = self._interval
            self._interval = min(self.settings.poll_interval, self._interval * _GROWTH)
        suggested = self.settings.pacing.budget.suggested_interval(delay)
        return min(max(delay, suggested), max(cap, delay))

    async def wait(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - on the client clock, not wall time
        on_progress: ProgressCallback | None = None,
    ) -> OperationStatus:
        """Poll until terminal; raise ``OperationFailedError`` on Failed/Canceled.

        ``timeout`` (seconds, on the client's clock) raises ``OperationTimeoutError``;
        cancelling the awaiting task stops the wait. Neither cancels the operation.
        """
        clock = self.settings.pacing.clock
        deadline = clock() + timeout if timeout is not None else None
        first = True
        while not self.done:
            if not first:
                delay = self.next_delay()
                if deadline is not None:
                    remaining = deadline - clock()
                    if remaining <= 0:
                        raise self._timeout_error(timeout)
                    delay = min(delay, remaining)
                await self.settings.pacing.sleep(delay)
                if deadline is not None and clock() >= deadline:
                    raise self._timeout_error(timeout)
            first = False
            status = await self.poll()
            if on_progress is not None:
                outcome = on_progress(status)
                if inspect.isawaitable(outcome):
                    await outcome
        if not self.succeeded:
            raise self._failure()
        return self.status

    # ------------------------------------------------------------------ errors

    def _timeout_error(self, timeout: float | None) -> OperationTimeoutError:
        return OperationTimeoutError(
            f"gave up waiting after {timeout:g}s; the operation is still {self.status.status} "
            f"in Azure ({_short(self.url)})",
            method=self.method,
            url=self.url,
        )

    def _failure(self) -> OperationFailedError:
        error = self.status.error or ErrorDetail()
        word = self.status.status
        message = error.message or f"the operation ended {word} without an error message"
        request = self.response.request
        return OperationFailedError(
            f"operation {word}: {message}",
            operation=self.status,
            code=error.code or word,
            target=error.target,
            details=error.details,
            request_id=self.response.headers.get("x-ms-request-id"),
            correlation_id=self.response.headers.get("x-ms-correlation-request-id"),
            method=request.method,
            url=str(request.url),
        )


def _short(url: str | None) -> str:
    if not url:
        return "-"
    path = httpx.URL(url).path
    return path.rsplit("/", 1)[-1] or path


def _object_or_none(response: httpx.Response) -> dict[str, Any] | None:
    body = _json_or_none(response)
    return body if isinstance(body, dict) else None


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _provisioning_state(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    props = body.get("properties")
    if not isinstance(props, dict):
        return None
    state = props.get("provisioningState")
    return state.lower() if isinstance(state, str) else None


def _parse_status(response: httpx.Response) -> OperationStatus:
    body = _json_or_none(response)
    if not isinstance(body, dict) or "status" not in body:
        raise BadResponseError(
            f"the operation status at {response.request.url.path} has no 'status'",
            status=response.status_code,
            request_id=response.headers.get("x-ms-request-id"),
            method="GET",
            url=str(response.request.url),
        )
    try:
        return OperationStatus.model_validate(body)
    except ValidationError as exc:
        raise invalid_body(exc, "operation status", response) from None
