"""World objects to the JSON Compute sends: field names, casing and nesting of the wire.

Bodies are plain dicts (the tests validate them against ``vmssdash.azure.models``).
VM bodies are the hot path of a refresh (1,000 VMs with instance views), so each VM's
serialised JSON is cached by its revision and the scale set's model generation. Bodies of
operations and rolling upgrades are in ``render_upgrades``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from vmssdash.sim.world import World
from vmssdash.sim.world.model import COMPUTE, ScaleSet, Vm

VMSS_TYPE = f"{COMPUTE}/virtualMachineScaleSets"
VM_TYPE = f"{COMPUTE}/virtualMachineScaleSets/virtualMachines"

_PROVISIONING_DISPLAY = {
    "Succeeded": "Provisioning succeeded",
    "Updating": "Updating",
    "Creating": "Creating",
    "Deleting": "Deleting",
    "Failed": "Provisioning failed",
}
_POWER_DISPLAY = {
    "running": "VM running",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}
_HEALTH = {
    "healthy": ("Info", "The VM is reporting healthy"),
    "unhealthy": ("Error", "The VM is reporting unhealthy"),
    "initializing": ("Info", "The VM health is initializing"),
    "unknown": ("Warning", "The VM health is unknown"),
}


def timestamp(world: World, t: float) -> str:
    """ARM's timestamps: seven fractional digits and an explicit +00:00."""
    dt = world.datetime(t)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_pretty(data: Any) -> bytes:
    """Compute pretty-prints small bodies (operation status) with CRLF and two spaces."""
    return json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode()


# --------------------------------------------------------------------------- scale sets


def scale_set(world: World, vmss: ScaleSet) -> dict[str, Any]:
    props = copy.deepcopy(vmss.properties)
    vmp = props.get("virtualMachineProfile", {})
    vmp.setdefault("timeCreated", timestamp(world, vmss.time_created))
    out_props: dict[str, Any] = {
        "singlePlacementGroup": props.pop("singlePlacementGroup", True),
        "orchestrationMode": props.pop("orchestrationMode", "Uniform"),
        "upgradePolicy": props.pop("upgradePolicy"),
        "scaleInPolicy": props.pop("scaleInPolicy", {"rules": ["Default"], "forceDeletion": False}),
        "virtualMachineProfile": props.pop("virtualMachineProfile"),
        "provisioningState": vmss.provisioning_state,
        "overprovision": props.pop("overprovision", False),
        "doNotRunExtensionsOnOverprovisionedVMs": props.pop(
            "doNotRunExtensionsOnOverprovisionedVMs", False
        ),
        "uniqueId": vmss.unique_id,
        "platformFaultDomainCount": props.pop("platformFaultDomainCount", 1),
        "timeCreated": timestamp(world, vmss.time_created),
    }
    out_props.update(props)
    body: dict[str, Any] = {
        "name": vmss.name,
        "id": vmss.id,
        "type": VMSS_TYPE,
        "location": vmss.location,
        "tags": dict(vmss.tags),
        "sku": dict(vmss.sku),
    }
    if vmss.zones:
        body["zones"] = list(vmss.zones)
    body["etag"] = f'"{vmss.etag}"'
    body["properties"] = out_props
    return body


def scale_set_instance_view(world: World, vmss: ScaleSet) -> dict[str, Any]:
    """The aggregate view: counts per provisioning status, no per-VM data."""
    counts: dict[str, int] = {}
    for vm in vmss.vms.values():
        code = "ProvisioningState/" + (
            f"failed/{vm.failure_code}" if vm.provisioning == "Failed" else vm.provisioning.lower()
        )
        counts[code] = counts.get(code, 0) + 1
    prov = vmss.provisioning_state
    return {
        "virtualMachine": {
            "statusesSummary": [{"code": c, "count": n} for c, n in sorted(counts.items())]
        },
        "extensions": (
            [
                {
                    "name": "HealthExtension",
                    "statusesSummary": [
                        {"code": "ProvisioningState/succeeded", "count": len(vmss.vms)}
                    ],
                }
            ]
            if vmss.health_reporting
            else []
        ),
        "statuses": [
            {
                "code": f"ProvisioningState/{prov.lower()}",
                "level": "Info",
                "displayStatus": _PROVISIONING_DISPLAY.get(prov, prov),
                "time": timestamp(world, world.now),
            }
        ],
        "orchestrationServices": [
            {"serviceName": "AutomaticRepairs", "serviceState": "NotRunning"}
        ],
    }


