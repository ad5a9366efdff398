"""SIGKILL the headless upgrade mid-run, start it again with --resume: the scale set ends
fully upgraded and no VM was sent to manualupgrade twice.

The simulator runs in this process (a real loopback socket, a real clock at 20x speed) so
the test can count every manualupgrade the world receives, per VM; the upgrade runs in a
child process so it can really be killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.crash_resume import journal_records, upgrade_cli
from vmssdash.core.journal import find_unfinished

NAME = "vmss-web"
VERSION = "24.04.202611150"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at", "kill_wave"),
    [("dispatch", 1), ("accepted", 2)],
    ids=["while-dispatching-wave-2", "wave-3-in-flight"],
)
def test_sigkill_then_resume_finishes_without_double_upgrades(
    make_sim: Callable[..., Any], tmp_path: Path, kill_at: str, kill_wave: int
) -> None:
    sim = make_sim("demo", manual_clock=False, speed=20.0, seed=0, faults="off")
    world = sim.world
    calls: dict[str, int] = {}
    original = world.start_action

    def recording(vmss: Any, action: str, ids: Any, *, explicit: bool) -> Any:
        op = original(vmss, action, ids, explicit=explicit)  # raises on 409: not counted
        if action == "manualupgrade" and vmss.name == NAME:
            for i in ids or []:
                calls[str(i)] = calls.get(str(i), 0) + 1
        return op

    world.start_action = recording
    rid = sim.resource_id(NAME)
    journal = tmp_path / "journal"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        upgrade_cli(sim.base_url, rid, journal, "--image-version", VERSION),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = journal_records(journal)
            if any(r.get("kind") == kill_at and r.get("wave") == kill_wave for r in records):
                break
            if first.poll() is not None:
                pytest.fail(
                    f"the upgrade ended early: {first.stdout.read().decode() if first.stdout else ''}"
                )
            time.sleep(0.02)
        else:
            pytest.fail(f"never saw {kill_at} of wave {kill_wave + 1}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        if first.stdout:
            first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    replay = find_unfinished(journal, rid)
    assert replay is not None, "the killed run left no resumable journal"
    assert set(range(kill_wave)) <= replay.waves_done and kill_wave in replay.dispatched

    second = subprocess.run(
        upgrade_cli(sim.base_url, rid, journal, "--resume"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Resuming plan" in second.stdout
    with world.lock:
        vmss = next(s for s in world.scale_sets.values() if s.name == NAME)
        stale = [
            i
            for i, vm in vmss.vms.items()
            if vm.applied_gen != vmss.model_gen
            and not vm.protect_from_scale_set_actions
            and vm.power != "deallocated"
        ]
    assert stale == [], f"VMs left behind: {stale}"
    assert set(calls) == set(replay.plan.targets)
    assert max(calls.values()) == 1, {k: v for k, v in calls.items() if v > 1}
    assert find_unfinished(journal, rid) is None
