"""``make chaos``: reliability figures of an upgrade under faults (issue 13, item 10).

    python -m tests.chaos.report [--kills 10] [--seed 1]

1. A 1,000-VM upgrade (scenario ``large``) on the simulator served on loopback, under
   10 % 429, 2 % 5xx, 1 % connection resets and 2 % VM upgrade failures, driven by the
   real client and orchestrator on the simulator's manual clock. A run that stops (a
   dispatch whose fate is unknown faults it) is resumed from its journal, or re-planned
   from the VMs when nothing is left to resume, as an operator would. The world records
   every ``manualupgrade`` it accepts, so doubled and lost upgrades are counted by the
   server, not by the client.
2. SIGKILL-and-resume: the headless ``vmssdash upgrade`` killed mid-run at a different
   wave each time, then started again with ``--resume`` (``tests/chaos/test_crash_resume``
   does one of these per test run).
3. The fuzz properties of ``tests/fuzz`` with their fixed seed (``HYPOTHESIS_PROFILE=
   explore`` searches afresh, ≥ 10,000 cases each).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.crash_resume import journal_records, upgrade_cli
from tests.factories import image_patch
from tests.plugins.sim import SimHandle, SimTime, scale_set_id
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.journal import find_unfinished
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import BatchSize, Strategy, build_plan
from vmssdash.core.runner import RunResult
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.sim.throttle import ThrottleConfig

FAULTS = "429=0.1,500=0.01,503=0.01,reset=0.01,upgrade-fail=0.02"
NAME = "vmss-large"
VERSION = "24.04.202612010"


@dataclass
class UpgradeFigures:
    targets: int = 0
    completed: int = 0
    failed: int = 0
    doubled: int = 0
    lost: int = 0
    max_ops_in_flight: int = 0
    max_vms_in_flight: int = 0
    unhealthy_violations: int = 0
    runs: int = 0
    requests: int = 0
    retries: int = 0
    untyped: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0


class _Recorder:
    """Counts, on the server, every manualupgrade it accepts and what was in flight."""

    def __init__(self, sim: SimHandle, limit_percent: int) -> None:
        self.world = sim.world
        self.limit = limit_percent
        self.calls: Counter[str] = Counter()
        self.max_ops = 0
        self.max_vms = 0
        self.violations = 0
        original = self.world.start_action

        def recording(vmss: Any, action: str, ids: Any, *, explicit: bool) -> Any:
            op = original(vmss, action, ids, explicit=explicit)  # a 409 raises: not counted
            if action == "manualupgrade":
                self._note(vmss, [str(i) for i in ids or []])
            return op

        self.world.start_action = recording

    def _note(self, vmss: Any, ids: list[str]) -> None:
        for i in ids:
            self.calls[i] += 1
        running = [
            op
            for op in self.world.operations.values()
            if not op.done and op.scale_set is vmss and op.kind == "manualupgrade"
        ]
        self.max_ops = max(self.max_ops, len(running))
        self.max_vms = max(self.max_vms, len(ids))
        unhealthy = sum(1 for vm in vmss.vms.values() if _unhealthy(vm))
        if (unhealthy + len(ids)) * 100 > self.limit * len(vmss.vms):
            self.violations += 1


def _unhealthy(vm: Any) -> bool:
    return bool(vm.provisioning == "Failed" or vm.health in ("unhealthy", "unknown"))


async def _update_model(api: ScaleSetApi) -> None:
    for _ in range(20):
        try:
            loaded = await api.get()
            await api.update_model(image_patch(version=VERSION), etag=loaded.etag)
            return
        except ArmError as exc:
            if exc.status is not None and exc.status < 500 and exc.status != 412:
                raise


async def _snapshot(api: ScaleSetApi) -> ScaleSetSnapshot:
    last: ArmError | None = None
    for _ in range(20):
        try:
            return ScaleSetSnapshot.build(await api.get(), await api.list_vms())
        except ArmError as exc:
            last = exc
            await api.pacing.sleep(max(1.0, api.pacing.budget.blocked_for()))
    raise RuntimeError(f"could not read the scale set 20 times in a row: {last}")


async def _upgrade(seed: int, journal: Path, figures: UpgradeFigures) -> None:
    # Compute's rate-limit policies are off: these figures isolate the injected faults
    # (the observer's read planner, issue 11, is what keeps a 1,000-VM set under them).
    app = create_app(
        "large", manual_clock=True, seed=seed, faults=FAULTS, throttle=ThrottleConfig(False)
    )
    sim = SimHandle(app, serve_in_thread(app))
    try:
        clock = SimTime(sim)
        retries = 0

        def count(event: Any) -> None:
            nonlocal retries
            retries += event.kind == "retry"

        async with ArmClient(
            sim.base_url, sleep=clock.sleep, clock=clock.clock, events=count
        ) as client:
            api = ScaleSetApi(client, scale_set_id(NAME))
            await _update_model(api)
            first = await _snapshot(api)
            plan = build_plan(first, Strategy.BATCH, batch=BatchSize(percent=5))
            recorder = _Recorder(sim, plan.policy.max_unhealthy_percent)
            targets = set(plan.targets)
            upgraded: set[str] = set()
            failed: dict[str, str] = {}
            replay = None
            for _ in range(30):
                figures.runs += 1
                orchestrator = Orchestrator(
                    api,
                    replay.plan if replay else plan,
                    replay=replay,
                    journal_dir=journal,
                    poll_interval=5.0,
                    health_timeout=900.0,
                )
                result: RunResult = await orchestrator.run()
                upgraded |= set(result.upgraded)
                failed.update(result.failed)
                replay = find_unfinished(journal, plan.scale_set_id)
                if replay is None:
                    fresh = await _snapshot(api)
                    plan = build_plan(
                        fresh,
                        Strategy.BATCH,
                        batch=BatchSize(percent=5),
                        selection=targets - upgraded - set(failed),
                    )
                    if not plan.targets:
                        break
            final = await _snapshot(api)
        figures.requests = client.request_count
        figures.retries = retries
        figures.targets = len(targets)
        on_latest = {vm.instance_id for vm in final.vms if vm.latest_model}
        figures.completed = len(targets & on_latest)
        figures.failed = len(targets - on_latest)
        figures.lost = len({t for t in targets - on_latest if t not in failed})
        figures.doubled = sum(1 for n in recorder.calls.values() if n > 1)
        figures.max_ops_in_flight = recorder.max_ops
        figures.max_vms_in_flight = recorder.max_vms
        figures.unhealthy_violations = recorder.violations
    finally:
        if sim.server is not None:
            sim.server.stop()


def upgrade_under_faults(seed: int) -> UpgradeFigures:
    figures = UpgradeFigures()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            asyncio.run(_upgrade(seed, Path(tmp), figures))
        except ArmError:
            raise
        except Exception as exc:  # the figure we want to be 0
            figures.untyped.append(f"{type(exc).__name__}: {exc}")
    figures.wall_seconds = time.monotonic() - started
    return figures


# ---------------------------------------------------------------------- SIGKILL


def kill_and_resume(attempt: int) -> tuple[bool, str]:
    """One SIGKILL at a different point of the run, then ``--resume``: (success, why)."""
    kill_at = ("dispatch", "accepted")[attempt % 2]
    kill_wave = 1 + attempt % 3
    app = create_app("demo", speed=20.0, seed=attempt, faults="off")
    sim = SimHandle(app, serve_in_thread(app))
    calls: Counter[str] = Counter()
    original = sim.world.start_action

    def recording(vmss: Any, action: str, ids: Any, *, explicit: bool) -> Any:
        op = original(vmss, action, ids, explicit=explicit)
        if action == "manualupgrade" and vmss.name == "vmss-web":
            calls.update(str(i) for i in ids or [])
        return op

    sim.world.start_action = recording
    rid = scale_set_id("vmss-web")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            journal = Path(tmp) / "journal"
            env = {**os.environ, "XDG_STATE_HOME": str(Path(tmp) / "state")}
            first = subprocess.Popen(
                upgrade_cli(sim.base_url, rid, journal, "--image-version", VERSION),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and first.poll() is None:
                records = journal_records(journal)
                if any(r.get("kind") == kill_at and r.get("wave") == kill_wave for r in records):
                    break
                time.sleep(0.02)
            if first.poll() is not None:
                return False, f"the run ended before {kill_at} of wave {kill_wave + 1}"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = subprocess.run(
                upgrade_cli(sim.base_url, rid, journal, "--resume"),
                capture_output=True,
                text=True,
                env=env,
                timeout=180,
            )
            if second.returncode != 0:
                return False, f"resume exit {second.returncode}: {second.stderr.strip()[-200:]}"
        with sim.world.lock:
            vmss = next(s for s in sim.world.scale_sets.values() if s.name == "vmss-web")
            stale = [
                i
                for i, vm in vmss.vms.items()
                if vm.applied_gen != vmss.model_gen
                and not vm.protect_from_scale_set_actions
                and vm.power != "deallocated"
            ]
        doubled = [i for i, n in calls.items() if n > 1]
        if stale or doubled:
            return False, f"stale {stale}, doubled {doubled}"
        return True, ""
    finally:
        if sim.server is not None:
            sim.server.stop()


# ---------------------------------------------------------------------- fuzz


def fuzz_cases() -> tuple[int, list[str]]:
    from tests.fuzz import test_fuzz_server as fuzz

    crashes: list[str] = []
    for name in dir(fuzz):
        test = getattr(fuzz, name)
        if name.startswith("test_") and callable(test):
            try:
                test()
            except Exception as exc:
                crashes.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
    return sum(fuzz.CASES.values()), crashes


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args(argv)

    print(
        f"1,000-VM upgrade under {FAULTS} (seed {args.seed}; the simulator's rate-limit "
        "policies off, so the 429s are the injected ones) ...",
        flush=True,
    )
    up = upgrade_under_faults(args.seed)
    print(f"  targets                    {up.targets}")
    print(f"  completed (latest model)   {up.completed}")
    print(f"  failed (VM failures)       {up.failed}")
    print(f"  doubled upgrades           {up.doubled}")
    print(f"  lost operations            {up.lost}")
    print(f"  max operations in flight   {up.max_ops_in_flight}")
    print(f"  max VMs in one operation   {up.max_vms_in_flight}")
    print(f"  unhealthy limit respected  {'yes' if not up.unhealthy_violations else 'NO'}")
    print(f"  runs (1 + resumes)         {up.runs}")
    print(f"  requests / client retries  {up.requests} / {up.retries}")
    print(f"  untyped crashes            {len(up.untyped)} {up.untyped[:1] or ''}")
    print(f"  wall time                  {up.wall_seconds:.0f} s", flush=True)

    print(f"SIGKILL and --resume, {args.kills} times ...", flush=True)
    wins = 0
    for attempt in range(args.kills):
        ok, why = kill_and_resume(attempt)
        wins += ok
        if not ok:
            print(f"  attempt {attempt + 1}: {why}")
    print(f"  resumed without a double or a leftover: {wins}/{args.kills}", flush=True)

    print("fuzz ...", flush=True)
    cases, crashes = fuzz_cases()
    print(f"  cases run                  {cases}")
    print(f"  property failures          {len(crashes)}")
    for crash in crashes:
        print(f"    {crash}")

    bad = (
        up.doubled
        or up.lost
        or up.untyped
        or up.max_ops_in_flight > 1
        or up.unhealthy_violations
        or wins < args.kills
        or crashes
        or math.isnan(up.wall_seconds)
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
