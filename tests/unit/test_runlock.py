"""One run per scale set: the lock file refuses a second holder, names the first, and is
taken over when its holder died."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmssdash.core.runlock import RunLock, RunLockHeldError

SET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web"
HOLD = (
    "import sys; from pathlib import Path; from vmssdash.core.runlock import RunLock; "
    "lock = RunLock(Path(sys.argv[1]), sys.argv[2]); lock.acquire('upgrade of 40 VMs'); "
    "print('held', flush=True); sys.stdin.readline()"
)


def test_a_second_lock_on_the_set_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    first, second = RunLock(tmp_path, SET), RunLock(tmp_path, SET)
    with first.hold("upgrade of 40 VMs in 5 waves"):
        with pytest.raises(RunLockHeldError) as refused:
            second.acquire("rolling upgrade of vmss-web")
        text = str(refused.value)
        assert "vmss-web" in text and f"pid {os.getpid()}" in text
        assert "upgrade of 40 VMs in 5 waves" in text
        assert not second.held
        other = RunLock(tmp_path, SET.replace("vmss-web", "vmss-api"))
        with other.hold("upgrade"):  # another scale set is not blocked
            pass
    with second.hold("rolling upgrade of vmss-web"):  # released on the way out
        assert second.holder() is not None


def test_the_lock_is_released_when_the_run_fails(tmp_path: Path) -> None:
    lock = RunLock(tmp_path, SET)
    with pytest.raises(ValueError), lock.hold("upgrade"):
        raise ValueError("boom")
    assert lock.holder() is None
    with RunLock(tmp_path, SET).hold("again"):
        pass


def test_another_process_holding_it_refuses_us_until_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), SET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockHeldError, match=f"pid {holder.pid}"):
            RunLock(tmp_path, SET).acquire("upgrade")
    finally:
        holder.kill()  # a crash: no release, the holder file stays behind
        holder.wait(timeout=30)
    lock = RunLock(tmp_path, SET)
    stale = json.loads(lock.holder_path.read_text())
    assert stale["pid"] == holder.pid
    with lock.hold("upgrade") as me:  # taken over
        assert me.pid == os.getpid() and lock.holder() == me
