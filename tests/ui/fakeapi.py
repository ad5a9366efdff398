"""Hand-made scale sets for UI tests that do not need the simulator.

The JSON follows the shape of ``tests/fixtures/azure-examples`` (a VM list with
``$expand=instanceView``), so the real models and ``classify`` run on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.factories import SUB
from vmssdash.azure.errors import NotFoundError
from vmssdash.azure.events import ClientEvent, ignore_events
from vmssdash.azure.models.operations import OperationStatus
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.pacing import Pacing
from vmssdash.azure.throttle import ThrottleBudget

RG = "vmssdash-demo"


def scale_set_json(
    name: str = "vmss-fake", capacity: int = 10, version: str = "24.04.2"
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
        "name": name,
        "location": "westeurope",
        "etag": '"1"',
        "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": capacity},
        "properties": {
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": {
                        "publisher": "Canonical",
                        "offer": "ubuntu-24_04-lts",
                        "sku": "server",
                        "version": version,
                    }
                }
            },
        },
    }


def vm_json(
    name: str,
    iid: int,
    *,
    ud: int,
    fd: int,
    latest: bool = True,
    prov: str = "succeeded",
    power: str = "running",
    health: str | None = None,
    zone: str | None = None,
    pg: str | None = None,
    protected: bool = False,
) -> dict[str, Any]:
    statuses = [
        {
            "code": f"ProvisioningState/{prov}",
            "level": "Info",
            "displayStatus": "Provisioning succeeded" if prov == "succeeded" else prov,
            "time": "2026-11-28T10:00:00+00:00",
        },
        {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
    ]
    view: dict[str, Any] = {
        "platformUpdateDomain": ud,
        "platformFaultDomain": fd,
        "computerName": f"{name}{iid:06d}",
        "statuses": statuses,
    }
    if pg:
        view["placementGroupId"] = pg
    if health:
        view["vmHealth"] = {"status": {"code": f"HealthState/{health}"}}
    vm: dict[str, Any] = {
        "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}/virtualMachines/{iid}",
        "name": f"{name}_{iid}",
        "instanceId": str(iid),
        "location": "westeurope",
        "properties": {
            "latestModelApplied": latest,
            "provisioningState": prov.capitalize(),
            "instanceView": view,
            "storageProfile": {
                "imageReference": {"exactVersion": "24.04.1" if not latest else "24.04.2"}
            },
        },
    }
    if zone:
        vm["zones"] = [zone]
    if protected:
        vm["properties"]["protectionPolicy"] = {"protectFromScaleSetActions": True}
    return vm


@dataclass
class FakeOperation:
    """Finished as soon as it is sent."""

    api: FakeApi
    ids: list[str]
    done: bool = True
    url: str = ""
    succeeded: bool = True
    status: OperationStatus = field(default_factory=lambda: OperationStatus(status="Succeeded"))
    # The first answer, as on a real Operation (the journal records its request ids).
    response: httpx.Response = field(
        default_factory=lambda: httpx.Response(202, headers={"x-ms-request-id": "fake-request"})
    )

    async def poll(self) -> OperationStatus:
        return self.status

    async def wait(self, **_: Any) -> OperationStatus:
        return self.status


@dataclass
class FakeClient:
    """The ARM client's event sink and close, as the app uses them."""

    events: Any = ignore_events
    closed: bool = False

    def emit(self, event: ClientEvent) -> None:
        self.events(event)

    async def aclose(self) -> None:
        self.closed = True


def _pacing() -> Pacing:
    return Pacing(time.monotonic, asyncio.sleep, ThrottleBudget(clock=time.monotonic))


@dataclass
class FakeApi:
    """Just enough of ``ScaleSetApi`` for the app: the observer's reads and
    begin_manual_upgrade, on real time (no rate-limit headers, so no budget limits)."""

    scale_set: dict[str, Any]
    vms: list[dict[str, Any]]
    calls: list[str] = field(default_factory=list)
    fail_next: Exception | None = None
    upgraded: list[list[str]] = field(default_factory=list)
    client: FakeClient = field(default_factory=FakeClient)
    pacing: Pacing = field(default_factory=_pacing)

    @property
    def name(self) -> str:
        return str(self.scale_set["name"])

    @property
    def path(self) -> str:
        return str(self.scale_set["id"])

    async def instance_view_summary(self) -> dict[str, int]:
        self.calls.append("summary")
        codes = Counter(v["properties"]["instanceView"]["statuses"][0]["code"] for v in self.vms)
        return dict(codes)

    async def get_vm(self, instance_id: str) -> ScaleSetVM:
        self.calls.append(f"vm {instance_id}")
        for v in self.vms:
            if v["instanceId"] == instance_id:
                return ScaleSetVM.from_json(v)
        raise NotFoundError("The entity was not found in this Azure location.", status=404)

    async def get(self) -> ScaleSet:
        self.calls.append("get")
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return ScaleSet.from_json(self.scale_set)

    async def list_vms(self, *, on_page: Any = None, filter: str | None = None) -> list[ScaleSetVM]:
        self.calls.append("list" if filter is None else f"list {filter}")
        stale_only = filter == "properties/latestModelApplied eq false"
        return [
            ScaleSetVM.from_json(v)
            for v in self.vms
            if not (stale_only and v["properties"]["latestModelApplied"])
        ]

    async def begin_manual_upgrade(self, instance_ids: list[str]) -> FakeOperation:
        self.upgraded.append(list(instance_ids))
        for vm in self.vms:
            if vm["instanceId"] in instance_ids:
                vm["properties"]["latestModelApplied"] = True
        return FakeOperation(self, list(instance_ids))

    def set_vm(self, iid: int, **changes: Any) -> None:
        vm = self.vms[iid]
        view = vm["properties"]["instanceView"]
        if "latest" in changes:
            vm["properties"]["latestModelApplied"] = changes["latest"]
        if "prov" in changes:
            view["statuses"][0]["code"] = f"ProvisioningState/{changes['prov']}"
            vm["properties"]["provisioningState"] = changes["prov"].capitalize()


def make_api(n: int = 40, uds: int = 5, fds: int = 3, *, pgs: int = 1, zones: int = 0) -> FakeApi:
    """n VMs round-robin over UDs/FDs; every 4th stale, one failed, one updating."""
    name = "vmss-fake"
    vms = []
    for i in range(n):
        kwargs: dict[str, Any] = {"ud": i % uds, "fd": i % fds, "latest": i % 4 != 1}
        if i == 7:
            kwargs["prov"] = "failed"
        if i == 10:
            kwargs["prov"] = "updating"
        if i == 13:
            kwargs["power"] = "deallocated"
        if i == 17:
            kwargs["health"] = "unhealthy"
        if i == 19:
            kwargs["protected"] = True
        if pgs > 1:
            kwargs["pg"] = f"pg{(i * pgs) // n:02d}-0000-0000"
        if zones:
            kwargs["zone"] = str(1 + i % zones)
        vms.append(vm_json(name, i, **kwargs))
    return FakeApi(scale_set_json(name, capacity=n), vms)
