"""The VM list's fast path (issue 11): a well-formed page is validated once, straight from
its bytes, and reads exactly as the careful path that validates decoded items one by one:
same VMs, same ``VmInfo``s, same models, the raw JSON kept."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from tests.factories import vm_json
from vmssdash.azure import vm_pages
from vmssdash.azure.models.vm import ScaleSetVM, ScaleSetVMProperties
from vmssdash.azure.vm_pages import read_vm_page
from vmssdash.core.state import VmInfo, VmState, classify
from vmssdash.sim import render
from vmssdash.sim.app import create_app
from vmssdash.sim.world import World
from vmssdash.sim.world.model import ScaleSet, Vm

PROVISIONING = ("Succeeded", "Updating", "Creating", "Deleting", "Failed")
POWER = (None, "running", "starting", "stopping", "deallocating", "deallocated", "stopped")
HEALTH = (None, "healthy", "unhealthy", "initializing", "unknown")


def _sim_vms() -> tuple[World, ScaleSet, list[Vm]]:
    """The demo's 40-VM set with every VM in another mix of states; every ninth is listed
    without its instance view."""
    world = create_app("demo", manual_clock=True, seed=0, faults="off").state.world
    vmss = next(s for s in world.scale_sets.values() if s.name == "vmss-web")
    vms = vmss.sorted_vms()
    for k, vm in enumerate(vms):
        vm.provisioning = PROVISIONING[k % 5]
        if vm.provisioning == "Failed":
            vm.failure_code, vm.failure_message = "OSProvisioningTimedOut", "timed out"
        vm.power = POWER[k % 7]
        vm.health = HEALTH[(k // 2) % 5]
        vm.protect_from_scale_set_actions = k % 4 == 0
        vm.protect_from_scale_in = k % 6 == 0
    return world, vmss, vms


def _sim_items(world: World, vmss: ScaleSet, vms: list[Vm]) -> list[dict[str, Any]]:
    return [
        json.loads(render.dumps(render.scale_set_vm(world, vmss, vm, expand=k % 9 != 0)))
        for k, vm in enumerate(vms)
    ]


def _odd_items() -> list[dict[str, Any]]:
    """Shapes the simulator never sends but Azure may: odd, empty or unknown fields."""
    base = vm_json(900, zone="2", pg="pg-1")
    out = []
    for change in (
        lambda d: d["properties"]["instanceView"].update(
            statuses=[{"code": "Weird/thing"}, {"code": None}, {}, {"code": "PowerState/Running"}]
        ),
        lambda d: d["properties"]["instanceView"].update(
            statuses=[{"code": "provisioningstate/FAILED/Code", "time": "2026-01-01T00:00:00Z"}]
        ),
        lambda d: d["properties"]["instanceView"].update(vmHealth={"status": None}),
        lambda d: d["properties"]["instanceView"].update(statuses=[], platformUpdateDomain=None),
        lambda d: d["properties"].update(protectionPolicy=None, latestModelApplied=None),
        lambda d: d["properties"].update(instanceView={}),
        lambda d: d["properties"].update(
            storageProfile={"imageReference": {"id": "/images/web"}},
            osProfile={"computerName": "c"},
        ),
        lambda d: d.update(properties={}),
        lambda d: d.pop("properties"),
        lambda d: d.update(zones=["1", "3"], futureField={"kept": [1, 2]}, location="westeurope"),
        lambda d: d["properties"].update(newThing=3, hardwareProfile=5, timeCreated="garbage"),
    ):
        item = copy.deepcopy(base)
        item["instanceId"] = item["name"] = str(900 + len(out))
        change(item)
        out.append(item)
    return out


def _response(items: list[Any], next_link: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"value": items}
    if next_link is not None:
        body["nextLink"] = next_link
    request = httpx.Request("GET", "http://arm.test/virtualMachines")
    return httpx.Response(200, content=json.dumps(body).encode(), request=request)


def _careful(items: list[Any]) -> list[ScaleSetVM]:
    return [ScaleSetVM.model_validate(copy.deepcopy(item)) for item in items]


def _no_second_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    def decoded(response: httpx.Response) -> Any:
        raise AssertionError("a well-formed page was decoded to dicts")

    monkeypatch.setattr(vm_pages, "list_page", decoded)


def test_a_well_formed_page_reads_as_the_careful_path_without_dicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, vmss, sim_vms = _sim_vms()
    items = _sim_items(world, vmss, sim_vms) + _odd_items()
    _no_second_decode(monkeypatch)
    vms, link = read_vm_page(_response(items, "http://arm.test/next"), 0)
    assert link == "http://arm.test/next"
    infos = [classify(vm) for vm in vms]
    assert infos == [classify(vm) for vm in _careful(items)]
    assert len({i.state for i in infos}) >= 9  # the comparison covers most states
    # The models built on first use are those of the raw JSON (vm_json mirrors them).
    assert [vm.properties for vm in vms] == [
        ScaleSetVMProperties.model_validate(item.get("properties", {})) for item in items
    ]
    assert [vm.raw for vm in vms] == items


def test_what_the_heatmap_reads_is_what_the_simulator_sent() -> None:
    world, vmss, sim_vms = _sim_vms()
    vms, _ = read_vm_page(_response(_sim_items(world, vmss, sim_vms)), 0)
    for k, (sim, info) in enumerate(zip(sim_vms, map(classify, vms), strict=True)):
        assert info.instance_id == str(sim.instance_id)
        assert info.latest_model is (sim.applied_gen == vmss.model_gen)
        assert info.protected_from_scale_set_actions is sim.protect_from_scale_set_actions
        assert info.protected_from_scale_in is sim.protect_from_scale_in
        assert info.provisioning_state == sim.provisioning
        assert info.zone == sim.zone
        if k % 9 == 0:  # listed without an instance view
            assert info.update_domain is None and info.power_state is None
            assert info.state in (VmState.UNKNOWN, *_by_provisioning(sim))
            continue
        assert (info.update_domain, info.fault_domain) == (sim.ud, sim.fd)
        assert info.computer_name == sim.computer_name
        assert info.power_state == sim.power and info.health == sim.health
        assert info.failure_code == sim.failure_code
        if sim.provisioning in ("Succeeded", "Failed"):
            assert info.provisioning_time == world.datetime(sim.prov_time).isoformat()
        assert info.image_version == sim.exact_version


def _by_provisioning(sim: Vm) -> tuple[VmState, ...]:
    return {
        "Failed": (VmState.FAILED,),
        "Deleting": (VmState.DELETING,),
        "Creating": (VmState.CREATING,),
        "Updating": (VmState.UPDATING,),
    }.get(sim.provisioning, ())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instanceId", None),  # derived from the id
        ("instanceId", ""),
        ("latestModelApplied", "perhaps"),  # unreadable, with the reason
        ("latestModelApplied", 0),
        ("platformUpdateDomain", "one"),
    ],
)
def test_a_page_the_fast_path_cannot_take_reads_as_before(field: str, value: Any) -> None:
    items = [vm_json(i, ud=i % 5) for i in range(4)]
    odd = items[2]
    if field == "instanceId":
        del odd["name"]
        if value is None:
            del odd["instanceId"]
        else:
            odd["instanceId"] = value
    elif field == "latestModelApplied":
        odd["properties"][field] = value
    else:
        odd["properties"]["instanceView"][field] = value
    vms, _ = read_vm_page(_response(items), 10)
    infos = [classify(vm) for vm in vms]
    careful = [classify(vm) for vm in vm_pages.vms_from(copy.deepcopy(items), 10)]
    assert infos == careful
    if field == "instanceId":
        assert infos[2].instance_id == "2" and infos[2].name == "vmss-t_2"
    else:
        assert infos[2].unreadable and infos[2].state is VmState.UNKNOWN
        assert infos[2].instance_id == "2"
    assert [vm.raw for vm in vms] == items


def test_fields_nobody_reads_never_make_a_vm_unreadable() -> None:
    item = vm_json(5, latest=False)
    item["properties"].update(timeCreated="garbage", hardwareProfile=5, osProfile={"x": 1})
    item["properties"]["instanceView"].update(osName=7, disks="none")
    (vm,), _ = read_vm_page(_response([item]), 0)
    info = classify(vm)
    assert info.unreadable is None and info.state is VmState.STALE


def test_the_raw_json_of_a_listed_vm_is_a_copy_safe_to_change() -> None:
    item = vm_json(1)
    item["futureField"] = {"kept": True}
    (vm,), _ = read_vm_page(_response([item]), 0)
    vm.raw["futureField"]["kept"] = False
    assert vm.raw == item


def test_a_page_of_no_vms_is_read_as_such() -> None:
    assert read_vm_page(_response([]), 0) == ([], None)


def test_classify_of_a_listed_vm_equals_classify_of_one_read_alone() -> None:
    item = vm_json(3, health="unhealthy", pg="pg-2")
    (listed,), _ = read_vm_page(_response([item]), 0)
    alone: VmInfo = classify(ScaleSetVM.from_json(item))
    assert classify(listed) == alone and alone.state is VmState.UNHEALTHY
