"""Benchmark: the refresh parse path against ``json.loads`` of the same bytes (issue 11).

The bytes are the simulator's own: the ``large`` scenario (1,000 VMs) listed with
``$expand=instanceView``, 50 VMs a page, served by its ARM handler in process (no
socket). Each page is turned into what the heatmap needs, ``ScaleSetVM``s and their
``VmInfo``s, by the functions the client runs on a page, and the time is compared with
``json.loads`` of the same pages. Best of ``BENCH_PARSE_RUNS`` rounds, the paths timed
in turn in each round so that load from other processes hits them alike. The two halves
are also timed alone, and so is the careful path that a page with a malformed item takes.

Run: ``PYTHONPATH=. .venv/bin/python -m tests.benchmarks bench_parse`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import SUB
from vmssdash.azure.decode import list_page
from vmssdash.azure.vm_pages import read_vm_page, vms_from
from vmssdash.core.state import VmInfo, classify
from vmssdash.sim.app import create_app

RID = (
    f"/subscriptions/{SUB}/resourceGroups/vmssdash-demo/providers/Microsoft.Compute"
    "/virtualMachineScaleSets/vmss-large"
)
RUNS = int(os.environ.get("BENCH_PARSE_RUNS", "30"))
TARGET = 1.5


def simulator_pages() -> list[httpx.Response]:
    """Every page of the large set's VM list, as the simulator serves it."""

    async def fetch() -> list[httpx.Response]:
        app = create_app("large", manual_clock=True, seed=0, faults="off")
        transport = httpx.ASGITransport(app=app)
        pages: list[httpx.Response] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            url: str | None = f"{RID}/virtualMachines"
            params: dict[str, str] | None = {
                "api-version": "2024-07-01",
                "$expand": "instanceView",
            }
            while url:
                got = await http.get(url, params=params)
                got.raise_for_status()
                # As ArmClient holds it: a read response with the body in memory.
                pages.append(httpx.Response(200, content=got.content, request=got.request))
                url, params = json.loads(got.content).get("nextLink"), None
        return pages

    return asyncio.run(fetch())


def parse_path(pages: list[httpx.Response]) -> list[VmInfo]:
    """Bytes to what the heatmap reads, page by page as ``ScaleSetApi.list_vms`` does."""
    infos: list[VmInfo] = []
    for page in pages:
        vms, _ = read_vm_page(page, len(infos))
        infos.extend(classify(vm) for vm in vms)
    return infos


def json_loads(pages: list[httpx.Response]) -> list[Any]:
    return [json.loads(page.content) for page in pages]


def careful_path(pages: list[httpx.Response]) -> list[VmInfo]:
    """The path of a page the fast one refuses (a malformed item): decoded to dicts,
    then validated; what every page took before issue 11."""
    infos: list[VmInfo] = []
    for page in pages:
        items, _ = list_page(page)
        infos.extend(classify(vm) for vm in vms_from(items, len(infos)))
    return infos


def best_of(runs: int, *fns: Callable[[], object]) -> list[float]:
    best = [float("inf")] * len(fns)
    for _ in range(runs):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def main() -> None:
    pages = simulator_pages()
    infos = parse_path(pages)
    assert len(infos) == 1000 and all(i.update_domain is not None for i in infos)
    size = sum(len(p.content) for p in pages)
    vms = [vm for page in pages for vm in read_vm_page(page, 0)[0]]
    loads, ours, read, classified, careful = best_of(
        RUNS,
        lambda: json_loads(pages),
        lambda: parse_path(pages),
        lambda: [read_vm_page(page, 0) for page in pages],
        lambda: [classify(vm) for vm in vms],
        lambda: careful_path(pages),
    )
    print(
        f"{len(infos)} VMs with instance views, {len(pages)} pages, {size / 1e6:.1f} MB "
        f"(simulator 'large', in process); best of {RUNS}"
    )
    print(f"{'path':<40}{'ms':>8}{'× json.loads':>14}")
    print(f"{'json.loads':<40}{loads * 1e3:>8.1f}{1.0:>14.2f}")
    print(f"{'bytes → ScaleSetVM + VmInfo':<40}{ours * 1e3:>8.1f}{ours / loads:>14.2f}")
    for name, took in (
        ("  bytes → ScaleSetVM alone", read),
        ("  ScaleSetVM → VmInfo alone", classified),
        ("careful path (dicts, then validation)", careful),
    ):
        print(f"{name:<40}{took * 1e3:>8.1f}{took / loads:>14.2f}")
    verdict = "met" if ours / loads <= TARGET else "NOT met"
    print(f"target ≤ {TARGET} × json.loads: {verdict}")


if __name__ == "__main__":
    main()
