"""The simulator's Flexible sets: members through the VM API, Uniform-only calls refused."""

from __future__ import annotations

from typing import Any

import pytest

from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.fleet import filter_rows, load_fleet
from vmssdash.sim.scenario_fleet import FLEET_SUBSCRIPTIONS

PROD = FLEET_SUBSCRIPTIONS[0][0]
GROUP = "rg-web-prod"
COMPUTE_API = "2024-07-01"


def _set_id(name: str) -> str:
    return (
        f"/subscriptions/{PROD}/resourceGroups/{GROUP}/providers/Microsoft.Compute"
        f"/virtualMachineScaleSets/{name}"
    )


async def _members(client: ArmClient, name: str, *, expand: bool) -> list[dict[str, Any]]:
    params = {"$filter": f"'virtualMachineScaleSet/id' eq '{_set_id(name)}'"}
    if expand:
        params["$expand"] = "instanceView"
    out: list[dict[str, Any]] = []
    path = (
        f"/subscriptions/{PROD}/resourceGroups/{GROUP}/providers/Microsoft.Compute/virtualMachines"
    )
    async for page in client.iter_pages(path, params=params, api_version=COMPUTE_API):
        out.extend(page)
    return out


async def test_flexible_members_are_listed_through_the_vm_api(make_sim: Any) -> None:
    sim = make_sim("fleet", page_size=4)
    async with ArmClient(sim.base_url) as client:
        zonal = await _members(client, "vmss-flex-zonal", expand=True)
        regional = await _members(client, "vmss-flex-regional", expand=False)
    assert len(zonal) == 9 and len(regional) == 6  # across pages of four
    first = zonal[0]
    assert first["type"] == "Microsoft.Compute/virtualMachines"
    assert first["name"].startswith("vmss-flex-zonal_") and len(first["name"]) == 24
    props = first["properties"]
    assert props["virtualMachineScaleSet"]["id"] == _set_id("vmss-flex-zonal")
    assert "latestModelApplied" not in props
    assert "platformFaultDomain" not in props  # one fault domain: not set
    assert {s["code"].split("/")[0] for s in props["instanceView"]["statuses"]} >= {"PowerState"}
    assert {z for m in zonal for z in m["zones"]} == {"1", "2", "3"}
    assert {m["properties"]["platformFaultDomain"] for m in regional} == {0, 1}
    # Stale members: the image differs from the model's (the reference's way to tell).
    versions = [m["properties"]["storageProfile"]["imageReference"]["version"] for m in zonal]
    assert versions.count("24.04.202609110") == 3


async def test_uniform_only_calls_on_a_flexible_set_fail_as_in_azure(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with ArmClient(sim.base_url) as client:
        api = ScaleSetApi(client, _set_id("vmss-flex-zonal"))
        with pytest.raises(ArmError) as listing:
            await api.list_vms()
        assert (listing.value.status, listing.value.code) == (400, "OperationNotAllowed")
        with pytest.raises(ArmError) as one:
            await api.get_vm("vmss-flex-zonal_0abc1234")
        assert one.value.status == 400 and "must be a number" in str(one.value)
        path = f"/subscriptions/{PROD}/resourceGroups/{GROUP}/providers/Microsoft.Compute/virtualMachines"
        with pytest.raises(ArmError) as unfiltered:
            await client.get_json(path, params={"$expand": "instanceView"}, api_version=COMPUTE_API)
        assert unfiltered.value.status == 400
        # A Uniform set's VM list is untouched.
        uniform = ScaleSetApi(client, sim.resource_id("vmss-web"))
        assert len(await uniform.list_vms()) == 40


async def test_fleet_shows_flexible_sets_with_their_counts(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with ArmClient(sim.base_url) as client:
        fleet = await load_fleet(client)
    flexible = filter_rows(fleet.rows, "is:flexible")
    assert [r.name for r in flexible] == ["vmss-flex-regional", "vmss-flex-zonal"]
    assert all(r.orchestration == "Flexible" and r.stale is not None for r in flexible)
