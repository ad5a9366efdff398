"""UI figures: first heatmap paint, CPU per refresh at 1,000 VMs, idle CPU, peak RSS.

The simulator runs as a child process (``vmssdash sim``), so CPU and memory figures are
the dashboard's own. CPU is the main thread's (``time.thread_time``): the event loop is
what a keystroke waits on. Per-refresh cost is split into the core part (parse the list,
classify, diff) and the UI part (apply the snapshot, repaint the changed cells).

Targets (issue 5): first paint < 1 s, < 5 ms per 1,000-cell refresh, idle near zero,
RSS < 100 MB.
"""

from __future__ import annotations

import asyncio
import copy
import random
import resource
import statistics
import time
from typing import Any

from vmssdash.azure.client import ArmClient
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.azure.vm_pages import vms_from
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.demo import run_simulator
from vmssdash.ui.app import VmssDashApp, _prepare_view
from vmssdash.ui.heatmap import Heatmap
from vmssdash.ui.heatmap_cells import prepare_rows
from vmssdash.ui.messages import SnapshotReceived

SIZE = (120, 40)
ROUNDS = 40


def _app(base_url: str, rid: str, **kw: Any) -> VmssDashApp:
    return VmssDashApp(ScaleSetApi(ArmClient(base_url), rid), **kw)


async def first_paint(base_url: str, rid: str) -> tuple[float, float]:
    """Seconds from app start to the first painted heatmap; and the list call alone."""
    started = time.perf_counter()
    app = _app(base_url, rid, live=False)
    async with app.run_test(size=SIZE) as pilot:
        while app.first_paint_at is None:
            await pilot.pause(0.005)
        painted = app.first_paint_at - started
        t = time.perf_counter()
        await app.observer.step(force=True)
        fetch = time.perf_counter() - t
    return painted, fetch


def _variants(raw_vms: list[dict[str, Any]], fraction: float, seed: int) -> list[dict[str, Any]]:
    """A copy of the VM list where ``fraction`` of the VMs flip to 'updating'."""
    rng = random.Random(seed)
    out = [dict(vm) for vm in raw_vms]
    count = max(1, int(len(out) * fraction))
    for index in rng.sample(range(len(out)), count):
        vm = out[index]
        props = dict(vm["properties"])
        view = dict(props.get("instanceView") or {})
        statuses = [dict(s) for s in view.get("statuses", [])]
        for status in statuses:
            if str(status.get("code", "")).startswith("ProvisioningState/"):
                flip = status["code"] != "ProvisioningState/updating"
                status["code"] = (
                    "ProvisioningState/updating" if flip else "ProvisioningState/succeeded"
                )
        view["statuses"] = statuses
        props["instanceView"] = view
        vm["properties"] = props
    return out


def _parse(items: list[dict[str, Any]]) -> list[ScaleSetVM]:
    """Parse a VM list the way ``ScaleSetApi.list_vms`` does (fresh dicts, page at once)."""
    return vms_from(items)


class _WidgetClock:
    """Main-thread CPU spent inside one widget's own update and render calls."""

    def __init__(self, widget: Heatmap) -> None:
        self.total = 0.0
        self._widget = widget
        for name in ("update_snapshot", "render_lines"):
            setattr(widget, name, self._timed(getattr(widget, name)))

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.total += time.thread_time() - t

        return timed


async def refresh_cost(
    base_url: str, rid: str, fraction: float
) -> tuple[float, float, float, float, int]:
    """Median main-thread CPU ms per refresh: core parse+classify+diff+rows (all of it off
    the loop in the app); the whole UI handler (heatmap, legend, header, details, activity
    log); the heatmap update and the screen repaint it causes (with the details pane, shown
    in the same handler as the app does); the heatmap widget's own update + render calls."""
    app = _app(base_url, rid, live=False)
    async with app.run_test(size=SIZE) as pilot:
        snap = await app.refresh_snapshot()
        await pilot.pause()
        client: ArmClient = app.api.client  # type: ignore[attr-defined]
        raw_set = await client.get_json(app.api.path)
        raw_vms: list[dict[str, Any]] = []
        async for page in client.iter_pages(
            f"{app.api.path}/virtualMachines", params={"$expand": "instanceView"}
        ):
            raw_vms.extend(page)
        lists = [raw_vms, _variants(raw_vms, fraction, seed=1)]
        core_ms: list[float] = []
        ui_ms: list[float] = []
        heatmap_ms: list[float] = []
        own_ms: list[float] = []
        baseline_ms: list[float] = []
        previous = snap
        changed_cells = 0
        heatmap = app.heatmap
        clock = _WidgetClock(heatmap)
        for i in range(ROUNDS):
            source = copy.deepcopy(lists[(i + 1) % 2])  # fresh dicts, as from the decoder
            t = time.thread_time()
            new = ScaleSetSnapshot.build(ScaleSet.from_json(raw_set), _parse(source))
            changed = new.changed_since(previous)
            rows, transitions = _prepare_view(previous, new, changed)
            core_ms.append((time.thread_time() - t) * 1000)
            changed_cells = max(changed_cells, len(changed))
            # Baseline: one idle pause, the fixed cost of driving the loop from a test.
            t = time.thread_time()
            await pilot.pause()
            baseline_ms.append((time.thread_time() - t) * 1000)
            rendered = heatmap.lines_rendered
            t = time.thread_time()
            app.post_message(SnapshotReceived(new, changed, app._generation, rows, transitions))
            await pilot.pause()
            ui_ms.append((time.thread_time() - t) * 1000)
            assert heatmap.lines_rendered > rendered or not changed
            # The heatmap alone: apply the next variant and let the compositor repaint.
            source = copy.deepcopy(lists[i % 2])
            other = ScaleSetSnapshot.build(ScaleSet.from_json(raw_set), _parse(source))
            other_changed = other.changed_since(new)
            other_rows = prepare_rows(other)
            await pilot.pause()
            clock.total = 0.0
            t = time.thread_time()
            heatmap.update_snapshot(other, other_changed, other_rows)
            app._show_details(heatmap.cursor_vm)  # as the app's snapshot handler does
            await pilot.pause()
            heatmap_ms.append((time.thread_time() - t) * 1000)
            own_ms.append(clock.total * 1000)
            previous = other
        base = statistics.median(baseline_ms)
        return (
            statistics.median(core_ms),
            max(0.0, statistics.median(ui_ms) - base),
            max(0.0, statistics.median(heatmap_ms) - base),
            statistics.median(own_ms),
            changed_cells,
        )