# --------------------------------------------------------------------------- VMs


def vm_id(vmss: ScaleSet, vm: Vm) -> str:
    return f"{vmss.id}/virtualMachines/{vm.instance_id}"


def vm_instance_view(world: World, vmss: ScaleSet, vm: Vm) -> dict[str, Any]:
    if vm.provisioning == "Failed":
        prov: dict[str, Any] = {
            "code": f"ProvisioningState/failed/{vm.failure_code}",
            "level": "Error",
            "displayStatus": "Provisioning failed",
            "message": vm.failure_message,
            "time": timestamp(world, vm.prov_time),
        }
    else:
        prov = {
            "code": f"ProvisioningState/{vm.provisioning.lower()}",
            "level": "Info",
            "displayStatus": _PROVISIONING_DISPLAY[vm.provisioning],
        }
        if vm.provisioning == "Succeeded":
            prov["time"] = timestamp(world, vm.prov_time)
    statuses = [prov]
    if vm.power is not None:
        statuses.append(
            {
                "code": f"PowerState/{vm.power}",
                "level": "Info",
                "displayStatus": _POWER_DISPLAY[vm.power],
            }
        )
    ref = vmss.profiles[vm.applied_gen].get("storageProfile", {}).get("imageReference") or {}
    view: dict[str, Any] = {
        "placementGroupId": vm.placement_group,
        "platformUpdateDomain": vm.ud,
        "platformFaultDomain": vm.fd,
        "computerName": vm.computer_name,
        "osName": str(ref.get("offer") or "linux").split("-")[0],
        "osVersion": vm.exact_version,
        "hyperVGeneration": "V2",
        "vmAgent": {
            "vmAgentVersion": "2.12.0.2",
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Ready",
                    "message": "Guest Agent is running",
                    "time": timestamp(world, vm.prov_time),
                }
            ],
        },
        "disks": [
            {
                "name": f"{vmss.name}_{vm.instance_id}_OsDisk_1_{vm.disk_suffix}",
                "statuses": [
                    {
                        "code": "ProvisioningState/succeeded",
                        "level": "Info",
                        "displayStatus": "Provisioning succeeded",
                        "time": timestamp(world, vm.time_created),
                    }
                ],
            }
        ],
    }
    if vm.health is not None:
        level, display = _HEALTH[vm.health]
        view["vmHealth"] = {
            "status": {"code": f"HealthState/{vm.health}", "level": level, "displayStatus": display}
        }
    view["statuses"] = statuses
    return view


