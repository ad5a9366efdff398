"""The throttling budget: how many requests ARM says we have left.

Compute and ARM report remaining quota on every response (reference §8). The refresh loop
reads ``ArmClient.budget`` to slow itself down *before* Azure answers 429, and after a 429
to wait until the server's ``Retry-After`` has passed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from vmssdash.azure.delays import DEFAULT_MAX_DELAY, clamp_delay

RESOURCE_HEADER = "x-ms-ratelimit-remaining-resource"
SUBSCRIPTION_PREFIX = "x-ms-ratelimit-remaining-subscription-"
TENANT_PREFIX = "x-ms-ratelimit-remaining-tenant-"

#: (remaining at or below, slowdown factor): the refresh interval is multiplied by the factor.
_ABSOLUTE_STEPS: tuple[tuple[int, float], ...] = ((2, 8.0), (10, 4.0), (25, 2.0), (50, 1.5))
#: Same, by fraction of the highest remaining count seen for the policy (≈ its limit).
_FRACTION_STEPS: tuple[tuple[float, float], ...] = ((0.05, 8.0), (0.1, 4.0), (0.2, 2.0), (0.3, 1.5))


def parse_resource_header(values: list[str]) -> dict[str, int]:
    """``Microsoft.Compute/GetVMScaleSet3Min;396,...`` from every header occurrence."""
    out: dict[str, int] = {}
    for value in values:
        for item in value.split(","):
            policy, sep, remaining = item.strip().rpartition(";")
            if not sep or not policy:
                continue
            try:
                out[policy.strip()] = int(remaining.strip())
            except ValueError:
                continue
    return out


@dataclass
class ThrottleBudget:
    """Latest remaining counts, per Compute policy and per ARM subscription bucket."""

    clock: Callable[[], float] = time.monotonic
    resource: dict[str, int] = field(default_factory=dict)
    subscription: dict[str, int] = field(default_factory=dict)
    ceilings: dict[str, int] = field(default_factory=dict)
    throttled_until: float | None = None
    updated_at: float | None = None
    throttle_count: int = 0
    #: No 429 can block us for longer than this (``RetryPolicy.max_retry_after``).
    max_wait: float = DEFAULT_MAX_DELAY

    def update(self, headers: httpx.Headers) -> None:
        """Fold one response's rate-limit headers in (latest value per policy wins)."""
        found = parse_resource_header(headers.get_list(RESOURCE_HEADER))
        for name, value in headers.multi_items():
            lower = name.lower()
            for prefix, label in (
                (SUBSCRIPTION_PREFIX, "subscription-"),
                (TENANT_PREFIX, "tenant-"),
            ):
                if lower.startswith(prefix):
                    with contextlib.suppress(ValueError):
                        self.subscription[label + lower[len(prefix) :]] = int(value.strip())
        for policy, remaining in found.items():
            self.resource[policy] = remaining
        for key, remaining in [*found.items(), *self.subscription.items()]:
            self.ceilings[key] = max(self.ceilings.get(key, 0), remaining)
        if found or any(k.lower().startswith("x-ms-ratelimit") for k in headers):
            self.updated_at = self.clock()

    def note_throttled(self, retry_after: float | None) -> None:
        """A 429 arrived: nothing should be sent before ``retry_after`` seconds pass.

        The wait is clamped to [1 s, ``max_wait``]: a hostile ``Retry-After: 1e9`` must not
        park every loop that paces itself on this budget for thirty years.
        """
        self.throttle_count += 1
        wait = clamp_delay(5.0 if retry_after is None else retry_after, cap=self.max_wait)
        until = self.clock() + wait
        self.throttled_until = max(self.throttled_until or 0.0, until)

    def lowest(self) -> tuple[str, int] | None:
        """The policy (or subscription bucket) with the fewest requests left."""
        pools = [*self.resource.items(), *self.subscription.items()]
        if not pools:
            return None
        return min(pools, key=lambda item: item[1])

    @property
    def lowest_remaining(self) -> int | None:
        low = self.lowest()
        return low[1] if low else None

    def slowdown(self, policy: str = "") -> float:
        """Factor (≥ 1) by which a polling loop should stretch its interval right now."""
        factor = 1.0
        for key, remaining in [*self.resource.items(), *self.subscription.items()]:
            if policy not in key:
                continue
            for limit, step in _ABSOLUTE_STEPS:
                if remaining <= limit:
                    factor = max(factor, step)
                    break
            ceiling = self.ceilings.get(key, 0)
            if ceiling >= 100:
                fraction = remaining / ceiling
                for limit_f, step in _FRACTION_STEPS:
                    if fraction <= limit_f:
                        factor = max(factor, step)
                        break
        return factor

    def blocked_for(self) -> float:
        """Seconds until the last 429's ``Retry-After`` has passed (0 when clear)."""
        if self.throttled_until is None:
            return 0.0
        return max(0.0, self.throttled_until - self.clock())

    def suggested_interval(self, base: float, policy: str = "") -> float:
        """What a refresh loop with nominal interval ``base`` should wait now; with
        ``policy`` (``GetOperation``) only the budgets whose name holds it slow it down."""
        return max(base * self.slowdown(policy), self.blocked_for())

    @property
    def is_low(self) -> bool:
        return self.slowdown() > 1.0

    def summary(self) -> str:
        """Short status-bar text, e.g. ``HighCostGetVMScaleSet3Min 12 left``."""
        low = self.lowest()
        text = f"{low[0].rsplit('/', 1)[-1]} {low[1]} left" if low else "budget unknown"
        blocked = self.blocked_for()
        if blocked > 0:
            text += f", throttled {blocked:.0f}s"
        return text
