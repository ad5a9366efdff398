"""Turn a ``ScaleSetApi`` into a stream of snapshots at a pace ARM tolerates.

The poller owns no timer: the UI re-arms one after each refresh with ``next_interval()``,
so two refreshes of one scale set can never overlap. The interval shrinks while VMs are
changing (an upgrade is worth watching closely), grows while nothing moves, grows after
errors, and stretches when the ARM read budget runs low (a 429 costs more than a late
repaint).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from vmssdash.azure.models import ScaleSet, ScaleSetVM
from vmssdash.core.snapshot import ScaleSetSnapshot

# Reads left in the budget below which polling slows down, and the factor it slows by.
LOW_BUDGET = 200
CRITICAL_BUDGET = 50
GROWTH = 1.5


class PollableApi(Protocol):
    """The part of ``ScaleSetApi`` the poller needs (lets tests pass a fake)."""

    async def get(self) -> ScaleSet: ...

    async def list_vms(
        self, *, on_page: Any = None, filter: str | None = None
    ) -> list[ScaleSetVM]: ...


def _budget_reads_left(api: object) -> int | None:
    """Best-effort read of the client's throttle budget, whatever shape it has.

    The budget object belongs to the client; the poller only needs "how many reads are
    left", so it accepts an int attribute or a zero-argument method under a few names.
    """
    client = getattr(api, "client", None)
    budget = getattr(client, "budget", None)
    if budget is None:
        return None
    for name in ("lowest_remaining", "reads_remaining", "remaining_reads", "remaining"):
        value = getattr(budget, name, None)
        if callable(value):
            try:
                value = value()
            except TypeError:
                continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


def _budget_retry_after(api: object) -> float | None:
    client = getattr(api, "client", None)
    budget = getattr(client, "budget", None)
    for name in ("blocked_for", "retry_after"):
        value = getattr(budget, name, None)
        if callable(value):
            try:
                value = value()
            except TypeError:
                continue
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


class Poller:
    """Fetch snapshots of one scale set and decide when the next fetch should happen."""

    def __init__(
        self,
        api: PollableApi,
        *,
        min_interval: float = 2.0,
        max_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_interval <= 0 or max_interval < min_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        self.api = api
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.clock = clock
        self.last: ScaleSetSnapshot | None = None
        self.last_changed: frozenset[str] = frozenset()
        self.last_error: Exception | None = None
        self.last_success_at: float | None = None
        self.refresh_count = 0
        self.paused = False
        self._quiet_runs = 0
        self._errors = 0
        self._lock = asyncio.Lock()

    @property
    def reads_left(self) -> int | None:
        return _budget_reads_left(self.api)

    async def refresh(self) -> ScaleSetSnapshot:
        """One GET of the model and one paged list of the VMs, as a snapshot.

        On failure the previous snapshot stays in ``last`` and the error is re-raised
        for the caller to show.
        """
        async with self._lock:
            try:
                scale_set = await self.api.get()
                vms = await self.api.list_vms()
            except Exception as exc:
                self.last_error = exc
                self._errors += 1
                raise
            # Classifying 1,000 VMs takes tens of ms of pure Python: do it off the event
            # loop so keystrokes keep flowing while a big set refreshes.
            snapshot, changed = await asyncio.to_thread(self._build, scale_set, vms)
            moving = changed or any(vm.state.is_transitional for vm in snapshot.vms)
            if self.last is not None and self.last.scale_set.etag != scale_set.etag:
                moving = True
            self._quiet_runs = 0 if moving else self._quiet_runs + 1
            self._errors = 0
            self.last_error = None
            self.last = snapshot
            self.last_changed = changed
            self.last_success_at = snapshot.taken_at
            self.refresh_count += 1
            return snapshot

    def _build(
        self, scale_set: ScaleSet, vms: list[ScaleSetVM]
    ) -> tuple[ScaleSetSnapshot, frozenset[str]]:
        snapshot = ScaleSetSnapshot.build(scale_set, vms, taken_at=self.clock())
        return snapshot, snapshot.changed_since(self.last)

    def note_activity(self) -> None:
        """Something was just dispatched: watch closely again."""
        self._quiet_runs = 0

    def next_interval(self) -> float:
        """Seconds until the next refresh should start."""
        if self._errors:
            interval = self.min_interval * (2.0 ** min(self._errors, 6))
        else:
            interval = self.min_interval * (GROWTH ** min(self._quiet_runs, 12))
        budget = getattr(getattr(self.api, "client", None), "budget", None)
        suggest = getattr(budget, "suggested_interval", None)
        reads = self.reads_left
        if callable(suggest):
            interval = float(suggest(interval))
        elif reads is not None:
            if reads < CRITICAL_BUDGET:
                interval = self.max_interval
            elif reads < LOW_BUDGET:
                interval = max(interval, self.min_interval * 4)
        retry_after = _budget_retry_after(self.api)
        if retry_after is not None:
            interval = max(interval, retry_after)
        return max(self.min_interval, min(self.max_interval, interval))

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.note_activity()

    def age(self) -> float | None:
        """Seconds since the last successful refresh (None before the first)."""
        if self.last_success_at is None:
            return None
        return max(0.0, self.clock() - self.last_success_at)
