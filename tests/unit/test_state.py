"""VM classification and snapshots (core/state.py, core/snapshot.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import scale_set_json, vm_json
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot, describe_image
from vmssdash.core.state import VmState, classify

EXAMPLES = Path(__file__).parent.parent / "fixtures" / "azure-examples"


def vm(**kw: Any) -> ScaleSetVM:
    kw.setdefault("latest", True)
    kw.setdefault("health", None)
    return ScaleSetVM.from_json(vm_json(kw.pop("iid", 1), **kw))


@pytest.mark.parametrize(
    ("kw", "state"),
    [
        ({}, VmState.UP_TO_DATE),
        ({"latest": False}, VmState.STALE),
        ({"prov": "failed/OSProvisioningTimedOut"}, VmState.FAILED),
        ({"prov": "updating", "latest": False}, VmState.UPDATING),
        ({"prov": "creating"}, VmState.CREATING),
        ({"prov": "deleting"}, VmState.DELETING),
        ({"power": "starting"}, VmState.STARTING),
        ({"power": "deallocating"}, VmState.STOPPING),
        ({"power": "deallocated", "latest": False}, VmState.DEALLOCATED),
        ({"power": "stopped"}, VmState.STOPPED),
        ({"health": "unhealthy"}, VmState.UNHEALTHY),
        ({"health": "unknown"}, VmState.HEALTH_UNKNOWN),
        ({"health": "initializing"}, VmState.HEALTH_UNKNOWN),
        ({"health": "healthy"}, VmState.UP_TO_DATE),
        ({"protected": True, "latest": False}, VmState.PROTECTED),
    ],
)
def test_classify(kw: dict[str, Any], state: VmState) -> None:
    assert classify(vm(**kw)).state is state


def test_failure_code_is_kept() -> None:
    info = classify(vm(prov="failed/OSProvisioningTimedOut"))
    assert info.failure_code == "OSProvisioningTimedOut"
    assert not info.is_healthy


def test_vm_without_instance_view_is_unknown() -> None:
    data = vm_json(3)
    del data["properties"]["instanceView"]
    data["properties"]["provisioningState"] = "Succeeded"
    assert classify(ScaleSetVM.from_json(data)).state is VmState.UNKNOWN


def test_published_example_classifies() -> None:
    body = json.loads(
        (EXAMPLES / "VirtualMachineScaleSetVM_List_WithResiliencyView.json").read_text()
    )
    items = body["responses"]["200"]["body"]["value"]
    infos = [classify(ScaleSetVM.from_json(item)) for item in items]
    assert infos and all(i.instance_id for i in infos)
    assert all(i.state is not VmState.UNKNOWN or i.power_state is None for i in infos)


def _snapshot(vms: list[dict[str, Any]]) -> ScaleSetSnapshot:
    return ScaleSetSnapshot.build(
        ScaleSet.from_json(scale_set_json()), [ScaleSetVM.from_json(v) for v in vms]
    )


def test_groups_sort_domains_numerically_and_ids_numerically() -> None:
    vms = [vm_json(i, ud=i % 12, fd=i % 3) for i in range(24)]
    snap = _snapshot(vms)
    labels = [g.label for g in snap.groups(Grouping.UPDATE_DOMAIN)]
    assert labels == [f"UD {i}" for i in range(12)]
    assert [v.instance_id for v in snap.vms][:3] == ["0", "1", "2"]
    assert [v.instance_id for v in snap.vms][10] == "10"


def test_groups_split_by_placement_group_and_zone() -> None:
    vms = [vm_json(i, ud=i % 2, fd=0, pg=f"pg{i // 4}", zone=str(1 + i % 3)) for i in range(8)]
    snap = _snapshot(vms)
    rows = snap.groups(Grouping.UPDATE_DOMAIN)
    assert [(g.placement_group, g.key) for g in rows] == [
        ("pg0", 0),
        ("pg0", 1),
        ("pg1", 0),
        ("pg1", 1),
    ]
    zones = snap.groups(Grouping.ZONE)
    assert sorted({g.key for g in zones}) == ["1", "2", "3"]
    assert sum(len(g.vms) for g in zones) == 8


def test_changed_since_and_counts() -> None:
    vms = [vm_json(i, latest=i != 2) for i in range(4)]
    before = _snapshot(vms)
    vms[2]["properties"]["latestModelApplied"] = True
    after = _snapshot(vms)
    assert after.changed_since(None) == frozenset()
    assert after.changed_since(before) == {"2"}
    assert before.counts()[VmState.STALE] == 1
    assert before.stale_ids() == ["2"]


def test_describe_image_forms() -> None:
    ss = ScaleSet.from_json(scale_set_json(version="24.04.1"))
    assert describe_image(ss) == "Canonical:ubuntu-24_04-lts:server:24.04.1"
    data = scale_set_json()
    data["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"] = {
        "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.2.3"
    }
    assert describe_image(ScaleSet.from_json(data)).startswith("Microsoft.Compute/galleries/g")
