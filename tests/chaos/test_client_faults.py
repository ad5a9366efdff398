"""The client under injected faults: 10 % 429s, 2 % 5xx, dropped connections.

Listing 1,000 VMs must return every VM exactly once, and a manual upgrade must end with
every targeted VM on the latest model, without a blind retry of the POST: when a dispatch
fails in a way that leaves its fate unknown, we look at the VMs and decide, as the
orchestrator does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import image_patch
from tests.plugins.sim import SimHandle, SimTime
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmConnectionError, ArmError, ConflictError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.lro import Operation
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.scaleset import ScaleSetApi

FAULTS = "429=0.1,500=0.01,503=0.01,retry-after=0"
NEW_VERSION = "24.04.202612010"


def client_for(sim: SimHandle, time: SimTime, events: list[ClientEvent]) -> ArmClient:
    return ArmClient(sim.base_url, sleep=time.sleep, clock=time.clock, events=events.append)


async def test_list_1000_vms_under_throttling_and_5xx(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("large", faults=FAULTS, seed=7)
    time, events = SimTime(sim), list[ClientEvent]()
    async with client_for(sim, time, events) as client:
        vms = await ScaleSetApi(client, sim.resource_id("vmss-large")).list_vms()
        requests = client.request_count
    ids = [vm.instance_id for vm in vms]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert all(vm.properties.instance_view is not None for vm in vms)
    retries = [e for e in events if e.kind == "retry"]
    assert retries, "the fault mix should have forced at least one retry"
    assert requests == 20 + len(retries)  # 20 pages of 50, plus one request per retry
    assert any(e.status == 429 for e in retries)


async def test_list_survives_dropped_connections(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("large", faults="reset=0.1", seed=3)
    time, events = SimTime(sim), list[ClientEvent]()
    async with client_for(sim, time, events) as client:
        vms = await ScaleSetApi(client, sim.resource_id("vmss-large")).list_vms()
    assert len({vm.instance_id for vm in vms}) == 1000
    assert any("connection" in e.message for e in events if e.kind == "retry")


def _on_new_model(vm: ScaleSetVM) -> bool:
    return (
        bool(vm.properties.latest_model_applied) and vm.properties.provisioning_state == "Succeeded"
    )


async def _dispatch(api: ScaleSetApi, ids: list[str], sim: SimHandle) -> Operation | None:
    """Start the upgrade; if the answer was lost, find out from the VMs what happened."""
    for _ in range(20):
        try:
            return await api.begin_manual_upgrade(ids)
        except ConflictError:
            sim.advance(10.0)  # an earlier, lost dispatch is still running
        except (ArmConnectionError, ArmError) as exc:
            if exc.status is not None and exc.status < 500:
                raise
        vms = {vm.instance_id: vm for vm in await api.list_vms()}
        pending = [
            i
            for i in ids
            if not _on_new_model(vms[i]) and vms[i].properties.provisioning_state != "Updating"
        ]
        if not pending:
            return None  # the lost request was processed; the VMs will tell
        ids = pending
    raise AssertionError("could not dispatch the upgrade")


@pytest.mark.parametrize("faults", [FAULTS, FAULTS + ",reset=0.03"], ids=["5xx", "5xx+resets"])
async def test_manual_upgrade_under_faults(make_sim: Callable[..., SimHandle], faults: str) -> None:
    sim = make_sim("large", faults=faults, seed=11)
    time, events = SimTime(sim), list[ClientEvent]()
    async with client_for(sim, time, events) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-large"))
        for _ in range(5):
            loaded = await api.get()
            try:
                await api.update_model(
                    image_patch(version=NEW_VERSION),
                    etag=loaded.etag,
                )
                break
            except ArmError as exc:
                if exc.status is None or exc.status < 500:
                    raise
        vms = await api.list_vms()
        targets = [
            vm.instance_id
            for vm in vms
            if vm.properties.instance_view
            and vm.properties.instance_view.platform_update_domain == 0
        ][:40]
        assert targets
        operation = await _dispatch(api, targets, sim)
        if operation is not None:
            status = await operation.wait(timeout=7200)
            assert status.status == "Succeeded"
        final: list[Any] = []
        for _ in range(200):
            final = [vm for vm in await api.list_vms() if vm.instance_id in targets]
            if all(_on_new_model(vm) for vm in final):
                break
            sim.advance(10.0)
    assert len(final) == len(targets) and all(_on_new_model(vm) for vm in final)
    assert [e for e in events if e.kind == "retry"], "faults should have caused retries"
