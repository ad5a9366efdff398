"""Flexible scale sets through ``ScaleSetApi``: members from the VM API, upgrades by name,
the VM policies charged, and never a Uniform-only call (which Azure answers with 400)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from tests.plugins.sim import SimTime
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.plan import Strategy, build_plan, skip_reason
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot
from vmssdash.core.state import classify
from vmssdash.sim.scenario_fleet import FLEET_SUBSCRIPTIONS
from vmssdash.sim.throttle import ThrottleConfig

PROD = FLEET_SUBSCRIPTIONS[0][0]
GROUP = "rg-web-prod"
VMS_PATH = f"/subscriptions/{PROD}/resourceGroups/{GROUP}/providers/Microsoft.Compute"


def _set_id(name: str) -> str:
    return f"{VMS_PATH}/virtualMachineScaleSets/{name}"


def _uniform_only(url: str) -> bool:
    """A request on the scale-set VM API (``…/virtualMachineScaleSets/{n}/virtualMachines``)."""
    return (
        "/virtualmachinescalesets/" in url.lower()
        and "/virtualmachines" in url.lower().split("/virtualmachinescalesets/", 1)[1]
    )


async def test_members_are_listed_by_name_with_zone_fault_domain_and_staleness(
    make_sim: Any,
) -> None:
    sim = make_sim("fleet", page_size=4)
    seen: list[ClientEvent] = []
    async with ArmClient(sim.base_url, events=seen.append) as client:
        zonal = ScaleSetApi(client, _set_id("vmss-flex-zonal"))
        await zonal.get()
        assert zonal.flexible
        vms = await zonal.list_vms()
        regional = ScaleSetApi(client, _set_id("vmss-flex-regional"))
        await regional.get()
        regional_vms = await regional.list_vms()
        one = await zonal.get_vm(vms[0].instance_id)
    assert len(vms) == 9 and len(regional_vms) == 6  # across pages of four
    infos = [classify(vm) for vm in vms]
    assert all(i.instance_id == i.name and i.name.startswith("vmss-flex-zonal_") for i in infos)
    assert {i.zone for i in infos} == {"1", "2", "3"}
    assert [i.latest_model for i in infos].count(False) == 3  # image differs from the model's
    assert [i.latest_model for i in infos].count(True) == 6
    assert all(i.update_domain is None for i in infos)
    assert {classify(vm).fault_domain for vm in regional_vms} == {0, 1}
    assert classify(one) == infos[0]
    # The raw JSON is what Azure sent (no derived latestModelApplied in it).
    assert "latestModelApplied" not in vms[0].raw["properties"]
    requests = [e.url or "" for e in seen if e.kind == "request"]
    assert requests and not [u for u in requests if _uniform_only(u)]


async def test_manual_upgrade_by_name_brings_stale_members_to_the_model(make_sim: Any) -> None:
    sim = make_sim("fleet")
    time = SimTime(sim)
    async with ArmClient(sim.base_url, sleep=time.sleep, clock=time.clock) as client:
        api = ScaleSetApi(client, _set_id("vmss-flex-zonal"))
        await api.get()
        stale = [
            vm.instance_id for vm in await api.list_vms() if classify(vm).latest_model is False
        ]
        assert len(stale) == 3
        with pytest.raises(ValueError, match="VM names"):
            await api.begin_manual_upgrade(["0"])
        with pytest.raises(ValueError, match="refused"):
            await api.begin_manual_upgrade(["*"])
        operation = await api.begin_manual_upgrade(stale)
        await operation.wait()
        after = {vm.instance_id: classify(vm) for vm in await api.list_vms()}
    assert all(after[i].latest_model is True for i in stale)
    counts = {
        sim.world.vm_name(s, vm): vm.manual_upgrades
        for s in sim.world.scale_sets_in(PROD, GROUP)
        for vm in s.vms.values()
    }
    assert sorted(n for n, c in counts.items() if c) == sorted(stale)


async def test_uniform_names_and_flexible_numbers_are_refused(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with ArmClient(sim.base_url) as client:
        uniform = ScaleSetApi(client, sim.resource_id("vmss-web"))
        await uniform.get()
        with pytest.raises(ValueError, match="decimal"):
            await uniform.begin_manual_upgrade(["vmss-web_ab12cd34"])
        # On the wire, a Flexible set takes no instance numbers (Azure: not a member).
        with pytest.raises(ArmError) as refused:
            await client.begin(
                "POST", f"{_set_id('vmss-flex-zonal')}/manualupgrade", json={"instanceIds": ["0"]}
            )
    assert refused.value.status == 400


async def test_uniform_only_calls_answer_400_and_the_api_makes_none(make_sim: Any) -> None:
    sim = make_sim("fleet")
    seen: list[ClientEvent] = []
    async with ArmClient(sim.base_url, events=seen.append) as client:
        base = f"{_set_id('vmss-flex-zonal')}/virtualMachines"
        with pytest.raises(ArmError) as listing:
            await client.get_json(base, params={"$expand": "instanceView"})
        assert (listing.value.status, listing.value.code) == (400, "OperationNotAllowed")
        with pytest.raises(ArmError) as by_name:
            await client.get_json(f"{base}/vmss-flex-zonal_0abc1234")
        assert by_name.value.status == 400 and "must be a number" in str(by_name.value)
        seen.clear()
        api = ScaleSetApi(client, _set_id("vmss-flex-zonal"))
        await api.get()
        vms = await api.list_vms()
        await api.get_vm(vms[-1].instance_id)
        with pytest.raises(ValueError, match="Uniform-only"):
            await api.list_vms(filter="properties/latestModelApplied eq false")
    urls = [e.url or "" for e in seen if e.kind == "request"]
    assert len(urls) == 3 and not [u for u in urls if _uniform_only(u)]


def test_vm_api_reads_are_charged_to_the_vm_policies(make_sim: Any) -> None:
    sim = make_sim("fleet", serve=False, throttle=ThrottleConfig(limits={"HighCostGet3Min": 2}))
    transport = httpx.ASGITransport(app=sim.app)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            params = {
                "api-version": "2024-07-01",
                "$filter": f"'virtualMachineScaleSet/id' eq '{_set_id('vmss-flex-zonal')}'",
            }
            lists = [await http.get(f"{VMS_PATH}/virtualMachines", params=params) for _ in range(3)]
            name = lists[0].json()["value"][0]["name"]
            one = await http.get(
                f"{VMS_PATH}/virtualMachines/{name}", params={"api-version": "2024-07-01"}
            )
            return [*lists, one]

    first, second, third, one = asyncio.run(run())
    assert first.status_code == 200
    assert (
        "Microsoft.Compute/HighCostGet3Min;1" in first.headers["x-ms-ratelimit-remaining-resource"]
    )
    assert second.status_code == 200
    assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1
    assert one.status_code == 200
    assert "Microsoft.Compute/LowCostGet3Min;" in one.headers["x-ms-ratelimit-remaining-resource"]


async def test_plans_target_stale_members_by_name_zone_by_zone(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with ArmClient(sim.base_url) as client:
        api = ScaleSetApi(client, _set_id("vmss-flex-zonal"))
        scale_set = await api.get()
        snapshot = ScaleSetSnapshot.build(scale_set, await api.list_vms())
    stale = sorted(snapshot.stale_ids())
    assert len(stale) == 3 and all(i.startswith("vmss-flex-zonal_") for i in stale)
    by_zone = build_plan(snapshot, Strategy.ZONE)
    assert sorted(i for w in by_zone.waves for i in w.instance_ids) == stale
    assert not [s for s in by_zone.skipped if "unreadable" in s.reason]
    zones = {snapshot.by_id[i].zone or "" for i in stale}
    assert [w.label for w in by_zone.waves] == [f"zone {z}" for z in sorted(zones)]
    batches = build_plan(snapshot, Strategy.BATCH)
    assert batches.waves and not [w for w in batches.waves if "UD" in w.label]
    # A malformed member (its id not its name) is never a target.
    odd = dataclasses.replace(snapshot.by_id[stale[0]], instance_id="7")
    assert skip_reason(odd, flexible=True) is not None


async def test_a_regional_set_groups_by_fault_domain_and_g_skips_update_domains(
    make_sim: Any,
) -> None:
    sim = make_sim("fleet")
    async with ArmClient(sim.base_url) as client:
        api = ScaleSetApi(client, _set_id("vmss-flex-regional"))
        snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    rows = snapshot.groups(snapshot.default_grouping)
    assert [(g.label, len(g.vms)) for g in rows] == [("FD 0", 3), ("FD 1", 3)]
    cycle = [Grouping.ZONE_FAULT_DOMAIN]
    for _ in range(3):
        cycle.append(cycle[-1].next(flexible=True))
    assert cycle == [
        Grouping.ZONE_FAULT_DOMAIN,
        Grouping.FAULT_DOMAIN,
        Grouping.ZONE,
        Grouping.ZONE_FAULT_DOMAIN,
    ]
    assert Grouping.ZONE.next() is Grouping.UPDATE_DOMAIN  # Uniform's cycle as before
