"""``vmssdash upgrade`` (headless) against the simulator on a real socket: the plan
printout, a full run, refusals with one clear line, and --resume with nothing to resume."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vmssdash import orch_cli
from vmssdash.azure.scaleset import parse_resource_id
from vmssdash.core.runlock import RunLock, default_lock_dir


def _args(sim: Any, name: str, journal: Path, *extra: str) -> list[str]:
    return [
        "--endpoint",
        sim.base_url,
        "--resource-id",
        sim.resource_id(name),
        "--auth",
        "none",
        "--poll-interval",
        "0.05",
        "--journal-dir",
        str(journal),
        *extra,
    ]


def test_full_run_by_update_domain(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=False, speed=50.0, faults="off")
    code = orch_cli.main(
        _args(
            sim, "vmss-small", tmp_path, "--by", "ud", "--yes", "--image-version", "24.04.202611150"
        )
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Model change: imageReference.version: 24.04.202610010 → 24.04.202611150" in out
    assert "Upgrade 10 of 10 VMs of vmss-small in" in out
    assert "Wave  1  UD 0 " in out
    assert "Warning" not in out
    assert "Estimated duration:" in out
    assert "[RunFinished] Run completed" in out


def test_refusals_are_one_clear_line(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=True, faults="off")
    assert (
        orch_cli.main(_args(sim, "vmss-small", tmp_path, "--image-version", "24.04", "--yes")) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a valid image version" in err
    assert orch_cli.main(_args(sim, "vmss-small", tmp_path, "--batch", "0%", "--yes")) == 2
    assert "batch size" in capsys.readouterr().err
    bad_rid = ["--endpoint", sim.base_url, "--resource-id", "/nope", "--auth", "none"]
    assert orch_cli.main(bad_rid) == 2
    assert "not a VM scale set resource id" in capsys.readouterr().err
    # Without --yes and without a terminal nothing changes.
    assert orch_cli.main(_args(sim, "vmss-small", tmp_path)) == 1
    assert "pass --yes" in capsys.readouterr().err
    assert not [c for c in sim.world.operations.values() if c.kind == "manualupgrade"]


def test_resume_with_nothing_to_resume_starts_fresh(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=False, speed=50.0, faults="off")
    code = orch_cli.main(
        _args(
            sim,
            "vmss-small",
            tmp_path,
            "--resume",
            "--yes",
            "--by",
            "fd",
            "--max-unhealthy",
            "50",
            "--pause",
            "PT1S",
        )
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "No unfinished plan for vmss-small" in out
    assert "[RunFinished] Run completed" in out


def test_a_held_run_lock_refuses_with_exit_5_and_sends_nothing(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process (here another lock handle) runs on the set: the headless upgrade
    names it, exits 5 (conflict) and sends neither the model PATCH nor an upgrade."""
    sim = make_sim("small", manual_clock=True, faults="off")
    vmss = next(s for s in sim.world.scale_sets.values() if s.name == "vmss-small")
    etag, operations = vmss.etag, len(sim.world.operations)
    other = RunLock(default_lock_dir(), parse_resource_id(sim.resource_id("vmss-small")).path)
    with other.hold("upgrade of 10 VMs in 3 waves"):
        code = orch_cli.main(
            _args(sim, "vmss-small", tmp_path, "--yes", "--image-version", "24.04.202611150")
        )
    err = capsys.readouterr().err
    assert code == 5, err
    assert "a run on vmss-small is already in progress: upgrade of 10 VMs in 3 waves" in err
    assert f"(pid {os.getpid()})" in err
    assert vmss.etag == etag and len(sim.world.operations) == operations
    assert not list(tmp_path.glob("*.jsonl"))  # no journal either: no run started
