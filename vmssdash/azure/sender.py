"""One logical ARM request: auth header, api-version, retries, throttling, logging, guards.

Everything that talks to ARM (or the simulator) goes through ``ArmSender.request``, so the
rules live in one place: never send the token to another host, never let a write out in
read-only mode, retry only what is safe to retry, and turn every failure into a typed
``ArmError`` with the server's own words.

``ArmClient`` (``client.py``) adds JSON reads, paging and long-running operations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from vmssdash.azure import versions
from vmssdash.azure.answers import check_answer
from vmssdash.azure.bearer import BearerTokenAuth
from vmssdash.azure.bounds import RequestLimits, send_bounded
from vmssdash.azure.debuglog import HttpDebugLog, redact_url
from vmssdash.azure.delays import server_delay, until_text
from vmssdash.azure.errors import (
    BadResponseError,
    ReadOnlyError,
    UntrustedHostError,
    error_from_response,
)
from vmssdash.azure.events import ClientEvent, EventSink, ignore_events
from vmssdash.azure.pacing import Pacing
from vmssdash.azure.retry import (
    RetryDecision,
    RetryPolicy,
    connection_error,
    decide,
    parse_retry_after,
)
from vmssdash.azure.throttle import ThrottleBudget
from vmssdash.azure.tokens import NoAuth, TokenProvider
from vmssdash.azure.transport import SAFE_METHODS, GuardTransport

if TYPE_CHECKING:
    from vmssdash.azure.clouds import Cloud
from vmssdash.azure.tls import build_ssl_context

Sleep = Callable[[float], Awaitable[None]]
#: Standard-library logging of each exchange (redacted URL, no headers, no bodies).
_wire_log = logging.getLogger("vmssdash.azure.http")
USER_AGENT = "vmssdash/0.1 (+httpx)"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), url.host.lower(), url.port)


def _parse_url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, or a ``BadResponseError`` (URLs come from server bodies)."""
    try:
        return httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        shown = text if len(text) <= 120 else text[:119] + "…"
        raise BadResponseError(f"not a usable URL: {shown!r}") from None


