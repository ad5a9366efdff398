"""Long-running operations, followed the way ARM specifies (reference §4.4).

Order: ``Azure-AsyncOperation`` (status body), else ``Location`` (202 = running), else for
PUT/PATCH the resource's ``provisioningState``. Polls wait ``Retry-After`` when the server
sends it, else an interval that starts short and grows to the client's ``poll_interval``.
Cancelling ``wait()`` (task cancellation or the timeout) stops *waiting*; the operation
goes on in Azure and this object can be polled again later.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from vmssdash.azure.delays import server_delay, until_text
from vmssdash.azure.errors import (
    BadResponseError,
    OperationFailedError,
    OperationTimeoutError,
    invalid_body,
)
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.models import ErrorDetail, OperationStatus

if TYPE_CHECKING:
    from vmssdash.azure.client import ArmClient

ProgressCallback = Callable[[OperationStatus], Awaitable[None] | None]

_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
_FIRST_INTERVAL = 1.0
_GROWTH = 1.5


def _status_word(value: str) -> str:
    return value.strip().lower()


class Operation:
    """One started long-running operation.

    ``mode`` is ``"async"`` (Azure-AsyncOperation), ``"location"``, ``"provisioning"``
    or ``"none"`` (finished in the first response).
    """

    def __init__(self, client: ArmClient, method: str, response: httpx.Response) -> None:
        self.client = client
        self.method = method
        self.response = response
        self.resource_url = str(response.request.url)
        self.result: dict[str, Any] | None = None
        self.polls = 0
        self._interval = min(_FIRST_INTERVAL, client.poll_interval)
        self._last_response = response
        headers = response.headers
        body = _json_or_none(response)
        self.status_url: str | None = headers.get("azure-asyncoperation")
        self.location_url: str | None = headers.get("location")
        if self.status_url:
            self.mode = "async"
        elif self.location_url and response.status_code in (201, 202):
            self.mode = "location"
        elif method in ("PUT", "PATCH") and _provisioning_state(body) not in (None, *_TERMINAL):
            self.mode = "provisioning"
        else:
            self.mode = "none"
        if self.mode == "none":
            state = _provisioning_state(body)
            final = state.capitalize() if state in ("failed", "canceled") else "Succeeded"
            self.status = OperationStatus(status=final)
            self.result = body if isinstance(body, dict) else None
        else:
            self.status = OperationStatus(status="InProgress")

    # ------------------------------------------------------------------ state

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        return _status_word(self.status.status) == "succeeded"

    @property
    def url(self) -> str | None:
        """The URL being polled (for the activity log and the journal)."""
        if self.mode == "async":
            return self.status_url
        if self.mode == "location":
            return self.location_url
        if self.mode == "provisioning":
            return self.resource_url
        return None

    # ------------------------------------------------------------------ polling

    async def poll(self) -> OperationStatus:
        """Poll once (no wait) and return the current status."""
        if self.done:
            return self.status
        self.polls += 1
        if self.mode == "async":
            assert self.status_url is not None
            response = await self.client.request("GET", self.status_url)
            status = _parse_status(response)
        elif self.mode == "location":
            assert self.location_url is not None
            response = await self.client.request("GET", self.location_url)
            status = OperationStatus(
                status="InProgress" if response.status_code == 202 else "Succeeded"
            )
        else:
            response = await self.client.request("GET", self.resource_url)
            body = _json_or_none(response)
            state = _provisioning_state(body)
            if state in _TERMINAL:
                status = OperationStatus(status=state.capitalize() if state else "Succeeded")
                self.result = body if isinstance(body, dict) else None
            else:
                status = OperationStatus(status=(state or "InProgress").capitalize())
        self._last_response = response
        self.status = status
        self.client._emit(
            ClientEvent(
                "lro",
                f"operation {_short(self.url)}: {status.status}",
                method="GET",
                url=self.url,
                status=response.status_code,
                request_id=response.headers.get("x-ms-request-id"),
            )
        )
        if (
            self.done
            and self.succeeded
            and self.mode == "async"
            and self.method in ("PUT", "PATCH")
        ):
            # The status body says nothing about the resource; fetch its final form.
            final = await self.client.request("GET", self.resource_url)
            body = _json_or_none(final)
            self.result = body if isinstance(body, dict) else None
        return status

    def next_delay(self) -> float:
        """Retry-After from the last response (clamped to [1 s, the client's cap]), else the
        adaptive interval. A longer ask is waited only up to the cap, and said out loud."""
        cap = self.client.retry_policy.max_retry_after
        asked = server_delay(self._last_response.headers, cap=cap)
        if asked is not None:
            if asked.capped:
                self.client._emit(
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
            return asked.wait
        delay = self._interval
        self._interval = min(self.client.poll_interval, self._interval * _GROWTH)
        return delay

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
        clock = self.client.clock
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
                await self.client.sleep(delay)
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
