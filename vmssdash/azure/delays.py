"""Server-requested delays (``Retry-After`` and friends), read in exactly one place.

A server's word on how long to wait is advice from a party we do not control: a proxy can
send ``Retry-After: 1000000000``, ``inf``, ``-5`` or ``soon``. Every consumer (client
retries, the throttle budget, operation polling) goes through ``server_delay`` so the same
rules hold everywhere: garbage counts as no advice (and is logged), a wait is never shorter
than ``MIN_DELAY`` (``0`` must not turn into a tight loop) and never longer than the
configured cap (a longer ask is reported as ``capped``, for the caller to make visible).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

#: The longest a server may make us wait in one go (one 3-minute Compute window).
DEFAULT_MAX_DELAY = 180.0
#: The shortest wait a server's advice can produce: ``Retry-After: 0`` must not hammer.
MIN_DELAY = 1.0

_log = logging.getLogger("vmssdash.azure.delays")
_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")


def _seconds(name: str, text: str, scale: float, now: datetime | None) -> float | None:
    try:
        value = float(text) / scale
    except ValueError:
        value = None
    if value is None and scale == 1.0:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    if value is None or not math.isfinite(value) or value < 0:
        _log.info("ignoring unusable %s header %r (not a finite, non-negative delay)", name, text)
        return None
    return value


def parse_retry_after(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (uncapped), or None when it did not say anything
    usable. ``retry-after-ms`` wins over ``Retry-After`` (seconds or an HTTP date)."""
    for name in _MS_HEADERS:
        text = headers.get(name, "").strip()
        if text:
            value = _seconds(name, text, 1000.0, now)
            if value is not None:
                return value
    text = headers.get("retry-after", "").strip()
    return _seconds("Retry-After", text, 1.0, now) if text else None


@dataclass(frozen=True)
class ServerDelay:
    """What the server asked (``asked``) and what we will actually wait (``wait``)."""

    asked: float
    wait: float

    @property
    def capped(self) -> bool:
        return self.asked > self.wait


def clamp_delay(seconds: float, *, cap: float = DEFAULT_MAX_DELAY) -> float:
    """``seconds`` held inside [MIN_DELAY, cap] (a cap below the floor wins; NaN is the floor)."""
    if math.isnan(seconds):
        seconds = MIN_DELAY
    return min(max(seconds, MIN_DELAY), max(cap, 0.0))


def server_delay(
    headers: httpx.Headers, *, cap: float = DEFAULT_MAX_DELAY, now: datetime | None = None
) -> ServerDelay | None:
    """The server's delay advice, sanitised and clamped; None when it gave none."""
    asked = parse_retry_after(headers, now=now)
    if asked is None:
        return None
    return ServerDelay(asked=asked, wait=clamp_delay(asked, cap=cap))


def until_text(seconds: float) -> str:
    """Wall-clock time ``seconds`` from now, for a "throttled until …" message."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return when.strftime("%H:%M:%S UTC")
