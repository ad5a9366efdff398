"""Wire-shaped scale sets and VMs for tests that do not need the simulator.

One builder per resource, shaped like ``tests/fixtures/azure-examples`` (a VM list with
``$expand=instanceView``), so the real models, ``classify`` and the snapshot run on it.
Tests that need an odd field add it to the returned dict.
"""

from __future__ import annotations

from typing import Any

from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.versions import COMPUTE
from vmssdash.core.snapshot import ScaleSetSnapshot

#: The subscription every test world uses (the simulator's scenarios use it too).
SUB = "00000000-0000-0000-0000-000000000000"
#: Query parameters for a Compute request made by hand in a test.
API = {"api-version": COMPUTE}
NAME = "vmss-t"
RG = "rg"


def scale_set_id(name: str = NAME, rg: str = RG) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/"
        f"virtualMachineScaleSets/{name}"
    )


RID = scale_set_id()


def platform_image(version: str = "24.04.202601010") -> dict[str, Any]:
    return {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": version,
    }


def scale_set_json(
    name: str = NAME,
    *,
    rg: str = RG,
    capacity: int = 10,
    version: str | None = None,
    image: dict[str, Any] | None = None,
    os_disk: dict[str, Any] | None = None,
    mode: str = "Manual",
    policy: dict[str, Any] | None = None,
    etag: str = '"1"',
) -> dict[str, Any]:
    """A Uniform scale set on a platform image (``version``), or on ``image``; with only
    ``os_disk`` given it has no imageReference (the unmanaged VHD form)."""
    storage: dict[str, Any] = {
        "osDisk": os_disk or {"createOption": "FromImage", "caching": "ReadWrite"}
    }
    if image is not None or os_disk is None:
        storage["imageReference"] = image or (
            platform_image(version) if version else platform_image()
        )
    return {
        "id": scale_set_id(name, rg),
        "name": name,
        "location": "westeurope",
        "etag": etag,
        "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": capacity},
        "properties": {
            "upgradePolicy": {
                "mode": mode,
                "rollingUpgradePolicy": policy
                or {
                    "maxBatchInstancePercent": 20,
                    "maxUnhealthyInstancePercent": 20,
                    "maxUnhealthyUpgradedInstancePercent": 20,
                    "pauseTimeBetweenBatches": "PT0S",
                },
            },
            "virtualMachineProfile": {"storageProfile": storage},
            "provisioningState": "Succeeded",
            "orchestrationMode": "Uniform",
        },
    }


def scale_set(**kw: Any) -> ScaleSet:
    return ScaleSet.from_json(scale_set_json(**kw))


def vm_json(
    iid: int | str,
    *,
    name: str = NAME,
    rg: str = RG,
    ud: int | None = 0,
    fd: int | None = 0,
    zone: str | None = None,
    pg: str | None = None,
    latest: bool = False,
    power: str = "running",
    health: str | None = "healthy",
    prov: str = "succeeded",
    protected: bool = False,
) -> dict[str, Any]:
    """One VM as ``$expand=instanceView`` lists it; ``None`` domains/health are left out."""
    view: dict[str, Any] = {
        "statuses": [
            {"code": f"ProvisioningState/{prov}", "level": "Info"},
            {"code": f"PowerState/{power}", "level": "Info"},
        ]
    }
    if ud is not None:
        view["platformUpdateDomain"] = ud
    if fd is not None:
        view["platformFaultDomain"] = fd
    if pg is not None:
        view["placementGroupId"] = pg
    if health is not None:
        view["vmHealth"] = {"status": {"code": f"HealthState/{health}"}}
    return {
        "id": f"{scale_set_id(name, rg)}/virtualMachines/{iid}",
        "name": f"{name}_{iid}",
        "instanceId": str(iid),
        "zones": [zone] if zone else [],
        "properties": {
            "latestModelApplied": latest,
            "provisioningState": prov.capitalize(),
            "protectionPolicy": {"protectFromScaleSetActions": protected},
            "instanceView": view,
        },
    }


def snapshot(vms: list[dict[str, Any]], **ss_kw: Any) -> ScaleSetSnapshot:
    ss_kw.setdefault("capacity", len(vms))
    return ScaleSetSnapshot.build(scale_set(**ss_kw), [ScaleSetVM.from_json(v) for v in vms])


def grid(n: int, *, uds: int = 5, fds: int = 3, zones: int = 0, **kw: Any) -> list[dict[str, Any]]:
    """``n`` VMs dealt round-robin over update domains, fault domains and zones."""
    return [
        vm_json(i, ud=i % uds, fd=i % fds, zone=str(i % zones + 1) if zones else None, **kw)
        for i in range(n)
    ]


def image_patch(**image_reference: Any) -> dict[str, Any]:
    """The PATCH body that changes only the model's imageReference (``version=...``)."""
    return {
        "properties": {
            "virtualMachineProfile": {"storageProfile": {"imageReference": image_reference}}
        }
    }
