"""What a look at the scale set costs, and how much of Azure's read budget we may spend.

Compute meters reads per subscription and region in policies with 3- and 30-minute
windows (reference §8.2). A full VM list of a 1,000-VM set is 20 calls of the scarce
HighCostGetVMScaleSet policy; the aggregate instance view is one call of the plentiful
GetVMScaleSet policy; a per-VM view is one call of GetVMScaleSetVM. The planner keeps, per
policy, the times of our own calls and the last ``remaining`` count Azure reported, and
answers two questions for the observer: "may I send these calls now?" and "if not, how
long until I may?". It never lets our own calls exceed ``share`` of any window (the rest
belongs to autoscale, AKS, pipelines in the same subscription), and never sends a call
that the last reported remaining count says would be refused.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

PREFIX = "Microsoft.Compute/"


class ReadKind(Enum):
    """The reads the observer can choose from, with the Compute policies each one charges."""

    AGGREGATE = "aggregate instance view"
    MODEL = "scale set model"
    LIST = "VM list page"
    VM_VIEW = "per-VM instance view"

    @property
    def policies(self) -> tuple[str, ...]:
        return _CHARGES[self]


_CHARGES: dict[ReadKind, tuple[str, ...]] = {
    ReadKind.AGGREGATE: ("GetVMScaleSet3Min", "GetVMScaleSet30Min"),
    ReadKind.MODEL: ("GetVMScaleSet3Min", "GetVMScaleSet30Min"),
    ReadKind.LIST: ("HighCostGetVMScaleSet3Min", "HighCostGetVMScaleSet30Min"),
    ReadKind.VM_VIEW: ("GetVMScaleSetVM3Min", "GetVMScaleSetVM30Min", "VMScaleSetVMViews3Min"),
}

#: A Flexible set's members are plain VMs: their list and views charge the VM API's
#: policies (List is high cost, Get low cost), not the scale-set VM ones.
_FLEXIBLE_CHARGES: dict[ReadKind, tuple[str, ...]] = {
    ReadKind.LIST: ("HighCostGet3Min", "HighCostGet30Min"),
    ReadKind.VM_VIEW: ("LowCostGet3Min", "LowCostGet30Min"),
}

#: policy -> (limit, window seconds): the reference's figures (the lower where it gives
#: two), used until Azure's own ``remaining`` counts show a higher ceiling.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "GetVMScaleSet3Min": (200, 180.0),
    "GetVMScaleSet30Min": (1300, 1800.0),
    "HighCostGetVMScaleSet3Min": (180, 180.0),
    "HighCostGetVMScaleSet30Min": (900, 1800.0),
    "GetVMScaleSetVM3Min": (1000, 180.0),
    "GetVMScaleSetVM30Min": (5000, 1800.0),
    "VMScaleSetVMViews3Min": (5000, 180.0),
    "HighCostGet3Min": (300, 180.0),
    "HighCostGet30Min": (1500, 1800.0),
    "LowCostGet3Min": (4000, 180.0),
    "LowCostGet30Min": (32000, 1800.0),
}

#: Calls left unspent in every window whatever the share (others' calls race ours).
MIN_HEADROOM = 2
#: From this window length on, reads ahead of need keep to a pace (``on_pace``).
PACE_FROM = 1800.0


@dataclass
class PolicyWindow:
    """One policy's window: our own calls in it, and what Azure last said is left."""

    name: str
    limit: int
    window: float
    ours: deque[float] = field(default_factory=deque)
    remaining: int | None = None
    remaining_at: float = 0.0
    peak_share: float = 0.0
    #: Other callers' calls per second in this window, from successive remaining counts.
    others_rate: float = 0.0

    def _prune(self, now: float) -> None:
        while self.ours and self.ours[0] <= now - self.window:
            self.ours.popleft()

    def used(self, now: float) -> int:
        self._prune(now)
        return len(self.ours)

    def record(self, now: float, calls: int) -> None:
        self.ours.extend([now] * calls)
        self.peak_share = max(self.peak_share, self.used(now) / self.limit)

    def learn(self, remaining: int, now: float) -> None:
        """Azure's count after our call: the limit is at least what is left plus that call.

        What went between two counts and was not ours is others' (autoscale, AKS,
        pipelines): their rate is extrapolated, so a busy neighbour is not a surprise 429.
        """
        self.limit = max(self.limit, remaining + 1)
        previous, since = self.remaining, now - self.remaining_at
        if previous is not None and 0 < since < self.window and remaining <= previous:
            ours = sum(1 for t in self.ours if self.remaining_at < t <= now)
            rate = max(0, previous - remaining - ours) / since
            self.others_rate = 0.5 * self.others_rate + 0.5 * rate
        self.remaining = remaining
        self.remaining_at = now

    def _others_left(self, now: float) -> float:
        """Calls Azure will still take in this window, as far as we know."""
        if self.remaining is None or now - self.remaining_at >= self.window:
            return math.inf  # never told, or the window has rolled over since
        since = sum(1 for t in self.ours if t > self.remaining_at)
        theirs = self.others_rate * (now - self.remaining_at)
        return self.remaining - since - theirs - max(MIN_HEADROOM, self.limit // 50)

    def allowance(self, now: float, share: float) -> float:
        """How many more calls of this policy we may send right now."""
        own = math.floor(share * self.limit) - self.used(now)
        return max(0.0, min(float(own), self._others_left(now)))

    def wait_for(self, calls: int, now: float, share: float) -> float:
        """Seconds until ``calls`` more calls fit (0 when they fit now)."""
        if self.allowance(now, share) >= calls:
            return 0.0
        waits = [0.0]
        cap = math.floor(share * self.limit)
        over = self.used(now) + calls - cap
        if over > 0:
            if over > len(self.ours):
                return math.inf  # more calls than the share holds in a whole window
            waits.append(self.ours[over - 1] + self.window - now)
        if self._others_left(now) < calls:
            waits.append(self.remaining_at + self.window - now)
        return max(waits)

    def on_pace(self, now: float, share: float, calls: int, burst: int) -> bool:
        """Would ``calls`` more keep our spending under the pace line: ``burst`` calls at
        once, the rest of the share spread evenly over the window? A long upgrade that
        front-loaded its reads would spend 30 minutes of budget in 15 and leave the
        dashboard nothing for the other 15."""
        rate = self.steady_rate(share, burst)
        self._prune(now)
        spent = calls
        for t in reversed(self.ours):
            spent += 1
            if spent > burst + rate * (now - t):
                return False
        return spent <= burst + rate * self.window

    def steady_rate(self, share: float, burst: int) -> float:
        """Calls per second our share sustains for good with ``burst`` calls kept for
        bursts (the window holds both)."""
        return max(1.0, math.floor(share * self.limit) - burst) / self.window

    def share_used(self, now: float) -> float:
        """The fraction of the window spent, by us or (as Azure last said) by anyone."""
        ours = self.used(now) / self.limit
        if self.remaining is None or now - self.remaining_at >= self.window:
            return ours
        since = sum(1 for t in self.ours if t > self.remaining_at)
        return max(ours, 1 - (self.remaining - since) / self.limit)

    @property
    def label(self) -> str:
        """``HighCost 30 min`` for ``HighCostGetVMScaleSet30Min``."""
        base = self.name.replace("GetVMScaleSet", "").replace("VMScaleSet", "")
        span = "30 min" if self.window >= 1800 else f"{self.window / 60:g} min"
        base = base.removesuffix("30Min").removesuffix("3Min") or "Get"
        return f"{base} {span}"


@dataclass(frozen=True)
class Option:
    """One way to serve a need: ``calls`` reads of ``kind`` (and what it covers)."""

    kind: ReadKind
    calls: int
    what: str
    filter: str | None = None
    #: What the read is worth: VMs wanted now, plus a share of every other VM it renews
    #: (a full list also serves the dashboard's ageing cells).
    worth: float = 1.0


class ReadPlanner:
    """Per-policy windows, the share we may use, and the cheapest affordable option."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        share: float = 0.6,
        limits: Mapping[str, tuple[int, float]] | None = None,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("the read share must be in (0, 1]")
        self.clock = clock
        self.share = share
        self.windows = {
            name: PolicyWindow(name, limit, window)
            for name, (limit, window) in (limits or DEFAULT_LIMITS).items()
        }
        self.calls: dict[ReadKind, int] = dict.fromkeys(ReadKind, 0)
        #: The set is Flexible (the observer says so once it has read the model).
        self.flexible = False

    def policies_of(self, kind: ReadKind) -> tuple[str, ...]:
        """The policies ``kind`` charges for this set's orchestration mode."""
        return _FLEXIBLE_CHARGES.get(kind, kind.policies) if self.flexible else kind.policies

    def windows_of(self, kind: ReadKind) -> list[PolicyWindow]:
        return [self.windows[p] for p in self.policies_of(kind)]

    def record(self, kind: ReadKind, calls: int = 1) -> None:
        now = self.clock()
        self.calls[kind] += calls
        for w in self.windows_of(kind):
            w.record(now, calls)

    def learn(self, remaining: Mapping[str, int]) -> None:
        """Fold in the ``x-ms-ratelimit-remaining-resource`` counts of the latest response."""
        now = self.clock()
        for name, left in remaining.items():
            window = self.windows.get(name.removeprefix(PREFIX))
            if window is not None:
                window.learn(left, now)

    def allowance(self, kind: ReadKind, share: float | None = None) -> float:
        now = self.clock()
        return min(
            w.allowance(now, self.share if share is None else share) for w in self.windows_of(kind)
        )

    def wait_for(self, kind: ReadKind, calls: int, share: float | None = None) -> float:
        now = self.clock()
        s = self.share if share is None else share
        return max(w.wait_for(calls, now, s) for w in self.windows_of(kind))

    def on_pace(self, kind: ReadKind, calls: int, burst: int) -> bool:
        """``calls`` more reads of ``kind`` keep every long window on its pace line."""
        now = self.clock()
        return all(
            w.on_pace(now, self.share, calls, burst)
            for w in self.windows_of(kind)
            if w.window >= PACE_FROM
        )

    def pressure(self, option: Option, share: float | None = None) -> float:
        """The largest fraction of any policy's current allowance the option would take
        (over 1: it does not fit now)."""
        allowance = self.allowance(option.kind, share)
        return math.inf if allowance <= 0 else option.calls / allowance

    def choose(self, options: Iterable[Option], share: float | None = None) -> Option | None:
        """The affordable option that takes the smallest part of what is left of its
        budget for what it is worth (per-VM views for a few VMs, a list for many, or when
        the other cells are old too), or None when none fits."""
        fitting = [o for o in options if self.pressure(o, share) <= 1.0]
        return min(
            fitting,
            key=lambda o: (self.pressure(o, share) / max(o.worth, 1e-9), o.calls),
            default=None,
        )

    def tightest(self) -> PolicyWindow:
        """The window with the largest share of its limit spent by us right now."""
        now = self.clock()
        return max(self.windows.values(), key=lambda w: w.share_used(now))

    def summary(self) -> str:
        """``HighCost 3 min 12/108 · HighCost 30 min 40/540 · …`` (ours / our cap)."""
        now = self.clock()
        parts = []
        for w in self.windows.values():
            used = w.used(now)
            if used:
                parts.append(f"{w.label} {used}/{math.floor(self.share * w.limit)}")
        return " · ".join(parts) or "nothing spent"

    def peak_share(self) -> float:
        return max((w.peak_share for w in self.windows.values()), default=0.0)
