"""Two processes upgrading one scale set: the second is refused with the holder named,
and no VM is upgraded twice (before the run lock, both upgraded the same 30 VMs)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.plugins.sim import SimHandle, scale_set_id
from tests.ui.story import GOOD, new_image_version
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi

ROOT = Path(__file__).resolve().parents[2]


def child(sim: SimHandle, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.runlock_child",
            sim.base_url,
            scale_set_id("vmss-web"),
            str(tmp_path / "locks"),
            str(tmp_path / "journal"),
            *extra,
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_second_process_is_refused_and_no_vm_is_upgraded_twice(
    make_sim: Any, tmp_path: Path
) -> None:
    sim: SimHandle = make_sim("demo", seed=0, faults="off")
    world = sim.world
    upgrades: Counter[str] = Counter()
    original = world.start_action

    def counting(vmss: Any, action: str, ids: Any, *, explicit: bool) -> Any:
        if action == "manualupgrade":
            upgrades.update(str(i) for i in ids or [])
        return original(vmss, action, ids, explicit=explicit)

    world.start_action = counting

    async def advance(seconds: float) -> None:
        sim.advance(seconds)
        await asyncio.sleep(0)

    client = ArmClient(sim.base_url, sleep=advance)
    try:
        await new_image_version(ScaleSetApi(client, scale_set_id("vmss-web")), GOOD)
    finally:
        await client.aclose()

    first = child(sim, tmp_path, "hold")
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "running"
        second = child(sim, tmp_path)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 3, err
        assert "refused: a run on vmss-web is already in progress" in out
        assert f"pid {first.pid}" in out
        out, err = first.communicate("go\n", timeout=300)
        assert first.returncode == 0, err
        assert "done: completed" in out
    finally:
        first.kill()
    assert upgrades and max(upgrades.values()) == 1
    vmss = next(s for s in world.scale_sets.values() if s.name == "vmss-web")
    assert set(upgrades) == {
        str(i)
        for i, vm in vmss.vms.items()
        if not vm.protect_from_scale_set_actions and vm.power != "deallocated"
    }
