"""Simulator for progressive delivery: per-VM upgrade times, an image that goes bad late,
scenarios from a file (with one clear message for a bad file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_sim_world import make_world, tick, vmss
from vmssdash.sim import delivery, scenario_file
from vmssdash.sim.cli import build_parser
from vmssdash.sim.world import Timings, World


def _upgrade(world: World, name: str, version: str) -> None:
    s = vmss(world, name)
    ref = dict(s.profile["storageProfile"]["imageReference"], version=version)
    world.update_model(
        s,
        {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": ref}}}},
        replace=False,
    )
    tick(world, 5)
    world.start_action(s, "manualupgrade", ["*"], explicit=True)


def test_per_vm_upgrade_times_vary_by_seed_and_repeat() -> None:
    a = [delivery.upgrade_factor(1, "s", i, 0.5) for i in range(20)]
    assert a == [delivery.upgrade_factor(1, "s", i, 0.5) for i in range(20)]
    assert min(a) < 0.8 and max(a) > 1.2 and all(0.5 <= f <= 1.5 for f in a)
    assert a != [delivery.upgrade_factor(2, "s", i, 0.5) for i in range(20)]
    assert delivery.upgrade_factor(1, "s", 3, 0.0) == 1.0


def test_a_bad_late_image_is_healthy_first_and_unhealthy_a_minute_later() -> None:
    world = make_world("small")
    _upgrade(world, "vmss-small", "24.04.202611989-bad-late")
    tick(world, 60)
    vms = list(vmss(world, "vmss-small").vms.values())
    assert all(vm.health == "healthy" for vm in vms)
    tick(world, Timings().bad_after)
    assert all(vm.health == "unhealthy" for vm in vms)


def _file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    return path


def test_a_scenario_file_builds_exactly_its_vms(tmp_path: Path) -> None:
    data = {
        "name": "copy",
        "timings": {"upgrade": 40},
        "sets": [
            {
                "name": "vmss-copy",
                "image": {
                    "publisher": "Canonical",
                    "offer": "ubuntu-24_04-lts",
                    "sku": "server",
                    "version": "24.04.202612010",
                },
                "old_image": {
                    "publisher": "Canonical",
                    "offer": "ubuntu-24_04-lts",
                    "sku": "server",
                    "version": "24.04.202501010",
                },
                "vms": [
                    {"id": 3, "ud": 0, "fd": 1, "latest": False},
                    {"id": 17, "ud": 4, "fd": 0, "zone": None},
                ],
            }
        ],
    }
    scenario = scenario_file.load(_file(tmp_path, data))
    assert scenario.timings.upgrade == 40
    world = make_world("small")
    scenario.build(world)
    s = vmss(world, "vmss-copy")
    assert sorted(s.vms) == [3, 17]
    assert (s.vms[3].ud, s.vms[3].fd, s.vms[3].exact_version) == (0, 1, "24.04.202501010")
    assert s.vms[17].ud == 4 and s.vms[17].applied_gen == s.model_gen
    assert build_parser().parse_args(["--scenario-file", "x.json"]).scenario_file == Path("x.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ({"sets": []}, "sets"),
        ({"sets": [{"name": "x", "image": {}, "vms": [{"id": 1, "colour": "red"}]}]}, "colour"),
        (
            {"timings": {"upgrad": 1}, "sets": [{"name": "x", "image": {}, "vms": [{"id": 1}]}]},
            "upgrad",
        ),
    ],
)
def test_a_bad_scenario_file_gets_one_line(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ValueError, match=message) as info:
        scenario_file.load(path)
    assert "\n" not in str(info.value)
