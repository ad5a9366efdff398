"""Watching inside Azure's read budget: the ``medium`` (200 VMs) and ``large`` (1,000 VMs)
sets at the simulator's real Compute limits, with the dashboard's observer and an upgrade
run sharing one virtual clock (``tests/integration/watch_harness.py``).

Scenarios: a quiet 30-minute watch and a UD-by-UD upgrade of every VM, for both sizes; the
1,000-VM upgrade again with other tools in the subscription listing VMs 20 and 60 times a
minute (``neighbours``; ``others`` counts the calls the simulator charged for them), and
in 200 waves of 5 VMs (nearly two hours: the 30-minute windows roll over four times).
Printed per scenario: list calls per 30 minutes, 429s, p95 and max age of the counts and
of the oldest cell (sampled every simulated second), each wave's time (from the end of the
one before, so the reads before its dispatch count) against its VM work time (dispatch to
last VM healthy), and the highest share of any policy window we used.
Targets (issue 11): 0 × 429; counts p95 ≤ 5 s; cells p95 ≤ 15 s and max ≤ 60 s at 200
VMs, p95 ≤ 60 s and max ≤ 120 s at 1,000; waves ≤ 1.1 × VM work; no window above 60 %;
quiet 1,000 VMs ≤ 300 list calls / 30 min.
"""

from __future__ import annotations

import asyncio
import time

from tests.integration.watch_harness import WatchHarness, WatchRun, percentile


async def scenario(
    size: str, kind: str, neighbours: float, batch: int | None = None
) -> tuple[WatchRun, list[float], float]:
    h = WatchHarness(size, neighbours=neighbours)
    name = f"vmss-{size}"
    started = time.perf_counter()
    try:
        if kind == "watch":
            run = await h.watch(name, 1800.0)
        else:
            await h.set_version(name)
            run = await h.upgrade(name, batch=batch)
        ratios = h.wave_ratios()
        return run, ratios, time.perf_counter() - started
    finally:
        await h.aclose()


def main() -> None:
    rows = [
        ("200 VMs, quiet 30 min", "medium", "watch", 0.0),
        ("200 VMs, upgrade", "medium", "upgrade", 0.0),
        ("1,000 VMs, quiet 30 min", "large", "watch", 0.0),
        ("1,000 VMs, upgrade", "large", "upgrade", 0.0),
        ("1,000, neighbours 20/min", "large", "upgrade", 20.0),
        ("1,000, neighbours 60/min", "large", "upgrade", 60.0),
        ("1,000, 200 waves of 5", "large", "upgrade", 0.0, 5),
    ]
    print("At Compute's limits, dashboard + run on one clock (simulated seconds)")
    head = (
        f"{'scenario':<28} {'sim s':>6} {'lists/30m':>9} {'429':>4} {'counts p95/max':>14} "
        f"{'cells p95/max':>14} {'wave/work max':>13} {'top share':>9} {'others':>6} "
        f"{'state':>10} {'wall s':>6}"
    )
    print(head)
    for label, size, kind, neighbours, *batch in rows:
        run, ratios, wall = asyncio.run(scenario(size, kind, neighbours, *batch))
        shares = run.window_shares()
        state = run.result.state.name.lower() if run.result else ("-" if kind == "watch" else "?")
        print(
            f"{label:<28} {run.seconds:>6.0f} {run.list_calls_per_30min():>9.0f} "
            f"{run.throttled:>4} "
            f"{percentile(run.counts_ages, 0.95):>6.1f}/{max(run.counts_ages):<7.1f} "
            f"{percentile(run.cells_ages, 0.95):>6.1f}/{max(run.cells_ages):<7.1f} "
            f"{max(ratios, default=float('nan')):>13.2f} {max(shares.values()):>9.0%} "
            f"{run.neighbour_calls:>6} {state:>10} {wall:>6.1f}"
        )
        if 1 < len(ratios) <= 10:
            print(f"{'':<28} waves: " + " ".join(f"{r:.2f}" for r in ratios))
        elif ratios:
            print(f"{'':<28} {len(ratios)} waves, median {percentile(ratios, 0.5):.2f}")


if __name__ == "__main__":
    main()