async def loop_stall(base_url: str, rid: str, rounds: int = 4) -> tuple[float, float]:
    """What a keystroke waits on while a 1,000-VM refresh runs through the whole app.

    Returns the median over ``rounds`` refreshes of the longest event-loop stall (how late
    a 1 ms heartbeat woke up: the worst extra keystroke latency), and the median
    main-thread CPU per refresh (fetch, decode, parse, classify, apply, repaint). Few
    rounds: the simulator throttles list calls like ARM does.
    """
    app = _app(base_url, rid, live=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        cpu_ms: list[float] = []
        for _ in range(rounds):
            t = time.thread_time()
            await app.refresh_snapshot()
            await pilot.pause()
            cpu_ms.append((time.thread_time() - t) * 1000)
        stalls: list[float] = []
        for _ in range(rounds):
            late: list[float] = []
            done = asyncio.Event()

            async def heartbeat(late: list[float] = late, done: asyncio.Event = done) -> None:
                while not done.is_set():
                    t0 = time.perf_counter()
                    await asyncio.sleep(0.001)
                    late.append(time.perf_counter() - t0 - 0.001)

            beat = asyncio.create_task(heartbeat())
            await app.refresh_snapshot()
            await pilot.pause()
            done.set()
            await beat
            stalls.append(max(late) * 1000)
    return statistics.median(stalls), statistics.median(cpu_ms)


async def idle_cpu(base_url: str, rid: str, *, paused: bool, seconds: float = 6.0) -> float:
    """Percent of one core the main thread uses on a quiet scale set (live or paused)."""
    app = _app(base_url, rid)
    async with app.run_test(size=SIZE) as pilot:
        while app.first_paint_at is None:
            await pilot.pause(0.01)
        if paused:
            await pilot.press("p")
        await asyncio.sleep(1.0)
        cpu = time.thread_time()
        wall = time.perf_counter()
        await asyncio.sleep(seconds)
        used = time.thread_time() - cpu
        return 100.0 * used / (time.perf_counter() - wall)


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with run_simulator(scenario="demo", seed=0) as sim:
        rid = next(r for r in sim.resource_ids if r.endswith("/vmss-web"))
        paint, fetch = asyncio.run(first_paint(sim.base_url, rid))
        rows.append(("first heatmap paint, demo (40 VMs)", f"{paint * 1000:.0f} ms", "< 1000 ms"))
    with run_simulator(scenario="large", seed=0) as sim:  # its own read budget
        rid = next(r for r in sim.resource_ids if r.endswith("/vmss-large"))
        stall, cpu = asyncio.run(loop_stall(sim.base_url, rid))
        rows.append(("longest loop stall during a 1,000-VM refresh", f"{stall:.1f} ms", ""))
        rows.append(("  main-thread CPU per 1,000-VM refresh (all of it)", f"{cpu:.0f} ms", ""))
    with run_simulator(scenario="large", seed=0) as sim:
        rid = next(r for r in sim.resource_ids if r.endswith("/vmss-large"))
        paint, fetch = asyncio.run(first_paint(sim.base_url, rid))
        rows.append(
            ("first heatmap paint, large (1,000 VMs)", f"{paint * 1000:.0f} ms", "< 1000 ms")
        )
        rows.append(("  of which one refresh (GET + 20 pages)", f"{fetch * 1000:.0f} ms", ""))
        for fraction, label in ((0.01, "1%"), (1.0, "all")):
            core, ui, heat, own, cells = asyncio.run(refresh_cost(sim.base_url, rid, fraction))
            rows.append(
                (
                    f"refresh, 1,000 VMs, {label} change ({cells} cells): heatmap",
                    f"{heat:.2f} ms CPU",
                    "< 5 ms",
                )
            )
            rows.append(
                (f"  heatmap widget's own update+render ({label})", f"{own:.2f} ms CPU", "")
            )
            rows.append(
                (
                    f"  whole UI handler incl. log/legend/header ({label})",
                    f"{ui:.2f} ms CPU",
                    "< 5 ms",
                )
            )
            rows.append(
                (f"  core parse+classify+diff+rows, off-loop ({label})", f"{core:.1f} ms CPU", "")
            )
        idle = asyncio.run(idle_cpu(sim.base_url, rid, paused=True))
        rows.append(("idle CPU, 1,000 VMs on screen, polling paused", f"{idle:.2f} %", "near 0"))
        idle = asyncio.run(idle_cpu(sim.base_url, rid, paused=False))
        rows.append(("idle CPU, live polling a quiet 1,000-VM set", f"{idle:.1f} %", ""))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS (dashboard process)", f"{peak_mb:.0f} MB", "< 100 MB"))
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>14}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>14}  {target}")


if __name__ == "__main__":
    main()
