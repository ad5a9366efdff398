"""One observer per scale set: the only component that reads the set and its VMs.

The dashboard subscribes to its snapshots; an upgrade run states what it needs through
``read_vms`` ("fresh health of these VMs, read no earlier than t"). Both share one cache
of readings, so a read made for one serves the other, and one ``ReadPlanner`` keeps the
sum of them inside a share of Azure's read budget. Per round the observer keeps:

- the **counts** fresh with the aggregate instance view (one cheap call, any set size);
- the **model** fresh with a GET of the scale set (its etag says when it changed);
- the **cells** (per-VM readings) no older than a target derived from the budget: as
  fresh as the share allows while anything moves, a smaller share while the set is quiet.

Cells are refreshed with whichever read costs least right now: the full paged list with
``$expand=instanceView``, the ``latestModelApplied eq false`` list when only stale VMs are
wanted, or per-VM instance views for a handful. A VM no read covered keeps its last
reading and its age. When no read fits the budget the observer waits and says so
(``waiting``); a 429 that slips through is a wait too, never an error for the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass

from vmssdash.azure.errors import ArmError, ThrottledError
from vmssdash.core.read_planner import ReadKind
from vmssdash.core.readings import BUSY_FOR, Readings, Subscriber, off_loop_if_big
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo

log = logging.getLogger("vmssdash.observer")


@dataclass(frozen=True)
class Freshness:
    """What the header shows: how old the counts and the oldest cell are, the budget in use,
    and the wait in progress (``waiting_for`` seconds, 0 when none)."""

    counts_age: float | None
    cells_age: float | None
    cells_target: float
    budget_label: str
    budget_used: float
    budget_share: float
    waiting_for: float
    waiting_reason: str


@dataclass(frozen=True)
class StepOutcome:
    published: bool
    error: str | None = None


class Observer(Readings):
    """Reads one scale set on a budget and hands the result to subscribers and runs."""

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """``fn(snapshot, changed)`` after every new snapshot; returns the unsubscribe."""
        self._subscribers.append(fn)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(fn)

        return unsubscribe

    async def _publish(self) -> bool:
        if not self._dirty or self.scale_set is None:
            return False
        changed = frozenset(self._changed)
        self._dirty = False
        self._changed = set()
        self.latest = await off_loop_if_big(
            len(self.vms),
            ScaleSetSnapshot.of,
            self.scale_set,
            list(self.vms.values()),
            self.clock(),
        )
        for fn in list(self._subscribers):
            try:
                outcome = fn(self.latest, changed)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # a broken subscriber must not stop the reads
                log.exception("observer subscriber failed")
        return True

    def note_activity(self, seconds: float = BUSY_FOR) -> None:
        """A change was just sent: watch closely for a while, starting with a look now."""
        self._active_until = max(self._active_until, self.clock() + seconds)
        self.poke()

    def expect_change(self, ids: Collection[str]) -> None:
        """No forced look: the run asks for what it needs when it needs it."""
        self._left_stale.update(ids)
        self._awaiting.update(ids)
        self._active_until = max(self._active_until, self.clock() + BUSY_FOR)

    def freshness(self) -> Freshness:
        tight = self.planner.tightest()
        now = self.clock()
        return Freshness(
            counts_age=self.counts_age(),
            cells_age=self.cells_age(),
            cells_target=self.cells_target(),
            budget_label=tight.label,
            budget_used=tight.share_used(now),
            budget_share=self.planner.share,
            waiting_for=max(0.0, self._waiting_until - now),
            waiting_reason=self._waiting_reason,
        )

    def old_cells(self) -> frozenset[str]:
        """The VMs whose own reading is older than ``cells_target()``, or from before a
        change a run sent them: the cells the heatmap draws as old (all of them while
        reads wait for budget; a wave in flight until its health is read, while Azure's
        counts show it updating). Not "stale", which names a VM on an old model."""
        oldest_fresh = self.clock() - self.cells_target()
        return frozenset(
            iid for iid in self.vms if self.read_at[iid] < oldest_fresh or iid in self._awaiting
        )

    # ------------------------------------------------------------------ rounds

    async def step(self, *, force: bool = False) -> StepOutcome:
        """One round: read what is due (everything when ``force``) and publish if changed.

        Errors other than throttling are returned, not raised: the last snapshot stays.
        """
        async with self._lock:
            try:
                await self._round(force)
            except ThrottledError as exc:
                self._set_waiting(max(self._throttled_for(), exc.retry_after or 5.0), "throttled")
            except ArmError as exc:
                self.last_error = str(exc) or type(exc).__name__
                await self._publish()
                return StepOutcome(False, self.last_error)
            self.last_error = None
            return StepOutcome(await self._publish())

    async def _round(self, force: bool) -> None:
        now = self.clock()
        if self._throttled_for() > 0:
            self._set_waiting(self._throttled_for(), "throttled by Azure")
            return
        model_due = force or now - self._model_at >= self.model_every
        if self.scale_set is None or (model_due and self.planner.allowance(ReadKind.MODEL) >= 1):
            await self._read_model()
        counts_every = self.counts_every if self.active else self.counts_every_quiet
        counts_due = force or self._counts_at is None or now - self._counts_at >= counts_every
        if counts_due and self.planner.allowance(ReadKind.AGGREGATE) >= 1:
            await self._read_counts()
        target = self.cells_target()
        due = [i for i in self.vms if now - self.read_at[i] >= target]
        if self.vms and not due and not force:
            self._clear_waiting()
            return
        share = self.planner.share if force else self.share_now()
        options = self._options(due if self.vms else ())
        option = self.planner.choose(options, share)
        if option is None:
            self._set_waiting(self._wait_hint(options, share), "cells due")
            return
        self._clear_waiting()
        age = self.cells_age()
        self._decide(
            f"{option.calls} × {option.kind.value} ({option.what}): "
            + ("refresh asked" if force else f"cells {age or 0:.0f} s old, target {target:.0f} s")
        )
        await self._execute(option, due)

    def next_delay(self) -> float:
        """Seconds until the next round has something to do."""
        now = self.clock()
        if self._waiting_until > now:
            return min(self._waiting_until - now, 5.0)
        counts_every = self.counts_every if self.active else self.counts_every_quiet
        waits = [counts_every - (now - (self._counts_at or now)), self.model_every]
        oldest = self.oldest_cell_at()
        if oldest is not None:
            waits.append(oldest + self.cells_target() - now)
        return max(0.5, min(waits))

    async def read_vms(
        self, ids: Collection[str], *, newer_than: float, reason: str
    ) -> dict[str, VmInfo]:
        """Every VM known, with ``ids`` read at or after ``newer_than``; waits for budget
        (saying so in ``freshness()``) rather than failing when the budget is spent."""
        wanted = tuple(ids)
        while True:
            async with self._lock:
                if self.scale_set is None:
                    await self._read_model()
                need = [i for i in wanted if self.read_at.get(i, -math.inf) < newer_than] or (
                    [] if self.vms else list(wanted)
                )
                if not need and self.vms:
                    self._clear_waiting()
                    await self._publish()
                    return dict(self.vms)
                self._active_until = max(self._active_until, self.clock() + BUSY_FOR)
                options = self._options(need)
                throttled = self._throttled_for() > 0
                option = None if throttled else self.planner.choose(options)
                if option is not None:
                    self._clear_waiting()
                    self._decide(f"{option.calls} × {option.kind.value} ({option.what}): {reason}")
                    try:
                        await self._execute(option, need)
                    except ThrottledError as exc:
                        self._set_waiting(
                            max(self._throttled_for(), exc.retry_after or 5.0), reason
                        )
                    else:
                        await self._publish()
                        if not self.vms:  # an empty set: nothing more to read
                            return {}
                        continue
                wait = max(self._throttled_for(), self._wait_hint(options))
                if option is None:
                    self._set_waiting(wait, reason)
            await self.pacing.sleep(min(max(wait, 0.5), 5.0))

    # ------------------------------------------------------------------ loop

    def poke(self) -> None:
        """Wake the loop now (a refresh was asked for or a change was sent)."""
        self._poke.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.poke()

    async def run(self) -> None:
        """The watch loop for whoever shows the set (the app runs it in one worker)."""
        while True:
            if not self.paused:
                await self.step(force=self._poke.is_set())
            self._poke.clear()
            await self._wake()

    async def _wake(self) -> None:
        sleeper = asyncio.ensure_future(self.pacing.sleep(self.next_delay()))
        poked = asyncio.ensure_future(self._poke.wait())
        try:
            await asyncio.wait({sleeper, poked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, poked):
                task.cancel()