class ArmSender:
    """Async client for one ARM endpoint (a cloud's ARM URL or a simulator's base URL).

    Keyword-only extras beyond the shared contract: ``allowed_hosts`` (refuse any other
    host in the transport), ``debug_log`` (a file path), ``retry`` (a ``RetryPolicy``; its
    ``max_retry_after`` caps every server-requested wait), ``limits`` (body size, deadline
    and page bounds) and ``sleep``/``clock``/``rng`` so tests never really wait.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        token_provider: TokenProvider | None = None,
        read_only: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
        events: EventSink | None = None,
        poll_interval: float = 5.0,
        timeout: float = 30.0,
        allowed_hosts: Collection[str] | None = None,
        debug_log: str | Path | None = None,
        retry: RetryPolicy | None = None,
        limits: RequestLimits | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        base = httpx.URL(endpoint.rstrip("/") + "/")
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"not an http(s) endpoint URL: {endpoint!r}")
        self.endpoint = str(base).rstrip("/")
        self._base = base
        self.token_provider: TokenProvider = token_provider or NoAuth()
        self.read_only = read_only
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.retry_policy = retry or RetryPolicy()
        self.limits = limits or RequestLimits()
        self.events: EventSink = events or ignore_events
        self.sleep: Sleep = sleep or asyncio.sleep
        self.clock: Callable[[], float] = clock or time.monotonic
        self.rng = rng or random.Random()
        self.budget = ThrottleBudget(clock=self.clock, max_wait=self.retry_policy.max_retry_after)
        #: Clock, sleep and budget as one value for whoever paces itself on this client.
        self.pacing = Pacing(self.clock, self.sleep, self.budget)
        self.request_count = 0
        self._budget_low = False
        inner = transport or httpx.AsyncHTTPTransport(verify=build_ssl_context(verify), retries=0)
        self._guard = GuardTransport(inner, read_only=read_only, allowed_hosts=allowed_hosts)
        self._http = httpx.AsyncClient(
            transport=self._guard,
            auth=BearerTokenAuth(self.token_provider, self._emit),
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )
        self._log = HttpDebugLog(debug_log) if debug_log else None

    @classmethod
    def for_cloud(cls, cloud: Cloud, **kwargs: Any) -> Self:
        """A client for a cloud's ARM endpoint (public, China, US Gov, or a custom one)."""
        return cls(cloud.arm_endpoint, **kwargs)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._log is not None:
            self._log.close()

    @property
    def identity(self) -> str:
        return self.token_provider.identity

    # ------------------------------------------------------------------ URLs

    def url_for(self, path_or_url: str) -> httpx.URL:
        """Absolute URL for a path, refusing absolute URLs on another origin."""
        if path_or_url.startswith(("http://", "https://")):
            url = _parse_url(path_or_url)
            if _origin(url) != _origin(self._base):
                raise UntrustedHostError(
                    f"refusing to follow {url.scheme}://{url.netloc.decode()} "
                    f"(not the configured endpoint {self.endpoint}); nothing was sent",
                    url=redact_url(url),
                )
            return url
        return _parse_url(self.endpoint + "/" + path_or_url.lstrip("/"))

    def _params(
        self, url: httpx.URL, params: Mapping[str, Any] | None, api_version: str | None
    ) -> httpx.URL:
        merged = url
        if params:
            merged = merged.copy_merge_params({k: v for k, v in params.items() if v is not None})
        if "api-version" not in merged.params:
            merged = merged.copy_add_param(
                "api-version", api_version or versions.api_version_for(url.path)
            )
        return merged

    # ------------------------------------------------------------------ events

    def _emit(self, event: ClientEvent) -> None:
        with contextlib.suppress(Exception):
            self.events(event)

    # ------------------------------------------------------------------ core request

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        api_version: str | None = None,
    ) -> httpx.Response:
        """Send one logical request (with retries); raise an ``ArmError`` on any failure."""
        method = method.upper()
        url = self._params(self.url_for(path_or_url), params, api_version)
        if self.read_only and method not in SAFE_METHODS:
            # The transport would refuse too; failing here also skips the token fetch.
            raise ReadOnlyError(
                f"read-only mode: refused to send {method} {url.path}", method=method, url=str(url)
            )
        state = _CallState()

        async def attempt() -> httpx.Response:
            return await self._attempt(method, url, json, headers, state)

        def should_retry(rs: RetryCallState) -> bool:
            outcome = rs.outcome
            assert outcome is not None
            error = outcome.exception()
            if error is not None and not isinstance(error, httpx.TransportError):
                return False
            response = None if error is not None else outcome.result()
            state.decision = decide(
                method,
                response=response,
                error=error,
                attempt=rs.attempt_number,
                policy=self.retry_policy,
                rng=self.rng,
            )
            if response is not None and response.status_code == 429:
                self._note_throttled(method, url, response)
            return state.decision is not None

        def wait(rs: RetryCallState) -> float:
            return state.decision.wait if state.decision else 0.0

        def before_sleep(rs: RetryCallState) -> None:
            decision = state.decision
            if decision is None:
                return
            response = _result_or_none(rs)
            self._emit_retry(method, url, decision, rs.attempt_number, response)

        def give_up(rs: RetryCallState) -> httpx.Response:
            assert rs.outcome is not None
            result: httpx.Response = rs.outcome.result()
            return result

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.retry_policy.max_attempts)),
            retry=should_retry,
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(attempt)
        except httpx.TransportError as exc:
            conn_error = connection_error(method, url, exc, state.client_request_id)
            self._emit(ClientEvent("error", str(conn_error), method=method, url=str(url)))
            raise conn_error from exc
        if response.status_code >= 400:
            error = error_from_response(response, retry_after=parse_retry_after(response.headers))
            self._emit(
                ClientEvent(
                    "error",
                    str(error),
                    method=method,
                    url=str(url),
                    status=response.status_code,
                    request_id=error.request_id,
                )
            )
            raise error
        check_answer(response)
        return response

    def _note_throttled(self, method: str, url: httpx.URL, response: httpx.Response) -> None:
        """Record a 429 in the budget (clamped); a wait beyond the cap is said out loud."""
        cap = self.retry_policy.max_retry_after
        delay = server_delay(response.headers, cap=cap)
        self.budget.note_throttled(delay.wait if delay else None)
        if delay is not None and delay.capped:
            self._emit(
                ClientEvent(
                    "throttle",
                    f"throttled until {until_text(delay.wait)}: {method} {url.path} was asked "
                    f"to wait {delay.asked:g} s, more than the {cap:g} s cap; giving up on it",
                    method=method,
                    url=str(url),
                    status=response.status_code,
                    wait=delay.wait,
                    request_id=response.headers.get("x-ms-request-id"),
                )
            )

    async def _attempt(
        self,
        method: str,
        url: httpx.URL,
        json: Any,
        headers: Mapping[str, str] | None,
        state: _CallState,
    ) -> httpx.Response:
        state.attempts += 1
        state.client_request_id = str(uuid.uuid4())
        return await self._send(method, url, json, headers, state.attempts, state.client_request_id)

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        json: Any,
        headers: Mapping[str, str] | None,
        attempt: int,
        client_request_id: str,
    ) -> httpx.Response:
        req_headers = dict(headers or {})
        # One id per HTTP attempt, echoed by ARM: lets a support case find this exact call.
        req_headers.setdefault("x-ms-client-request-id", client_request_id)
        request = self._http.build_request(method, url, json=json, headers=req_headers)
        started = time.perf_counter()
        self.request_count += 1
        try:
            response = await send_bounded(self._http, request, self.limits)
        except httpx.TransportError as exc:
            elapsed = time.perf_counter() - started
            if self._log:
                self._log.write(
                    request, status=None, elapsed=elapsed, attempt=attempt, note=type(exc).__name__
                )
            raise
        elapsed = time.perf_counter() - started
        self.budget.update(response.headers)
        if _wire_log.isEnabledFor(logging.DEBUG):
            _wire_log.debug(
                "%s %s -> %s (%.0f ms) request-id=%s",
                method,
                redact_url(url),
                response.status_code,
                elapsed * 1000,
                response.headers.get("x-ms-request-id", "-"),
            )
        if self._log:
            self._log.write(
                request,
                status=response.status_code,
                elapsed=elapsed,
                attempt=attempt,
                response_headers=response.headers,
            )
        self._emit(
            ClientEvent(
                "request",
                f"{method} {url.path} → {response.status_code} ({elapsed * 1000:.0f} ms)",
                method=method,
                url=str(url),
                status=response.status_code,
                request_id=response.headers.get("x-ms-request-id"),
            )
        )
        low = self.budget.is_low
        if low and not self._budget_low:
            self._emit(
                ClientEvent("throttle", f"ARM request budget is low: {self.budget.summary()}")
            )
        self._budget_low = low
        return response

    def _emit_retry(
        self,
        method: str,
        url: httpx.URL,
        decision: RetryDecision,
        attempt: int,
        response: httpx.Response | None,
    ) -> None:
        throttled = response is not None and response.status_code == 429
        self._emit(
            ClientEvent(
                "retry",
                f"{'throttled' if throttled else 'retrying'} {method} {url.path}: "
                f"{decision.reason}; waiting {decision.wait:.1f}s "
                f"(attempt {attempt + 1}/{self.retry_policy.max_attempts})",
                method=method,
                url=str(url),
                status=response.status_code if response is not None else None,
                wait=decision.wait,
                request_id=response.headers.get("x-ms-request-id")
                if response is not None
                else None,
            )
        )


class _CallState:
    """Per-logical-request bookkeeping shared by the retry callbacks."""

    __slots__ = ("attempts", "client_request_id", "decision")

    def __init__(self) -> None:
        self.attempts = 0
        self.client_request_id: str | None = None
        self.decision: RetryDecision | None = None


def _result_or_none(rs: RetryCallState) -> httpx.Response | None:
    outcome = rs.outcome
    if outcome is None or outcome.exception() is not None:
        return None
    result: httpx.Response = outcome.result()
    return result
