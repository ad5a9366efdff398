"""How long one dashboard refresh of the ``large`` scenario costs over loopback.

A refresh is the full VMSS-VM list with ``$expand=instanceView``, every page followed by
``nextLink`` (1,000 VMs), exactly what the poller does. Throttling is off here: 20 pages
per refresh would spend the HighCostGetVMScaleSet3Min budget (180) in nine refreshes.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.sim.throttle import ThrottleConfig

RID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
    "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-large"
)
ROUNDS = 30


def refresh_sync(client: httpx.Client) -> tuple[int, int]:
    url: str | None = f"{RID}/virtualMachines?api-version=2026-04-01&$expand=instanceView"
    count = pages = 0
    while url:
        body = client.get(url).json()
        count += len(body["value"])
        pages += 1
        url = body.get("nextLink")
    return count, pages


def refresh_raw(client: httpx.Client) -> int:
    """Transfer only: the nextLink is cut from the tail instead of parsing the page."""
    url: str | None = f"{RID}/virtualMachines?api-version=2026-04-01&$expand=instanceView"
    size = 0
    while url:
        raw = client.get(url).content
        size += len(raw)
        tail = raw[-600:]
        at = tail.rfind(b'"nextLink":"')
        url = tail[at + 12 : tail.rfind(b'"')].decode() if at >= 0 else None
    return size


async def refresh_async(client: httpx.AsyncClient) -> int:
    url: str | None = f"{RID}/virtualMachines?api-version=2026-04-01&$expand=instanceView"
    count = 0
    while url:
        body = (await client.get(url)).json()
        count += len(body["value"])
        url = body.get("nextLink")
    return count


@contextlib.contextmanager
def in_thread(page_size: int) -> Iterator[str]:
    app = create_app(
        "large", manual_clock=True, page_size=page_size, throttle=ThrottleConfig(enabled=False)
    )
    with serve_in_thread(app) as server:
        yield server.base_url


@contextlib.contextmanager
def in_child(page_size: int) -> Iterator[str]:
    """As ``vmssdash demo`` runs it: its own process, so no GIL shared with the client."""
    cmd = [sys.executable, "-m", "vmssdash.sim.cli", "--scenario", "large", "--port", "0"]
    cmd += ["--page-size", str(page_size), "--manual-clock", "--no-throttle"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        base = proc.stderr.readline().split(" on ")[1].split()[0]
        with httpx.Client(trust_env=False) as probe:
            for _ in range(500):
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(f"{base}/_sim/health").status_code == 200:
                        break
                time.sleep(0.01)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def measure(page_size: int, where: str) -> dict[str, float]:
    serve = in_thread if where == "thread" else in_child
    with serve(page_size) as base_url, httpx.Client(base_url=base_url) as client:
        started = time.perf_counter()
        count, pages = refresh_sync(client)
        cold = (time.perf_counter() - started) * 1000
        assert count == 1000, count
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            refresh_sync(client)
            times.append((time.perf_counter() - started) * 1000)

        raw_times = []
        size = 0
        for _ in range(ROUNDS):
            started = time.perf_counter()
            size = refresh_raw(client)
            raw_times.append((time.perf_counter() - started) * 1000)

        async def run_async() -> list[float]:
            out = []
            async with httpx.AsyncClient(base_url=base_url) as aclient:
                await refresh_async(aclient)
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    assert await refresh_async(aclient) == 1000
                    out.append((time.perf_counter() - started) * 1000)
            return out

        async_times = asyncio.run(run_async())
    times.sort()
    async_times.sort()
    return {
        "pages": pages,
        "cold": cold,
        "median": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "async_median": statistics.median(async_times),
        "raw_median": statistics.median(raw_times),
        "mb": size / 1e6,
    }


def main() -> None:
    print(f"large scenario, 1,000 VMs with instance views, {ROUNDS} refreshes each")
    print(
        f"{'server':>7} {'page size':>9} {'pages':>5} {'cold ms':>8} {'median ms':>9} "
        f"{'p95 ms':>7} {'async median ms':>15} {'no-parse ms':>11} {'MB':>5}"
    )
    for where, page_size in (("child", 50), ("child", 100), ("child", 1000), ("thread", 50)):
        r = measure(page_size, where)
        print(
            f"{where:>7} {page_size:>9} {r['pages']:>5.0f} {r['cold']:>8.1f} {r['median']:>9.1f} "
            f"{r['p95']:>7.1f} {r['async_median']:>15.1f} {r['raw_median']:>11.1f} "
            f"{r['mb']:>5.2f}"
        )
    print(
        "median/p95: sync httpx incl. JSON parsing; no-parse: transfer only (server cost); "
        "child = simulator in its own process (as `vmssdash demo` runs it), thread = same "
        "process as the client (shares the GIL)"
    )


if __name__ == "__main__":
    main()