def scale_set_vm(world: World, vmss: ScaleSet, vm: Vm, *, expand: bool) -> dict[str, Any]:
    profile = vmss.profiles[vm.applied_gen]
    storage = profile.get("storageProfile", {})
    ref = storage.get("imageReference")
    storage_out: dict[str, Any] = {}
    if ref is not None:
        image = dict(ref)
        if vm.exact_version and ("version" in image or "/galleries/" in str(image.get("id"))):
            image["exactVersion"] = vm.exact_version
        storage_out["imageReference"] = image
    os_disk = storage.get("osDisk", {})
    storage_out["osDisk"] = {
        "osType": os_disk.get("osType", "Linux"),
        "name": f"{vmss.name}_{vm.instance_id}_OsDisk_1_{vm.disk_suffix}",
        "createOption": "FromImage",
        "caching": os_disk.get("caching", "ReadWrite"),
        "managedDisk": {
            "storageAccountType": (os_disk.get("managedDisk") or {}).get(
                "storageAccountType", "Premium_LRS"
            ),
            "id": (
                f"/subscriptions/{vmss.subscription}/resourceGroups/{vmss.resource_group.upper()}"
                f"/providers/{COMPUTE}/disks/{vmss.name}_{vm.instance_id}_OsDisk_1_{vm.disk_suffix}"
            ),
        },
        "diskSizeGB": os_disk.get("diskSizeGB", 30),
    }
    if os_disk.get("image"):
        storage_out["osDisk"]["image"] = dict(os_disk["image"])
    storage_out["dataDisks"] = []
    os_profile = profile.get("osProfile", {})
    props: dict[str, Any] = {
        "latestModelApplied": vm.applied_gen == vmss.model_gen,
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "vmId": vm.vm_id,
        "hardwareProfile": {"vmSize": vmss.sku.get("name")},
        "storageProfile": storage_out,
        "osProfile": {
            "computerName": vm.computer_name,
            "adminUsername": os_profile.get("adminUsername", "azureuser"),
            "linuxConfiguration": {"disablePasswordAuthentication": True},
            "secrets": [],
            "allowExtensionOperations": True,
            "requireGuestProvisionSignal": True,
        },
        "networkProfile": {
            "networkInterfaces": [
                {
                    "id": f"{vm_id(vmss, vm)}/networkInterfaces/{vmss.name}-nic",
                    "properties": {"primary": True},
                }
            ]
        },
        "provisioningState": vm.provisioning,
        "protectionPolicy": {
            "protectFromScaleIn": vm.protect_from_scale_in,
            "protectFromScaleSetActions": vm.protect_from_scale_set_actions,
        },
        "timeCreated": timestamp(world, vm.time_created),
    }
    if expand:
        props["instanceView"] = vm_instance_view(world, vmss, vm)
    body: dict[str, Any] = {
        "name": f"{vmss.name}_{vm.instance_id}",
        "id": vm_id(vmss, vm),
        "type": VM_TYPE,
        "location": vmss.location,
        "tags": {},
        "instanceId": str(vm.instance_id),
        "sku": {"name": vmss.sku.get("name"), "tier": vmss.sku.get("tier", "Standard")},
    }
    if vm.zone is not None:
        body["zones"] = [vm.zone]
    body["etag"] = f'"{vm.etag}"'
    body["properties"] = props
    return body


def selected_vm(
    world: World, vmss: ScaleSet, vm: Vm, select: str, power_only: bool
) -> dict[str, Any]:
    """``$select=instanceView[/statuses]``: the model fields (latestModelApplied,
    provisioningState, zones) are dropped, which is the documented pitfall."""
    view = vm_instance_view(world, vmss, vm)
    if select == "instanceview/statuses" or power_only:
        statuses = view["statuses"]
        if power_only:
            statuses = [s for s in statuses if s["code"].startswith("PowerState/")]
        view = {"statuses": statuses}
    return {
        "name": f"{vmss.name}_{vm.instance_id}",
        "id": vm_id(vmss, vm),
        "type": VM_TYPE,
        "location": vmss.location,
        "instanceId": str(vm.instance_id),
        "properties": {"instanceView": view},
    }


class VmJsonCache:
    """Serialised VM bodies keyed by what they depend on, so a refresh of an unchanged
    1,000-VM set is mostly a join of cached bytes."""

    def __init__(self) -> None:
        self._cache: dict[
            tuple[tuple[str, str, str], int, bool], tuple[tuple[Any, ...], bytes]
        ] = {}

    def get(self, world: World, vmss: ScaleSet, vm: Vm, *, expand: bool) -> bytes:
        key = (vmss.key, vm.instance_id, expand)
        stamp = (vm.rev, vmss.model_gen, vmss.sku.get("name"), vmss.location, world.clock.epoch)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        data = dumps(scale_set_vm(world, vmss, vm, expand=expand))
        self._cache[key] = (stamp, data)
        return data


# --------------------------------------------------------------------------- ARM resources


def subscription(world: World, sub_id: str) -> dict[str, Any]:
    sub = world.subscriptions[sub_id.lower()]
    return {
        "id": f"/subscriptions/{sub.id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def resource_group(world: World, sub: str, name: str) -> dict[str, Any]:
    rg = world.resource_groups[(sub.lower(), name.lower())]
    return {
        "id": f"/subscriptions/{rg.subscription}/resourceGroups/{rg.name}",
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "properties": {"provisioningState": "Succeeded"},
    }


def image_version(
    sub: str, location: str, publisher: str, offer: str, sku: str, version: str
) -> dict[str, Any]:
    return {
        "location": location,
        "name": version,
        "id": (
            f"/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/{location}/Publishers/"
            f"{publisher}/ArtifactTypes/VMImage/Offers/{offer}/Skus/{sku}/Versions/{version}"
        ),
    }
