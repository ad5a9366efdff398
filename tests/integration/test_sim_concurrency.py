"""State stays consistent when many clients hit the simulator at once."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import API
from tests.plugins.sim import SimHandle, scale_set_id
from vmssdash.azure.models.operations import OperationStatus
from vmssdash.azure.models.vm import ScaleSetVM

WEB = scale_set_id("vmss-web")


async def list_vms(c: httpx.AsyncClient) -> list[dict[str, Any]]:
    url: str | None = f"{WEB}/virtualMachines?api-version=2026-04-01&$expand=instanceView"
    items: list[dict[str, Any]] = []
    while url:
        r = await c.get(url)
        assert r.status_code == 200, r.text
        items.extend(r.json()["value"])
        url = r.json().get("nextLink")
    return items


async def test_hammer_from_many_tasks(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo", page_size=9, throttle=None)
    sim.app.state.sim.throttle.config.enabled = False
    rng = random.Random(11)
    accepted: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def ticker() -> None:
        # Another thread moves time while requests are served: the world lock matters.
        while not stop.is_set():
            sim.advance(0.5)
            stop.wait(0.002)

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    try:
        async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False, timeout=30) as c:
            ids = [v["instanceId"] for v in await list_vms(c)]

            async def reader() -> None:
                for _ in range(6):
                    items = await list_vms(c)
                    seen = [v["instanceId"] for v in items]
                    assert len(seen) == len(set(seen))
                    for item in items:
                        vm = ScaleSetVM.from_json(item)
                        view = vm.properties.instance_view
                        assert view is not None
                        codes = [s.code or "" for s in view.statuses]
                        assert sum(code.startswith("ProvisioningState/") for code in codes) == 1

            async def writer() -> None:
                for _ in range(8):
                    target = rng.sample(ids, 2)
                    action = rng.choice(["manualupgrade", "restart", "reimage"])
                    r = await c.post(f"{WEB}/{action}", params=API, json={"instanceIds": target})
                    statuses.append(r.status_code)
                    if r.status_code == 202:
                        accepted.append(r.headers["azure-asyncoperation"])
                    await asyncio.sleep(0)

            async def patcher() -> None:
                for n in range(4):
                    etag = (await c.get(WEB, params=API)).json()["etag"]
                    r = await c.patch(
                        WEB,
                        params=API,
                        json={"tags": {"round": str(n)}},
                        headers={"If-Match": etag},
                    )
                    statuses.append(r.status_code)

            await asyncio.gather(
                *(reader() for _ in range(6)), *(writer() for _ in range(6)), patcher()
            )
    finally:
        stop.set()
        thread.join()

    assert set(statuses) <= {200, 202, 409, 412}, statuses
    assert accepted, "some actions must get through"
    sim.advance(600)
    async with httpx.AsyncClient(trust_env=False) as c:
        for url in accepted:
            status = OperationStatus.model_validate((await c.get(url)).json())
            assert status.status == "Succeeded"
    world = sim.world
    vmss = world.find_scale_set("00000000-0000-0000-0000-000000000000", "vmssdash-demo", "vmss-web")
    assert vmss is not None
    assert len(vmss.vms) == vmss.sku["capacity"] == 40
    assert all(vm.busy is None and vm.provisioning == "Succeeded" for vm in vmss.vms.values())
    assert all(op.done for op in world.operations.values())
    assert world.pending_events == 0
