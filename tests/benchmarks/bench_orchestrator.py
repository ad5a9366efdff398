"""Orchestrator overhead: a 200-VM upgrade by update domain on the simulator, compared with
the ideal time (the sum of each wave's server-side duration and the pauses between waves).

A wave's server-side duration runs from the moment the simulator accepted its
manualupgrade to the moment its last VM reported healthy; anything above the sum of those
is the orchestrator's own cost (polling granularity, per-wave reads). Time is the
simulator's clock (manual, advanced by the orchestrator's sleep), so the figures are
deterministic and independent of the machine's speed; wall time is printed too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.integration.orch_harness import SimHarness
from vmssdash.core.events import RunState
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Policy, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.sim.scenario_build import SetSpec, add_scale_set, platform_image

NAME = "vmss-bench"
VMS = 200
TARGET_VERSION = "24.04.202611150"


async def one_run(poll_interval: float, pause_seconds: float) -> dict[str, Any]:
    h = SimHarness("small", poll_interval=poll_interval)
    world = h.world
    with world.lock:
        add_scale_set(
            world,
            SetSpec(
                name=NAME,
                count=VMS,
                image=platform_image("24.04.202610010"),
                fd_count=5,
                ud_count=5,
            ),
        )
    healthy_at: dict[int, float] = {}
    touch = world._touch

    def recording_touch(vm: Any, **changes: Any) -> None:
        touch(vm, **changes)
        if changes.get("health") == "healthy":
            healthy_at[vm.instance_id] = world.now

    world._touch = recording_touch
    try:
        await h.set_version(NAME, TARGET_VERSION)
        api = h.api(NAME)
        snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
        plan = build_plan(
            snapshot,
            Strategy.UPDATE_DOMAIN,
            policy=Policy(max_unhealthy_percent=20, pause_seconds=pause_seconds),
        )
        started_sim = h.clock()
        started_wall = time.perf_counter()
        result = await Orchestrator(api, plan, poll_interval=poll_interval).run()
        wall = time.perf_counter() - started_wall
        actual = h.clock() - started_sim
        if result.state is not RunState.COMPLETED:
            raise RuntimeError(f"benchmark run ended {result.state}: {result.reason}")
        ups = h.upgrade_calls()
        ideal = 0.0
        for call in ups:
            ideal += max(healthy_at[int(i)] for i in call.ids) - call.at
        ideal += pause_seconds * (len(ups) - 1)
        return {
            "poll": poll_interval,
            "pause": pause_seconds,
            "waves": len(ups),
            "vms": sum(len(c.ids) for c in ups),
            "ideal": ideal,
            "actual": actual,
            "overhead": (actual - ideal) / ideal * 100,
            "wall": wall,
        }
    finally:
        await h.aclose()


def main() -> None:
    rows = [
        asyncio.run(one_run(poll, pause))
        for poll, pause in ((1.0, 0.0), (1.0, 30.0), (2.0, 0.0), (5.0, 0.0))
    ]
    print(f"{VMS}-VM upgrade by update domain (simulated seconds; target: within 5% of ideal)")
    print(
        f"{'poll s':>7} {'pause s':>8} {'waves':>6} {'VMs':>5} {'ideal s':>9} {'actual s':>9} {'over %':>7} {'wall s':>7}"
    )
    for r in rows:
        print(
            f"{r['poll']:>7.1f} {r['pause']:>8.0f} {r['waves']:>6} {r['vms']:>5} {r['ideal']:>9.1f} "
            f"{r['actual']:>9.1f} {r['overhead']:>7.1f} {r['wall']:>7.1f}"
        )


if __name__ == "__main__":
    main()
