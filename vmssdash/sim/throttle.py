"""Compute's throttling: per-operation policies with 3- and 30-minute windows.

Every ARM request belongs to an operation class, which charges a fixed set of
``Microsoft.Compute/<policy>`` counters (the sets recorded from real traffic, reference
§8.2) plus ARM's per-subscription reads/writes/deletes budget. The remaining counts go
out in ``x-ms-ratelimit-remaining-*`` headers on every response; when a counter is spent
the request is answered 429 with ``Retry-After`` (seconds until that window rolls over)
and Compute's ``OperationNotAllowed`` / ``TooManyRequests`` body.

Windows are fixed (aligned to multiples of their length since the clock's epoch) and
measured on the simulated clock, so tests drive them with ``/_sim/clock/advance``.
Limits are approximate (the real ones vary per subscription) and configurable.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vmssdash.sim.errors import SimError

#: policy -> (default limit, window seconds)
POLICIES: dict[str, tuple[int, float]] = {
    "GetVMScaleSet3Min": (400, 180),
    "GetVMScaleSet30Min": (2600, 1800),
    "HighCostGetVMScaleSet3Min": (180, 180),
    "HighCostGetVMScaleSet30Min": (900, 1800),
    "GetVMScaleSetVM3Min": (1000, 180),
    "GetVMScaleSetVM30Min": (5000, 1800),
    "VMScaleSetVMViews3Min": (5000, 180),
    "CreateVMScaleSet3Min": (60, 180),
    "CreateVMScaleSet30Min": (300, 1800),
    "DeleteVMScaleSet3Min": (80, 180),
    "DeleteVMScaleSet30Min": (400, 1800),
    "VMScaleSetActions3Min": (240, 180),
    "VMScaleSetActions30Min": (1200, 1800),
    "VMScaleSetVMActions3Min": (200, 180),
    "VMScaleSetVMActions30Min": (1000, 1800),
    "DeleteVMScaleSetVM3Min": (240, 180),
    "DeleteVMScaleSetVM30Min": (1200, 1800),
    "VMScaleSetBatchedVMRequests5Min": (1200, 300),
    "VmssQueuedVMOperations": (4800, 1800),
    # The VM API's (Flexible members are plain VMs): List is high cost, Get low cost.
    "HighCostGet3Min": (300, 180),
    "HighCostGet30Min": (1500, 1800),
    "LowCostGet3Min": (4000, 180),
    "LowCostGet30Min": (32000, 1800),
    "GetOperation3Min": (15000, 180),
    "GetOperation30Min": (30000, 1800),
}

#: operation class -> policies charged (in header order)
CLASSES: dict[str, tuple[str, ...]] = {
    "vmss_get": ("GetVMScaleSet3Min", "GetVMScaleSet30Min"),
    "vmss_list": ("HighCostGetVMScaleSet3Min", "HighCostGetVMScaleSet30Min"),
    "vm_list": ("HighCostGetVMScaleSet3Min", "HighCostGetVMScaleSet30Min"),
    "vm_get": ("GetVMScaleSetVM3Min", "GetVMScaleSetVM30Min", "VMScaleSetVMViews3Min"),
    "vmss_write": (
        "CreateVMScaleSet3Min",
        "CreateVMScaleSet30Min",
        "VMScaleSetBatchedVMRequests5Min",
        "VmssQueuedVMOperations",
    ),
    "vmss_delete": (
        "DeleteVMScaleSet3Min",
        "DeleteVMScaleSet30Min",
        "VMScaleSetBatchedVMRequests5Min",
        "VmssQueuedVMOperations",
    ),
    "vmss_rolling": ("VMScaleSetActions3Min", "VMScaleSetActions30Min", "VmssQueuedVMOperations"),
    "vmss_action": (
        "VMScaleSetActions3Min",
        "VMScaleSetActions30Min",
        "VMScaleSetBatchedVMRequests5Min",
        "VmssQueuedVMOperations",
    ),
    "vm_action": (
        "VMScaleSetActions3Min",
        "VMScaleSetActions30Min",
        "VMScaleSetVMActions3Min",
        "VMScaleSetVMActions30Min",
        "VMScaleSetBatchedVMRequests5Min",
        "VmssQueuedVMOperations",
    ),
    "vm_delete": (
        "DeleteVMScaleSetVM3Min",
        "DeleteVMScaleSetVM30Min",
        "VMScaleSetBatchedVMRequests5Min",
        "VmssQueuedVMOperations",
    ),
    "operation": ("GetOperation3Min", "GetOperation30Min"),
    "vmapi_list": ("HighCostGet3Min", "HighCostGet30Min"),
    "vmapi_get": ("LowCostGet3Min", "LowCostGet30Min"),
    "arm": (),
}

#: ARM's legacy hourly per-subscription buckets
SUBSCRIPTION_LIMITS = {"reads": 12000, "writes": 1200, "deletes": 15000}


@dataclass
class ThrottleConfig:
    """``limits`` overrides per policy (or per ``reads``/``writes``/``deletes``);
    ``scale`` multiplies every default (e.g. 0.01 to see 429s quickly)."""

    enabled: bool = True
    scale: float = 1.0
    limits: dict[str, int] = field(default_factory=dict)

    def limit(self, policy: str) -> int:
        if policy in self.limits:
            return self.limits[policy]
        base = POLICIES[policy][0] if policy in POLICIES else SUBSCRIPTION_LIMITS[policy]
        return max(1, math.floor(base * self.scale))


@dataclass
class _Counter:
    window: int = -1
    used: int = 0


@dataclass
class Decision:
    """What to send back: headers always; ``error`` when the request is throttled."""

    headers: list[tuple[str, str]]
    error: SimError | None = None
    retry_after: float = 0.0


#: What other tools in the subscription call when they list VMs.
NEIGHBOUR_CLASS = "vm_list"


class Throttle:
    def __init__(self, config: ThrottleConfig | None = None) -> None:
        self.config = config or ThrottleConfig()
        self._counters: dict[tuple[str, str], _Counter] = {}
        #: subscription -> simulated time up to which neighbours' calls are charged
        self._neighbours_until: dict[str, float] = {}
        self.neighbour_calls = 0

    def reset(self) -> None:
        self._counters.clear()
        self._neighbours_until.clear()

    def _charge_neighbours(self, subscription: str, per_minute: float, now: float) -> None:
        """Neighbours' calls since the last request, each in the window of its own time;
        like any caller they are refused once a window is spent (and then not counted)."""
        key = subscription.lower()
        last = self._neighbours_until.setdefault(key, now)
        if per_minute <= 0 or now <= last:
            self._neighbours_until[key] = max(last, now)
            return
        gap = 60.0 / per_minute
        t = last + gap
        while t <= now:
            counters = [
                (p, self._counter(subscription, p, POLICIES[p][1], t))
                for p in CLASSES[NEIGHBOUR_CLASS]
            ]
            if all(c.used < self.config.limit(p) for p, c in counters):
                for _, c in counters:
                    c.used += 1
                self.neighbour_calls += 1
            t += gap
        self._neighbours_until[key] = t - gap

    def _counter(self, subscription: str, policy: str, window: float, now: float) -> _Counter:
        c = self._counters.setdefault((subscription.lower(), policy), _Counter())
        index = int(now // window)
        if c.window != index:
            c.window = index
            c.used = 0
        return c

    def charge(
        self,
        subscription: str,
        op_class: str,
        bucket: str,
        now: float,
        epoch: datetime,
        *,
        neighbours: float = 0.0,
    ) -> Decision:
        """Charge one request; ``bucket`` is ``reads`` | ``writes`` | ``deletes``;
        ``neighbours`` other tools' list calls per minute are charged first."""
        if not self.config.enabled:
            return Decision(headers=[])
        self._charge_neighbours(subscription, neighbours, now)
        policies = CLASSES[op_class]
        counters = []
        exhausted: tuple[str, _Counter, float] | None = None
        for policy in policies:
            window = POLICIES[policy][1]
            c = self._counter(subscription, policy, window, now)
            counters.append((policy, c))
            if exhausted is None and c.used >= self.config.limit(policy):
                exhausted = (policy, c, window)
        sub_counter = self._counter(subscription, bucket, 3600.0, now)
        sub_limit = self.config.limit(bucket)
        if exhausted is not None:
            policy, c, window = exhausted
            c.used += 1
            start = (now // window) * window
            retry = max(1.0, start + window - now)
            detail = {
                "operationGroup": policy,
                "startTime": _ts(epoch, start),
                "endTime": _ts(epoch, start + window),
                "allowedRequestCount": self.config.limit(policy),
                "measuredRequestCount": c.used,
            }
            err = SimError(
                429,
                "OperationNotAllowed",
                "The server rejected the request because too many requests have been "
                "received for this subscription.",
                details=[
                    {
                        "code": "TooManyRequests",
                        "target": policy,
                        "message": json.dumps(detail, separators=(",", ":")),
                    }
                ],
            )
            headers = [("x-ms-ratelimit-remaining-resource", f"Microsoft.Compute/{policy};0")]
            return Decision(headers=headers, error=err, retry_after=retry)
        if sub_counter.used >= sub_limit:
            sub_counter.used += 1
            start = (now // 3600.0) * 3600.0
            retry = max(1.0, start + 3600.0 - now)
            err = SimError(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of '{bucket[:-1]}' requests for subscription '{subscription}' exceeded "
                f"the limit of '{sub_limit}' for time interval '01:00:00'. Please try again "
                f"after '{math.ceil(retry)}' seconds.",
            )
            headers = [(f"x-ms-ratelimit-remaining-subscription-{bucket}", "0")]
            return Decision(headers=headers, error=err, retry_after=retry)
        for _, c in counters:
            c.used += 1
        sub_counter.used += 1
        headers = []
        if counters:
            headers.append(
                (
                    "x-ms-ratelimit-remaining-resource",
                    ",".join(
                        f"Microsoft.Compute/{p};{max(0, self.config.limit(p) - c.used)}"
                        for p, c in counters
                    ),
                )
            )
        headers.append(
            (
                f"x-ms-ratelimit-remaining-subscription-{bucket}",
                str(max(0, sub_limit - sub_counter.used)),
            )
        )
        return Decision(headers=headers)

    def snapshot(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (sub, policy), c in sorted(self._counters.items()):
            out.setdefault(sub, {})[policy] = c.used
        return out


def _ts(epoch: datetime, t: float) -> str:
    return (epoch + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"
