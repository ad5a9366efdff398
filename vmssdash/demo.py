"""Run the simulator as a child process for `vmssdash demo`.

The simulator runs in its own process (not a thread of the TUI) so that the demo
exercises exactly the wire path a real scale set does, and so that a slow simulated
request can never stall the UI's event loop. The child is tied to this process's
lifetime three ways: a context manager that stops it, ``PR_SET_PDEATHSIG`` so the
kernel kills it if we die without cleaning up, and a bounded terminate → kill.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "vmssdash-demo"


class SimulatorStartError(RuntimeError):
    """The child simulator did not come up; the message says why in one line."""


@dataclass(frozen=True)
class RunningSimulator:
    base_url: str
    resource_ids: tuple[str, ...]
    process: subprocess.Popen[str]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel for SIGTERM when the parent dies."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _read_resource_ids(proc: subprocess.Popen[str], deadline: float) -> list[str]:
    """The simulator prints one resource id per line, then keeps serving."""
    ids: list[str] = []
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            if line.strip().startswith("/subscriptions/"):
                ids.append(line.strip())
            continue
        if ids or proc.poll() is not None:
            break
        time.sleep(0.02)
    return ids


@contextlib.contextmanager
def run_simulator(
    *,
    scenario: str = "demo",
    speed: float = 1.0,
    seed: int = 0,
    faults: str | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[RunningSimulator]:
    """Start ``vmssdash sim`` on a free loopback port, wait until it answers, stop it after."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "vmssdash",
        "sim",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--scenario",
        scenario,
        "--speed",
        str(speed),
        "--seed",
        str(seed),
    ]
    if faults:
        cmd += ["--faults", faults]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        start_new_session=True,  # Ctrl+C in the terminal reaches us, not the child
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        _wait_until_ready(proc, base_url, deadline)
        ids = _read_resource_ids(proc, deadline)
        yield RunningSimulator(base_url=base_url, resource_ids=tuple(ids), process=proc)
    finally:
        stop_process(proc)


def _wait_until_ready(proc: subprocess.Popen[str], base_url: str, deadline: float) -> None:
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
                reason = err[-1] if err else f"exit code {proc.returncode}"
                raise SimulatorStartError(f"the simulator exited during startup: {reason}")
            try:
                if client.get(f"{base_url}/_sim/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise SimulatorStartError(f"the simulator did not answer on {base_url} within the timeout")


def stop_process(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """Terminate, then kill; never leave the simulator running behind us."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=grace)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
