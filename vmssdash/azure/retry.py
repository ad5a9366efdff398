"""When to retry, and how long to wait first.

Rules (issue 4): 429/503 honour ``Retry-After`` (seconds or HTTP date) and
``retry-after-ms``; other 5xx, timeouts and connection errors back off exponentially with
jitter and a cap. Idempotent reads retry on all of those; a write (POST/PUT/PATCH/DELETE)
retries only when the failure proves the server did not process it: a 429/503 answer, or
a connection that was never established.
"""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass

import httpx

from vmssdash.azure.delays import DEFAULT_MAX_DELAY, parse_retry_after, server_delay
from vmssdash.azure.errors import ArmConnectionError
from vmssdash.azure.transport import SAFE_METHODS

__all__ = [
    "RetryDecision",
    "RetryPolicy",
    "connection_error",
    "decide",
    "is_tls_error",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Answers that prove the request was rejected before any processing.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
#: Transient answers worth retrying for reads.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Transport failures where no byte of the request reached the server.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


def is_tls_error(error: BaseException) -> bool:
    """True when a transport error is (caused by) a TLS failure, e.g. an untrusted cert."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Knobs for ``ArmClient``'s retry loop."""

    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: The cap on every server-requested wait (retries, the budget, operation polls). A
    #: server asking for longer is surfaced as ThrottledError (and a "throttled until"
    #: event) instead of freezing the dashboard; one 3-minute Compute window is waited.
    max_retry_after: float = DEFAULT_MAX_DELAY

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class RetryDecision:
    """Retry (after ``wait`` seconds) because of ``reason``."""

    wait: float
    reason: str


def decide(
    method: str,
    *,
    response: httpx.Response | None,
    error: BaseException | None,
    attempt: int,
    policy: RetryPolicy,
    rng: random.Random,
) -> RetryDecision | None:
    """Whether attempt number ``attempt`` (1-based) should be retried, and after how long."""
    if attempt >= policy.max_attempts:
        return None
    idempotent = method.upper() in IDEMPOTENT_METHODS
    if error is not None:
        if is_tls_error(error):
            return None  # a certificate problem does not fix itself
        if isinstance(error, NOT_SENT_ERRORS):
            kind = (
                "connect timeout" if isinstance(error, httpx.TimeoutException) else "cannot connect"
            )
            return RetryDecision(
                policy.backoff(attempt, rng), f"{kind}: {error or type(error).__name__}"
            )
        if idempotent and isinstance(error, httpx.TransportError):
            kind = "timeout" if isinstance(error, httpx.TimeoutException) else "connection error"
            return RetryDecision(
                policy.backoff(attempt, rng), f"{kind}: {error or type(error).__name__}"
            )
        return None
    if response is None:
        return None
    status = response.status_code
    if status not in TRANSIENT_STATUSES:
        return None
    if not idempotent and status not in NOT_PROCESSED_STATUSES:
        return None
    reason = f"HTTP {status} {response.reason_phrase}".strip()
    if status in NOT_PROCESSED_STATUSES:
        asked = server_delay(response.headers, cap=policy.max_retry_after)
        if asked is not None:
            if asked.capped:
                return None
            return RetryDecision(asked.wait, f"{reason}, Retry-After {asked.asked:g}s")
    return RetryDecision(policy.backoff(attempt, rng), reason)


def connection_error(
    method: str, url: httpx.URL, exc: httpx.TransportError, client_request_id: str | None
) -> ArmConnectionError:
    """A transport failure as one sentence; for a write whose fate is unknown, it says so."""
    where = f"{url.scheme}://{url.netloc.decode()}"
    if is_tls_error(exc):
        return ArmConnectionError(
            f"TLS handshake with {where} failed: {exc}; if the endpoint uses a private CA, "
            "pass its bundle (verify=/--ca-bundle)",
            method=method,
            url=str(url),
            client_request_id=client_request_id,
        )
    if isinstance(exc, httpx.ConnectTimeout):
        what = f"timed out connecting to {where}"
    elif isinstance(exc, httpx.TimeoutException):
        what = f"timed out waiting for {where}"
    elif isinstance(exc, httpx.ConnectError):
        what = f"cannot reach {where}"
    else:
        what = f"connection to {where} failed"
    detail = str(exc) or type(exc).__name__
    if method not in SAFE_METHODS and not isinstance(
        exc, (httpx.ConnectError, httpx.ConnectTimeout)
    ):
        detail += "; the request may or may not have been applied"
    return ArmConnectionError(
        f"{what}: {detail}", method=method, url=str(url), client_request_id=client_request_id
    )
