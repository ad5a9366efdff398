"""Progressive delivery headless, against the simulator on a real socket: `upgrade
--steps` halts in the bake (exit 4), `revert` puts the canary back, `promote` releases a
paused run from another thread, `rehearse` prints the waves and sends only GETs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vmssdash import cli
from vmssdash.azure.scaleset import parse_resource_id
from vmssdash.core import bake
from vmssdash.core.journal import list_journals
from vmssdash.core.runlock import RunLock, default_lock_dir
from vmssdash.sim import scenario_file

BAD_LATE = "24.04.202611989-bad-late"
GOOD = "24.04.202611150"


def _conn(sim: Any, journal: Path) -> list[str]:
    return ["--endpoint", sim.base_url, "--auth", "none", "--journal-dir", str(journal)]


def _upgrade(sim: Any, journal: Path, *extra: str) -> list[str]:
    return [
        "upgrade",
        *_conn(sim, journal),
        "--resource-id",
        sim.resource_id("vmss-small"),
        "--poll-interval",
        "0.05",
        "--yes",
        *extra,
    ]


def test_steps_halt_in_the_bake_and_revert_puts_the_canary_back(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=False, speed=100.0, faults="off")
    vms = next(s for s in sim.world.scale_sets.values() if s.name == "vmss-small").vms
    before = {str(i): vm.exact_version for i, vm in vms.items()}
    code = cli.main(
        _upgrade(sim, tmp_path, "--image-version", BAD_LATE, "--steps", "canary 1, bake PT3S, ud")
    )
    out = capsys.readouterr().out
    assert code == 4, out
    assert "then bake PT3S" in out and "application health unhealthy" in out
    touched = [str(i) for i, vm in vms.items() if vm.exact_version == BAD_LATE]
    assert len(touched) == 1
    # Revert runs the dashboard's RevertRun under the run lock: held elsewhere, exit 5.
    lock = RunLock(default_lock_dir(), parse_resource_id(sim.resource_id("vmss-small")).path)
    with lock.hold("upgrade of 9 VMs in 2 waves"):
        code = cli.main(["revert", *_conn(sim, tmp_path), "--yes", "--poll-interval", "0.05"])
    assert code == 5
    assert "already in progress: upgrade of 9 VMs" in capsys.readouterr().err
    assert vms[int(touched[0])].exact_version == BAD_LATE  # nothing was sent
    code = cli.main(["revert", *_conn(sim, tmp_path), "--yes", "--poll-interval", "0.05"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"imageReference.version: {BAD_LATE} → {before[touched[0]]}" in out
    assert vms[int(touched[0])].exact_version == before[touched[0]]


def test_a_bad_step_is_one_line_and_nothing_is_sent(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=True, faults="off")
    assert cli.main(_upgrade(sim, tmp_path, "--steps", "bake PT1M, ud")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "before any wave" in err
    assert not sim.world.operations


def test_promote_releases_a_run_paused_in_another_thread(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=False, speed=100.0, faults="off")
    codes: list[int] = []
    run = threading.Thread(
        target=lambda: codes.append(
            cli.main(
                _upgrade(sim, tmp_path, "--image-version", GOOD, "--steps", "canary 1, pause, ud")
            )
        )
    )
    run.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = [j for j in list_journals(tmp_path) if bake.promote_pending(j.path)]
        if waiting:
            break
        run.join(0.05)
    assert waiting, "the run never reached its pause"
    assert cli.main(["promote", "--journal-dir", str(tmp_path)]) == 0
    run.join(60)
    assert codes == [0]
    assert "Promoted run" in capsys.readouterr().out
    assert cli.main(["promote", "--journal-dir", str(tmp_path)]) == 1


def test_rehearse_prints_the_plan_on_a_copy_and_saves_it(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=True, faults="off")
    etag = next(s for s in sim.world.scale_sets.values() if s.name == "vmss-small").etag
    saved = tmp_path / "copy.json"
    code = cli.main(
        [
            "rehearse",
            sim.resource_id("vmss-small"),
            *_conn(sim, tmp_path),
            "--steps",
            "canary 1, bake PT2M, ud",
            "--image-version",
            BAD_LATE,
            "--save",
            str(saved),
        ]
    )
    out = capsys.readouterr().out
    assert code == 4, out
    assert "wave 1 (canary): 1 VMs" in out and "Outcome on the copy: halted" in out
    assert "API calls it took" in out
    assert not sim.world.operations  # the source saw no write at all
    assert next(s for s in sim.world.scale_sets.values() if s.name == "vmss-small").etag == etag
    assert len(json.loads(saved.read_text())["sets"][0]["vms"]) == 10
    assert scenario_file.load(saved).name == "rehearsal of vmss-small"


def test_the_plan_estimate_is_learned_from_earlier_runs(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim("small", manual_clock=False, speed=100.0, faults="off")
    assert cli.main(_upgrade(sim, tmp_path, "--image-version", GOOD, "--by", "ud")) == 0
    first = capsys.readouterr().out
    assert "Estimated duration: 5m 00s" in first  # nothing learned yet: 60 s a wave
    assert cli.main(_upgrade(sim, tmp_path, "--image-version", "24.04.202612010")) == 0
    second = capsys.readouterr().out
    line = next(x for x in second.splitlines() if x.startswith("Estimated duration"))
    assert line != "Estimated duration: 5m 00s"  # a wave of earlier runs took about a second
