"""One virtual clock for the observer, the orchestrator and the simulator (owner: i11).

``VirtualClock`` is the ``sleep``/``clock`` pair of the ARM client, the observer and the
orchestrator. Every participant task sleeps through it; when all of them are asleep, time
jumps to the earliest wake-up and the simulator's manual clock is moved to match. So a
two-hour upgrade of 1,000 VMs, with the dashboard's observer and the run both live, takes
seconds of wall time, and the freshness the header would show is sampled every simulated
second. Used by ``tests/integration/test_watch.py`` and ``tests/benchmarks/bench_watch.py``.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.factories import image_patch
from tests.plugins.sim import scale_set_id
from vmssdash.azure.client import ArmClient
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.events import OperationDispatched, OrchestratorEvent, WaveFinished
from vmssdash.core.observer import Observer
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import BatchSize, Policy, Strategy, build_plan
from vmssdash.core.runner import RunResult
from vmssdash.sim.app import create_app

BASE = "http://sim.test"
TARGET_VERSION = "24.04.202612010"

#: URL shape -> the Compute policy family it is charged to (what the simulator does).
FAMILIES = {"HighCost": (180, 900), "Get": (400, 2600), "VM": (1000, 5000)}


def family(path: str) -> str | None:
    parts = path.rstrip("/").split("/")
    if "operations" in parts:
        return None  # an operation poll: GetOperation, a budget of its own
    if len(parts) >= 10 and parts[9] == "virtualMachines":
        return "HighCost" if len(parts) == 10 else "VM"
    if len(parts) == 9 or (len(parts) == 10 and parts[9] == "instanceView"):
        return "Get"
    return None


class VirtualClock:
    """Sleeps that wake in time order; time moves only when every participant sleeps."""

    def __init__(self, advance: Callable[[float], None], start: float = 0.0) -> None:
        self.now = start
        self._advance = advance
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self.tasks: list[asyncio.Task[Any]] = []
        #: Bumped by every request and every sleep: "something is still happening".
        self.activity = 0
        self.on_tick: Callable[[float, float], None] = lambda _a, _b: None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.activity += 1
        self._seq += 1
        heapq.heappush(self._heap, (self.now + max(0.0, seconds), self._seq, future))
        try:
            await future
        finally:
            if not future.done():
                future.cancel()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    def _asleep(self) -> int:
        return sum(1 for _, _, f in self._heap if not f.done())

    async def _settle(self) -> None:
        """Until every live participant sleeps: reads in flight finish at the time they
        were sent (the virtual clock never jumps over work in progress). A participant
        can wait on a lock another one holds while sleeping (a client retry inside a
        read): when some sleep and nothing at all happened for two wall seconds, go on."""
        seen, since = self.activity, time.perf_counter()
        while True:
            live = sum(1 for t in self.tasks if not t.done())
            if live == 0 or self._asleep() >= live:
                return
            if self.activity != seen:
                seen, since = self.activity, time.perf_counter()
            elif self._asleep() and time.perf_counter() - since > 2.0:
                return
            await asyncio.sleep(0.0005)

    async def run(self, until: asyncio.Task[Any], *, limit: float) -> None:
        """Drive time until ``until`` is done or ``limit`` simulated seconds have passed."""
        end = self.now + limit
        while not until.done():
            await self._settle()
            if until.done():
                break
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap:
                await asyncio.sleep(0.001)
                continue
            wake = min(self._heap[0][0], end)
            if wake > self.now:
                self.on_tick(self.now, wake)
                self._advance(wake - self.now)
                self.now = wake
            while self._heap and self._heap[0][0] <= self.now:
                _, _, future = heapq.heappop(self._heap)
                if not future.done():
                    future.set_result(None)
            if self.now >= end:
                break
        for task in self.tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass
class WatchRun:
    """What a watched scenario measured."""

    seconds: float
    counts_ages: list[float] = field(default_factory=list)
    cells_ages: list[float] = field(default_factory=list)
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)
    #: (the previous wave's end or the run's start, dispatch, end) per wave
    waves: list[tuple[float, float, float]] = field(default_factory=list)
    result: RunResult | None = None
    peak_share: float = 0.0
    neighbour_calls: int = 0

    @property
    def throttled(self) -> int:
        return sum(1 for r in self.requests if r[3] == 429)

    def list_calls_per_30min(self) -> float:
        lists = sum(1 for r in self.requests if family(r[2]) == "HighCost" and r[1] == "GET")
        return lists * 1800 / max(self.seconds, 1.0)

    def window_shares(self) -> dict[str, float]:
        """Our highest count in any 3- and 30-minute window, as a share of the limit."""
        out: dict[str, float] = {}
        for fam, (limit3, limit30) in FAMILIES.items():
            times = sorted(r[0] for r in self.requests if family(r[2]) == fam)
            for span, limit in ((180.0, limit3), (1800.0, limit30)):
                best, lo = 0, 0
                for hi, t in enumerate(times):
                    while times[lo] <= t - span:
                        lo += 1
                    best = max(best, hi - lo + 1)
                out[f"{fam} {span / 60:g} min"] = best / limit
        return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)]


class WatchHarness:
    """The ``large`` scenario (or a set of ``vms``) behind one virtual clock."""

    def __init__(self, scenario: str = "large", *, neighbours: float = 0.0, seed: int = 0) -> None:
        faults = f"neighbours={neighbours:g}/min" if neighbours else "off"
        self.app = create_app(scenario, manual_clock=True, base_url=BASE, seed=seed, faults=faults)
        self.world: Any = self.app.state.world
        self.vclock = VirtualClock(self._advance, float(self.world.now))
        self.run = WatchRun(seconds=0.0)
        self.client = ArmClient(
            BASE,
            transport=httpx.ASGITransport(app=self.app),
            sleep=self.vclock.sleep,
            clock=self.vclock.clock,
            events=self._event,
        )
        self.healthy_at: dict[int, float] = {}
        touch = self.world._touch

        def recording_touch(vm: Any, **changes: Any) -> None:
            touch(vm, **changes)
            if changes.get("health") == "healthy":
                self.healthy_at[vm.instance_id] = float(self.world.now)

        self.world._touch = recording_touch

    def _advance(self, seconds: float) -> None:
        with self.world.lock:
            self.world.clock.advance(seconds)
            self.world.advance()

    def _event(self, event: ClientEvent) -> None:
        self.vclock.activity += 1
        if event.kind == "request" and event.status is not None and event.url:
            path = httpx.URL(event.url).path
            self.run.requests.append((self.vclock.now, event.method or "", path, event.status))

    def api(self, name: str) -> ScaleSetApi:
        return ScaleSetApi(self.client, scale_set_id(name))

    def sample(self, observer: Observer) -> None:
        """The header's two ages, every simulated second the clock jumps over."""

        def tick(start: float, end: float) -> None:
            counts_at, cells_at = observer.counts_at, observer.oldest_cell_at()
            t = math.floor(start) + 1.0
            while t <= end:
                if counts_at is not None:
                    self.run.counts_ages.append(t - counts_at)
                if cells_at is not None:
                    self.run.cells_ages.append(t - cells_at)
                t += 1.0

        self.vclock.on_tick = tick

    async def set_version(self, name: str, version: str = TARGET_VERSION) -> None:
        api = self.api(name)
        scale_set = await api.get()
        ref = scale_set.raw["properties"]["virtualMachineProfile"]["storageProfile"][
            "imageReference"
        ]
        platform = {k: ref[k] for k in ("publisher", "offer", "sku")}
        patch = api.update_model(image_patch(**platform, version=version), etag=scale_set.etag)
        task = self.vclock.spawn(patch)  # the PATCH is a long-running operation: drive it
        await self.vclock.run(task, limit=600)
        self.vclock.tasks.clear()
        self.run.requests.clear()

    async def watch(self, name: str, seconds: float) -> WatchRun:
        """The dashboard's observer alone, for ``seconds`` of simulated time."""
        observer = Observer(self.api(name))
        self.sample(observer)
        started = self.vclock.now
        loop = self.vclock.spawn(observer.run())
        timer = asyncio.ensure_future(self.vclock.sleep(seconds))
        self.vclock.tasks.append(timer)
        await self.vclock.run(timer, limit=seconds + 1)
        loop.cancel()
        return self._finish(observer, started)

    async def upgrade(
        self, name: str, *, batch: int | None = None, limit: float = 4 * 3600
    ) -> WatchRun:
        """An upgrade of every VM, UD by UD (or in batches of ``batch`` VMs), with the
        dashboard's observer live beside it."""
        observer = Observer(self.api(name))
        await observer.step(force=True)
        assert observer.latest is not None
        plan = build_plan(
            observer.latest,
            Strategy.UPDATE_DOMAIN if batch is None else Strategy.BATCH,
            batch=None if batch is None else BatchSize(count=batch),
            policy=Policy(max_unhealthy_percent=20),
        )
        self.sample(observer)
        dispatched: dict[int, float] = {}

        def on_event(event: OrchestratorEvent) -> None:
            if isinstance(event, OperationDispatched):
                dispatched[event.wave] = event.at
            if isinstance(event, WaveFinished):
                begin = self.run.waves[-1][2] if self.run.waves else started
                self.run.waves.append((begin, dispatched.get(event.index, event.at), event.at))

        started = self.vclock.now
        orchestrator = Orchestrator(
            self.api(name), plan, on_event=on_event, reader=observer, poll_interval=5.0
        )
        self.vclock.spawn(observer.run())
        run = self.vclock.spawn(orchestrator.run())
        await self.vclock.run(run, limit=limit)
        self.run.result = run.result() if run.done() and not run.cancelled() else None
        return self._finish(observer, started)

    def vm_work(self, dispatched_at: float, finished_at: float) -> float:
        """Simulator time from a wave's dispatch to its last VM reporting healthy."""
        done = [t for t in self.healthy_at.values() if dispatched_at <= t <= finished_at]
        return (max(done) - dispatched_at) if done else math.nan

    def wave_ratios(self) -> list[float]:
        """Each wave's time in the app (from the end of the one before, so the reads
        before a dispatch count) against its VM work time."""
        return [(end - begin) / self.vm_work(sent, end) for begin, sent, end in self.run.waves]

    def _finish(self, observer: Observer, started: float) -> WatchRun:
        self.run.seconds = self.vclock.now - started
        self.run.peak_share = observer.planner.peak_share()
        self.run.neighbour_calls = self.app.state.sim.throttle.neighbour_calls
        return self.run

    async def aclose(self) -> None:
        await self.client.aclose()
