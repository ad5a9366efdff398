"""Benchmark: list + parse 1,000 VMs with instance views, ours vs azure-mgmt-compute.

The simulator (scenario ``large``) runs in a child process so that the CPU time measured
here is the client's alone. Both clients fetch the same pages over the same loopback
socket; each is run a few times and the best run is reported (warm connection pools and
imports, so the figures compare steady-state work, not start-up).

Run: ``.venv/bin/python -m tests.benchmarks bench_client`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.factories import SUB

RG = "vmssdash-demo"
NAME = "vmss-large"
RID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{NAME}"
RUNS = int(os.environ.get("BENCH_CLIENT_RUNS", "5"))


@dataclass
class Figures:
    name: str
    vms: int
    requests: int
    wall: float
    cpu: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def simulator(scenario: str = "large") -> Iterator[str]:
    """Serve the simulator in a child process; yield its base URL."""
    port = _free_port()
    code = (
        "import sys\n"
        "from vmssdash.sim.cli import main\n"
        f"sys.exit(main(['--scenario', {scenario!r}, '--port', '{port}', '--host', '127.0.0.1']))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/_sim/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reset_throttle(base: str) -> None:
    """Refill the simulator's rate-limit buckets, so no run waits out a 429 left by the
    previous ones (the SDK would silently sleep through a three-minute Retry-After)."""
    httpx.post(f"{base}/_sim/throttle", json={"reset": True}, timeout=10.0).raise_for_status()


def measure(name: str, base: str, run: Callable[[], tuple[int, int]]) -> Figures:
    """Best of ``RUNS`` by wall time; ``run`` returns (vms, requests)."""
    best: Figures | None = None
    for _ in range(RUNS):
        reset_throttle(base)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        vms, requests = run()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if best is None or wall < best.wall:
            best = Figures(name, vms, requests, wall, cpu)
    assert best is not None
    return best


def run_ours(base: str) -> tuple[int, int]:
    from vmssdash.azure.client import ArmClient
    from vmssdash.azure.scaleset import ScaleSetApi

    async def go() -> tuple[int, int]:
        async with ArmClient(base) as client:
            vms = await ScaleSetApi(client, RID).list_vms()
            # Touch what the heatmap reads, so lazy work (if any) is counted.
            uds = {
                vm.properties.instance_view.platform_update_domain
                for vm in vms
                if vm.properties.instance_view
            }
            assert uds, "no instance views parsed"
            return len(vms), client.request_count

    return asyncio.run(go())


def run_sdk(base: str) -> tuple[int, int]:
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.mgmt.compute import ComputeManagementClient

    count = 0

    def hook(request: Any) -> None:
        nonlocal count
        count += 1

    class _NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:  # never called
            raise AssertionError("no auth against the simulator")

    client = ComputeManagementClient(
        _NoCredential(),  # type: ignore[arg-type]
        SUB,
        base_url=base,
        authentication_policy=SansIOHTTPPolicy(),
        raw_request_hook=hook,
    )
    with client:
        vms = list(client.virtual_machine_scale_set_vms.list(RG, NAME, expand="instanceView"))
        uds = {vm.instance_view.platform_update_domain for vm in vms if vm.instance_view}
        assert uds, "no instance views parsed"
    return len(vms), count


def main() -> None:
    with simulator("large") as base:
        ours = measure("vmssdash ArmClient", base, lambda: run_ours(base))
        sdk = measure("azure-mgmt-compute", base, lambda: run_sdk(base))
    print(
        f"list + parse {ours.vms} VMs with instance views (best of {RUNS}; simulator in a child process)"
    )
    print(f"{'client':<22}{'VMs':>6}{'requests':>10}{'wall s':>9}{'CPU s':>8}")
    for f in (ours, sdk):
        print(f"{f.name:<22}{f.vms:>6}{f.requests:>10}{f.wall:>9.3f}{f.cpu:>8.3f}")
    print(
        f"speed-up: wall ×{sdk.wall / ours.wall:.1f}, CPU ×{sdk.cpu / ours.cpu:.1f} "
        f"(same {ours.requests} vs {sdk.requests} requests)"
    )


if __name__ == "__main__":
    main()
