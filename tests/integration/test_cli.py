"""The command line fails with one clear line, and never leaves a simulator behind."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from vmssdash.demo import free_port, run_simulator

DEMO_RG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
VMSS = "/providers/Microsoft.Compute/virtualMachineScaleSets/"


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull}
    return subprocess.run(
        [sys.executable, "-m", "vmssdash", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vmssdash: ")
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]


def test_unreachable_endpoint_is_one_line() -> None:
    port = free_port()  # nothing listens here
    result = _run(
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--auth",
        "none",
        "--resource-id",
        f"{DEMO_RG}{VMSS}vmss-web",
    )
    _assert_one_clear_line(result, "127.0.0.1")


def test_unknown_scale_set_is_one_line() -> None:
    with run_simulator(scenario="small") as sim:
        result = _run(
            "--endpoint",
            sim.base_url,
            "--auth",
            "none",
            "--resource-id",
            f"{DEMO_RG}{VMSS}no-such-set",
        )
    _assert_one_clear_line(result, "no-such-set")


def test_malformed_resource_id_is_a_usage_error() -> None:
    result = _run(
        "--endpoint", "http://127.0.0.1:1", "--auth", "none", "--resource-id", "/subscriptions/x"
    )
    _assert_one_clear_line(result)
    assert result.returncode == 2


def test_simulator_prints_resource_ids() -> None:
    with run_simulator(scenario="demo") as sim:
        assert any(r.endswith(f"{VMSS}vmss-web") for r in sim.resource_ids)
        assert all(r.startswith(DEMO_RG) for r in sim.resource_ids)
        pid = sim.process.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                return seen
    return seen


def _simulator_children(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "sim" in " ".join(c.cmdline())]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_demo_stops_its_simulator_on_interrupt(sig: signal.Signals, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
        "VMSSDASH_CONFIG": os.devnull,
        "XDG_STATE_HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash", "demo", "--speed", "1"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    try:
        screen = _read_until(master, b"UD 0", time.monotonic() + 30)
        assert b"UD 0" in screen, screen[-2000:]
        children = _simulator_children(proc.pid)
        assert children, "the demo should run the simulator as a child process"
        proc.send_signal(sig)
        # Keep draining the terminal while it exits: a full pty would block its last writes.
        rest = b""
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            rest += _read_until(master, b"\x00never", time.monotonic() + 0.2)
        assert proc.poll() is not None, "the demo did not exit on the signal"
        rest += _read_until(master, b"\x00never", time.monotonic() + 0.5)
        assert b"Traceback" not in screen + rest
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"simulator left behind: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
