"""The client against the simulator over a real loopback socket.

The simulator runs on a manual clock; the client's injected ``sleep`` advances that clock,
so waiting for an operation takes no real time and is fully deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import image_patch
from tests.plugins.sim import SimHandle, SimTime
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import (
    ConflictError,
    NotFoundError,
    OperationFailedError,
    PreconditionFailedError,
    ReadOnlyError,
)
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import ScaleSetApi, list_scale_sets, list_subscriptions

NEW_VERSION = "24.04.202612010"


def client_for(sim: SimHandle, **kw: Any) -> ArmClient:
    t = SimTime(sim)
    host = sim.base_url.split("://", 1)[1]
    return ArmClient(sim.base_url, sleep=t.sleep, clock=t.clock, allowed_hosts={host}, **kw)


async def settle(api: ScaleSetApi, sim: SimHandle, done: Callable[[list[Any]], bool]) -> list[Any]:
    """Advance simulated time until ``done(vms)``; bounded, never a real sleep."""
    for _ in range(120):
        vms = await api.list_vms()
        if done(vms):
            return vms
        sim.advance(5.0)
    raise AssertionError("the simulator never reached the expected state")


async def test_list_get_and_page(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo", page_size=7)
    async with client_for(sim) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-web"))
        ss = await api.get()
        pages: list[int] = []
        vms = await api.list_vms(on_page=lambda p: pages.append(len(p)))
        sets = await list_scale_sets(client, api.resource_id.subscription, "vmssdash-demo")
        stale = await api.list_vms(filter="properties/latestModelApplied eq false")
        powered = await api.list_vms(
            filter="startswith(instanceView/statuses/code, 'PowerState') eq true"
        )
    expected_stale = {vm.instance_id for vm in vms if vm.properties.latest_model_applied is False}
    assert expected_stale and {vm.instance_id for vm in stale} == expected_stale
    assert len(powered) == 40
    assert ss.name == "vmss-web" and ss.etag
    assert len(vms) == 40 == sum(pages) and len(pages) == 6
    assert len({vm.instance_id for vm in vms}) == 40
    assert all(vm.properties.instance_view is not None for vm in vms)
    uds = {
        vm.properties.instance_view.platform_update_domain
        for vm in vms
        if vm.properties.instance_view
    }
    assert uds == {0, 1, 2, 3, 4}
    assert client.budget.lowest() is not None  # the simulator sends rate-limit headers
    assert {s.name for s in sets} >= {"vmss-web", "vmss-zonal", "vmss-rolling"}


async def test_edit_model_then_upgrade_one_update_domain(
    make_sim: Callable[..., SimHandle],
) -> None:
    sim = make_sim("demo")
    events: list[ClientEvent] = []
    async with client_for(sim, events=events.append) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-web"))
        loaded = await api.get()
        fresh = await api.update_model(image_patch(version=NEW_VERSION), etag=loaded.etag)
        assert fresh.etag != loaded.etag
        assert fresh.image_reference is not None and fresh.image_reference.version == NEW_VERSION
        vms = await api.list_vms()
        assert all(vm.properties.latest_model_applied is False for vm in vms)

        ud0 = [
            vm.instance_id
            for vm in vms
            if vm.properties.instance_view
            and vm.properties.instance_view.platform_update_domain == 0
        ]
        assert ud0
        operation = await api.begin_manual_upgrade(ud0)
        status = await operation.wait(timeout=3600)
        assert status.status == "Succeeded"

        def ud0_done(vms: list[Any]) -> bool:
            mine = [vm for vm in vms if vm.instance_id in ud0]
            return all(
                vm.properties.latest_model_applied
                and vm.properties.provisioning_state == "Succeeded"
                for vm in mine
            )

        vms = await settle(api, sim, ud0_done)
    others = [vm for vm in vms if vm.instance_id not in ud0]
    assert others and all(vm.properties.latest_model_applied is False for vm in others)
    assert any(e.kind == "lro" for e in events)


async def test_stale_etag_gives_412_with_both_versions(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    async with client_for(sim) as a, client_for(sim) as b:
        mine = ScaleSetApi(a, sim.resource_id("vmss-web"))
        other = ScaleSetApi(b, sim.resource_id("vmss-web"))
        loaded = await mine.get()
        await other.set_capacity(loaded.capacity + 1, etag=(await other.get()).etag)
        with pytest.raises(PreconditionFailedError) as info:
            await mine.update_model(image_patch(version=NEW_VERSION), etag=loaded.etag)
    err = info.value
    assert "the scale set changed since you loaded it" in str(err)
    assert err.yours is not None and err.theirs is not None
    assert err.yours.etag == loaded.etag and err.theirs.etag != loaded.etag
    assert err.theirs.capacity == loaded.capacity + 1


async def test_failed_upgrade_surfaces_server_error(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    async with client_for(sim) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-web"))
        loaded = await api.get()
        await api.update_model(image_patch(version="24.04.202611991-fail"), etag=loaded.etag)
        vms = await api.list_vms()
        operation = await api.begin_manual_upgrade([vms[0].instance_id])
        with pytest.raises(OperationFailedError) as info:
            await operation.wait(timeout=3600)
    assert info.value.code
    assert info.value.operation is not None and info.value.operation.status == "Failed"


async def test_second_concurrent_upgrade_conflicts(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    async with client_for(sim) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-web"))
        vms = await api.list_vms()
        stale = [vm.instance_id for vm in vms if not vm.properties.latest_model_applied]
        assert len(stale) >= 2
        first = await api.begin_manual_upgrade(stale[:1])
        with pytest.raises(ConflictError):
            await api.begin_manual_upgrade(stale[1:2])
        await first.wait(timeout=3600)


async def test_read_only_and_not_found(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    async with client_for(sim, read_only=True) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-web"))
        before = await api.get()
        with pytest.raises(ReadOnlyError):
            await api.update_model(image_patch(version=NEW_VERSION), etag=before.etag)
        with pytest.raises(ReadOnlyError):
            await api.begin_manual_upgrade(["0"])
        assert (await api.get()).etag == before.etag
        with pytest.raises(NotFoundError) as info:
            await ScaleSetApi(client, sim.resource_id("no-such-set")).get()
    assert info.value.request_id


async def test_vm_actions_and_get_vm(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    async with client_for(sim) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-small"))
        vms = await api.list_vms()
        target = vms[0].instance_id
        for action in ("poweroff", "start", "restart", "deallocate", "start", "reimage"):
            operation = await api.begin_action(action, [target])
            await operation.wait(timeout=3600)
            assert operation.succeeded, action
        vm = await api.get_vm(target)
        assert vm.instance_id == target and vm.properties.instance_view is not None
        power = vm.properties.instance_view.status_with_prefix("PowerState/")
        assert power is not None and power.code == "PowerState/running"
        with pytest.raises(NotFoundError):
            await api.get_vm("99999")


async def test_rolling_upgrade_start_status_and_cancel(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    async with client_for(sim) as client:
        api = ScaleSetApi(client, sim.resource_id("vmss-rolling"))
        loaded = await api.get()
        assert loaded.upgrade_mode == "Rolling"
        await api.begin_rolling_upgrade()
        latest = await api.rolling_upgrade_latest()
        assert latest.properties.running_status is not None
        assert latest.properties.running_status.code == "RollingForward"
        cancel = await api.begin_cancel_rolling_upgrade()
        await cancel.wait(timeout=3600)
        sim.advance(5.0)
        after = await api.rolling_upgrade_latest()
        assert after.properties.running_status is not None
        assert after.properties.running_status.code in ("Cancelled", "Completed")


async def test_list_subscriptions(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    async with client_for(sim) as client:
        subs = await list_subscriptions(client)
    assert [s.subscription_id for s in subs] == ["00000000-0000-0000-0000-000000000000"]
    assert subs[0].display_name


async def test_real_throttling_is_waited_out_and_tracked(
    make_sim: Callable[..., SimHandle],
) -> None:
    sim = make_sim("demo", page_size=7)
    events: list[ClientEvent] = []
    async with client_for(sim, events=events.append) as client:
        limits = {"HighCostGetVMScaleSet3Min": 4}
        control = await client._http.post(f"{sim.base_url}/_sim/throttle", json={"limits": limits})
        assert control.status_code == 200
        vms = await ScaleSetApi(client, sim.resource_id("vmss-web")).list_vms()
        assert len({vm.instance_id for vm in vms}) == 40
        assert client.budget.throttle_count >= 1
        assert client.budget.slowdown() > 1.0  # only a handful of list calls left
        assert "HighCostGetVMScaleSet3Min" in client.budget.summary()
    throttled = [e for e in events if e.kind == "retry" and e.status == 429]
    assert throttled and all(e.wait is not None and 0 < e.wait <= 180 for e in throttled)
    assert any(e.kind == "throttle" for e in events)  # the low budget was announced
