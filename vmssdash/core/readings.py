"""The observer's cache of readings and how it refreshes them within its budget share.

``Readings`` holds what is known of the set (model, counts, one reading per VM with its
age) and the reads that renew it: which ways of reading a set of VMs exist and what they
cost (``_options``), running one (``_execute``), and the waits when none fits. When to
read, and who hears about it, is ``Observer``'s job (``observer.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, Protocol, TypeVar

from vmssdash.azure.errors import ArmError, NotFoundError
from vmssdash.azure.flexible import is_flexible
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.pacing import Pacing
from vmssdash.core.read_planner import PACE_FROM, Option, ReadKind, ReadPlanner
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo, classify

log = logging.getLogger("vmssdash.observer")

STALE_FILTER = "properties/latestModelApplied eq false"
#: Page size assumed until a list shows the real one.
DEFAULT_PAGE = 50
#: Per-VM views in flight at once.
VIEWS_AT_ONCE = 8
#: The fewest per-VM views worth sending as a part of a bigger need.
MIN_PART = 10
#: Full lists a busy set may read ahead of need at once (a UD-by-UD upgrade's five waves),
#: beyond the pace that spreads the rest of the budget evenly.
BURST_LISTS = 5
#: Seconds the set counts as busy after a change (cells are then read at the busy pace).
BUSY_FOR = 120.0
#: From this many VMs on, classifying and building a snapshot run in a worker thread.
OFF_LOOP_VMS = 100

T = TypeVar("T")

Subscriber = Callable[[ScaleSetSnapshot, frozenset[str]], Awaitable[None] | None]


class ObservableApi(Protocol):
    """The reads of ``ScaleSetApi`` the observer chooses from."""

    @property
    def pacing(self) -> Pacing: ...

    async def get(self) -> ScaleSet: ...

    async def instance_view_summary(self) -> dict[str, int]: ...

    async def list_vms(
        self,
        *,
        on_page: Callable[[list[ScaleSetVM]], None] | None = None,
        filter: str | None = None,
    ) -> list[ScaleSetVM]: ...

    async def get_vm(self, instance_id: str) -> ScaleSetVM: ...


class Readings:
    """The state one observer reads into, and the reads themselves."""

    def __init__(
        self,
        api: ObservableApi,
        *,
        pacing: Pacing | None = None,
        share: float = 0.6,
        quiet_share: float = 1 / 3,
        counts_every: float = 2.0,
        counts_every_quiet: float = 4.0,
        model_every: float = 30.0,
        min_cells_age: float = 5.0,
        min_cells_age_quiet: float = 15.0,
        per_vm_max: int = 250,
    ) -> None:
        self.api = api
        self.pacing = pacing or api.pacing
        self.clock = self.pacing.clock
        self.planner = ReadPlanner(self.clock, share=share)
        self.quiet_share = min(share, quiet_share)
        self.counts_every = counts_every
        self.counts_every_quiet = counts_every_quiet
        self.model_every = model_every
        self.min_cells_age = min_cells_age
        self.min_cells_age_quiet = min_cells_age_quiet
        self.per_vm_max = per_vm_max
        self.scale_set: ScaleSet | None = None
        self.summary: dict[str, int] = {}
        self.vms: dict[str, VmInfo] = {}
        self.read_at: dict[str, float] = {}
        self.latest: ScaleSetSnapshot | None = None
        self.last_error: str | None = None
        self.paused = False
        self.page_size = DEFAULT_PAGE
        self.decisions: list[str] = []
        self._model_at = -math.inf
        self._counts_at: float | None = None
        self._active_until = -math.inf
        self._waiting_until = 0.0
        self._waiting_reason = ""
        self._dirty = False
        self._changed: set[str] = set()
        self._left_stale: set[str] = set()
        #: VMs a run sent a change to and nobody has read since.
        self._awaiting: set[str] = set()
        #: VMs last read in a transition (kept here: ``active`` is asked several times a
        #: second, and 1,000 VMs are too many to look through each time).
        self._moving: set[str] = set()
        self._subscribers: list[Subscriber] = []
        self._decision_sinks: list[Callable[[str], None]] = []
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()

    def on_decision(self, fn: Callable[[str], None]) -> None:
        """``fn(line)`` for every read decided (what, why, our calls per window) and wait."""
        self._decision_sinks.append(fn)

    # ------------------------------------------------------------------ freshness

    @property
    def active(self) -> bool:
        """Something moves: a VM in transition, Azure's counts show work, or we were told."""
        if self.clock() < self._active_until:
            return True
        if any(code != "ProvisioningState/succeeded" for code in self.summary):
            return True
        return bool(self._moving)

    def _pages(self, count: int) -> int:
        return max(1, math.ceil(count / max(1, self.page_size)))

    def _set_pages(self) -> int:
        return self._pages(len(self.vms) or (self.scale_set.capacity if self.scale_set else 1))

    def _burst(self) -> int:
        """List calls kept for reads ahead of need while busy (a short upgrade's waves
        read the whole set each); a quiet set keeps one list (the one that started it)."""
        return (BURST_LISTS if self.active else 1) * self._set_pages()

    def _sustain(self, share: float) -> float:
        """Seconds between full lists that ``share`` of every list window sustains for
        good, with the burst kept in hand."""
        pages, burst = self._set_pages(), self._burst()
        return max(
            pages / w.steady_rate(share, burst if w.window >= PACE_FROM else pages)
            for w in self.planner.windows_of(ReadKind.LIST)
        )

    def share_now(self) -> float:
        """The share of the budget to spend on cells now: the whole share while anything
        moves or for a set small enough to keep at the quiet floor with it (200 VMs every
        15 s); a quiet big set leaves more to the other tools (a third: 300 of 900)."""
        if self.active or self._sustain(self.planner.share) <= self.min_cells_age_quiet:
            return self.planner.share
        return self.quiet_share

    def cells_target(self) -> float:
        """The age at which cells are re-read: what the list budget sustains for this set."""
        floor = self.min_cells_age if self.active else self.min_cells_age_quiet
        return max(floor, self._sustain(self.share_now()))

    @property
    def counts_at(self) -> float | None:
        """When the counts were last read (pacing clock)."""
        return self._counts_at

    def oldest_cell_at(self) -> float | None:
        """When the least recently read VM was read."""
        return min((self.read_at[i] for i in self.vms), default=None)

    def counts_age(self) -> float | None:
        return None if self._counts_at is None else max(0.0, self.clock() - self._counts_at)

    def cells_age(self) -> float | None:
        oldest = self.oldest_cell_at()
        return None if oldest is None else max(0.0, self.clock() - oldest)

    # ------------------------------------------------------------------ reads

    def _decide(self, text: str) -> None:
        line = f"{text}; ours: {self.planner.summary()}"
        self.decisions.append(line)
        del self.decisions[:-200]
        log.info("read %s", line)
        for fn in self._decision_sinks:
            with contextlib.suppress(Exception):
                fn(line)

    def _learn(self, kind: ReadKind, calls: int) -> None:
        self.planner.record(kind, calls)
        prefix = "Microsoft.Compute/"
        self.planner.learn(
            {
                name: left
                for name, left in self.pacing.budget.resource.items()
                if name.removeprefix(prefix) in self.planner.policies_of(kind)
            }
        )

    def _store(self, infos: Iterable[VmInfo], at: float) -> None:
        for info in infos:
            if self.vms.get(info.instance_id) != info:
                self._changed.add(info.instance_id)
                self._dirty = True
            self.vms[info.instance_id] = info
            self.read_at[info.instance_id] = at
            self._left_stale.discard(info.instance_id)
            self._awaiting.discard(info.instance_id)
            if info.state.is_transitional:
                self._moving.add(info.instance_id)
            else:
                self._moving.discard(info.instance_id)

    def _drop(self, iid: str) -> None:
        if self.vms.pop(iid, None) is not None:
            self._changed.add(iid)
            self._dirty = True
        self.read_at.pop(iid, None)
        self._awaiting.discard(iid)
        self._moving.discard(iid)

    async def _read_model(self) -> None:
        scale_set = await self.api.get()
        self._learn(ReadKind.MODEL, 1)
        if self.scale_set is None or self.scale_set.etag != scale_set.etag:
            self._dirty = True
            if self.scale_set is not None:
                self._active_until = self.clock() + BUSY_FOR
        self.scale_set = scale_set
        self.planner.flexible = is_flexible(scale_set)
        self._model_at = self.clock()

    async def _read_counts(self) -> None:
        summary = await self.api.instance_view_summary()
        self._learn(ReadKind.AGGREGATE, 1)
        if summary != self.summary:
            self._dirty = self._dirty or bool(self.summary)
        self.summary = summary
        self._counts_at = self.clock()

    async def _execute(self, option: Option, ids: Collection[str]) -> None:
        """Run one read option; every VM it covers gets a new reading."""
        started = self.clock()
        if option.kind is ReadKind.VM_VIEW:
            await self._read_views(list(ids)[: option.calls], started)
            return
        sizes: list[int] = []
        try:
            vms = await self.api.list_vms(
                on_page=lambda page: sizes.append(len(page)), filter=option.filter
            )
        finally:
            self._learn(ReadKind.LIST, max(1, len(sizes)))
        if len(sizes) > 1:
            self.page_size = max(1, sizes[0])  # a page followed by another one is full
        infos = await off_loop_if_big(len(vms), classify_all, vms)
        seen = {i.instance_id for i in infos}
        if option.filter is None:
            for gone in [i for i in self.vms if i not in seen]:
                self._drop(gone)
            # Asked for but absent from a full list (gone, or unreadable under another
            # id): that is a fresh answer too, or read_vms would wait for it forever.
            self.read_at.update((i, started) for i in ids if i not in seen)
        else:
            # Absent from the stale list: on the latest model now, state not read; the
            # stale list cannot serve them again until another read does.
            self._left_stale.update(i for i in ids if i not in seen)
        self._store(infos, started)

    async def _read_views(self, ids: list[str], started: float) -> None:
        """Per-VM views, a few at a time: 200 one after the other would take seconds of
        round trips at the end of every wave. The first error stops the views not yet
        sent and is raised once what was read is stored."""
        gate = asyncio.Semaphore(VIEWS_AT_ONCE)
        failed: list[ArmError] = []

        async def view(iid: str) -> VmInfo | None:
            async with gate:
                if failed:
                    return None
                try:
                    return classify(await self.api.get_vm(iid))
                except NotFoundError:
                    self._drop(iid)
                    self.read_at[iid] = started
                except ArmError as exc:
                    failed.append(exc)
                finally:
                    self._learn(ReadKind.VM_VIEW, 1)
                return None

        infos = await asyncio.gather(*(view(i) for i in ids))
        self._store([i for i in infos if i is not None], started)
        if failed:
            raise failed[0]

    def _options(self, ids: Collection[str]) -> list[Option]:
        """Ways to read ``ids``: the full list, the stale-VM list when only stale VMs are
        wanted, per-VM views when they are few enough to be worth it."""
        total = len(self.vms) or (self.scale_set.capacity if self.scale_set else len(ids))
        wanted = set(ids)
        now, target = self.clock(), self.cells_target()
        # Renewing a cell is worth more the nearer it is to its target; but a list read
        # for them ahead of need only while that keeps the list budget on its pace.
        pages = self._pages(total)
        others = (
            sum(min(1.0, (now - at) / target) for i, at in self.read_at.items() if i not in wanted)
            if self.planner.on_pace(ReadKind.LIST, pages, self._burst())
            else 0.0
        )
        options = [Option(ReadKind.LIST, pages, "every VM", worth=len(ids) + others)]
        if not (self.vms and ids and all(i in self.vms for i in ids)):
            return options
        stale = {
            i for i, v in self.vms.items() if v.latest_model is False and i not in self._left_stale
        }
        # Worth it only when it is much cheaper than the full list: wanted VMs that have
        # just left the stale set (a wave that finished) cost a second read. The stale
        # filter is the scale-set VM API's (Uniform-only).
        cheaper = 2 * self._pages(len(stale)) <= self._pages(total)
        if wanted <= stale and cheaper and not self.planner.flexible:
            options.append(
                Option(ReadKind.LIST, self._pages(len(stale)), "stale VMs", STALE_FILTER, len(ids))
            )
        if len(ids) <= self.per_vm_max:
            options.append(Option(ReadKind.VM_VIEW, len(ids), "per-VM views", worth=len(ids)))
            left = int(self.planner.allowance(ReadKind.VM_VIEW))
            if MIN_PART <= left < len(ids):
                # The views that fit now, the rest when the window allows: progress, not
                # a wait, while the list budget is spent.
                options.append(
                    Option(ReadKind.VM_VIEW, left, f"per-VM views, first {left}", worth=left)
                )
        return options

    def _wait_hint(self, options: list[Option], share: float | None = None) -> float:
        waits = [self.planner.wait_for(o.kind, o.calls, share) for o in options]
        return min([*waits, math.inf])

    def _set_waiting(self, seconds: float, reason: str) -> None:
        self._waiting_until = self.clock() + seconds
        if reason != self._waiting_reason:
            self._decide(f"waiting for read budget: {seconds:.0f} s ({reason})")
        self._waiting_reason = reason

    def _clear_waiting(self) -> None:
        self._waiting_until = 0.0
        self._waiting_reason = ""

    def _throttled_for(self) -> float:
        return self.pacing.budget.blocked_for()


def classify_all(vms: Iterable[ScaleSetVM]) -> list[VmInfo]:
    return [classify(vm) for vm in vms]


async def off_loop_if_big(count: int, fn: Callable[..., T], *args: Any) -> T:
    """Classifying or sorting 1,000 VMs takes tens of ms of pure Python: off the event
    loop, so keystrokes keep flowing while a big set is read; a small set is cheaper
    inline than a thread hop."""
    if count >= OFF_LOOP_VMS:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)
