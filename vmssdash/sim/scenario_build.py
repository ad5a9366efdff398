"""How a scenario's scale set is built: the shared base world and ``SetSpec`` → ``ScaleSet``.

Every scenario lives in subscription ``00000000-0000-0000-0000-000000000000``, resource
group ``vmssdash-demo``, location ``westeurope``. Seeds drive instance-id gaps (real ids
are not contiguous), which VMs start stale, and all generated GUIDs.

Image catalog (platform image ``Canonical:ubuntu-24_04-lts:server``): versions from
``24.04.202606110`` to ``24.04.202612010``, plus ``24.04.202611990-bad`` (comes back
unhealthy after an upgrade), ``24.04.202611989-bad-late`` (healthy at first, unhealthy a
minute later: what a bake is for) and ``24.04.202611991-fail`` (fails to provision). Gallery
``vmssdashGallery/images/web-app`` has ``1.2.0`` .. ``1.6.0`` plus ``1.5.1-bad`` and
``1.5.2-fail``. The named worlds themselves are in ``scenarios``.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from vmssdash.sim.world import World
from vmssdash.sim.world.model import (
    COMPUTE,
    ResourceGroup,
    ScaleSet,
    Subscription,
    Timings,
    Vm,
    computer_name,
    fill_upgrade_policy,
)

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "vmssdash-demo"
LOCATION = "westeurope"
UBUNTU = ("Canonical", "ubuntu-24_04-lts", "server")
UBUNTU_VERSIONS = [
    "24.04.202606110",
    "24.04.202607150",
    "24.04.202608200",
    "24.04.202609110",
    "24.04.202610010",
    "24.04.202611150",
    "24.04.202611989-bad-late",
    "24.04.202611990-bad",
    "24.04.202611991-fail",
    "24.04.202612010",
]
GALLERY_IMAGE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/{COMPUTE}"
    "/galleries/vmssdashGallery/images/web-app"
)
MANAGED_IMAGES = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/{COMPUTE}/images"
)
VHD_CONTAINER = "https://vmssdashimages.blob.core.windows.net/vhds"
SHARED_IMAGE = "/SharedGalleries/vmssdash-shared-gallery/Images/web-app/Versions"
GALLERY_VERSIONS = ["1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.5.1-bad", "1.5.2-fail", "1.6.0"]


def platform_image(version: str) -> dict[str, Any]:
    publisher, offer, sku = UBUNTU
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def gallery_image(version: str) -> dict[str, Any]:
    return {"id": f"{GALLERY_IMAGE}/versions/{version}"}


def vm_profile(prefix: str, image: dict[str, Any]) -> dict[str, Any]:
    """A Linux VM profile; ``image`` is an imageReference, or ``{"vhd": uri}`` for the
    legacy unmanaged form (``osDisk.image.uri`` and no imageReference)."""
    profile = _vm_profile(prefix, image)
    if "vhd" in image:
        storage = profile["storageProfile"]
        del storage["imageReference"]
        del storage["osDisk"]["managedDisk"]
        storage["osDisk"]["image"] = {"uri": image["vhd"]}
        storage["osDisk"]["name"] = f"{prefix}-osdisk"
        storage["osDisk"]["vhdContainers"] = [image["vhd"].rsplit("/", 1)[0]]
    return profile


def _vm_profile(prefix: str, image: dict[str, Any]) -> dict[str, Any]:
    return {
        "osProfile": {
            "computerNamePrefix": prefix,
            "adminUsername": "azureuser",
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "provisionVMAgent": True,
            },
            "secrets": [],
            "allowExtensionOperations": True,
            "requireGuestProvisionSignal": True,
        },
        "storageProfile": {
            "osDisk": {
                "osType": "Linux",
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {"storageAccountType": "Premium_LRS"},
                "diskSizeGB": 30,
            },
            "imageReference": image,
        },
        "networkProfile": {
            "networkInterfaceConfigurations": [
                {
                    "name": f"{prefix}-nic",
                    "properties": {
                        "primary": True,
                        "enableAcceleratedNetworking": False,
                        "ipConfigurations": [
                            {
                                "name": f"{prefix}-ipconfig",
                                "properties": {
                                    "subnet": {
                                        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/"
                                        f"{RESOURCE_GROUP}/providers/Microsoft.Network/"
                                        "virtualNetworks/vmssdash-vnet/subnets/default"
                                    },
                                    "privateIPAddressVersion": "IPv4",
                                },
                            }
                        ],
                    },
                }
            ]
        },
        "extensionProfile": {
            "extensions": [
                {
                    "name": "HealthExtension",
                    "properties": {
                        "publisher": "Microsoft.ManagedServices",
                        "type": "ApplicationHealthLinux",
                        "typeHandlerVersion": "2.0",
                        "autoUpgradeMinorVersion": True,
                        "settings": {"protocol": "http", "port": 80, "requestPath": "/healthz"},
                    },
                }
            ]
        },
    }


@dataclass(frozen=True)
class SetSpec:
    name: str
    count: int
    image: dict[str, Any]
    old_image: dict[str, Any] | None = None
    stale: int = 0
    mode: str = "Manual"
    rolling: dict[str, Any] | None = None
    zones: tuple[str, ...] = ()
    fd_count: int = 3
    ud_count: int = 5
    single_pg: bool = True
    sku: str = "Standard_D2s_v5"
    prefix: str | None = None
    old_exact: str | None = None
    outdated_exact: int = 0
    protected: int = 0
    deallocated: int = 0
    subscription: str = SUBSCRIPTION
    resource_group: str = RESOURCE_GROUP
    orchestration: str = "Uniform"


def _ref(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None or "vhd" in image else image


def add_scale_set(world: World, spec: SetSpec) -> ScaleSet:
    rng = random.Random(f"{spec.name}-{world.seed}")
    prefix = spec.prefix or spec.name.replace("-", "")[:9]
    props: dict[str, Any] = {
        "singlePlacementGroup": spec.single_pg,
        "orchestrationMode": spec.orchestration,
        "upgradePolicy": {"mode": spec.mode, "rollingUpgradePolicy": dict(spec.rolling or {})},
        "virtualMachineProfile": vm_profile(prefix, spec.image),
        "overprovision": True,
        "doNotRunExtensionsOnOverprovisionedVMs": False,
        "platformFaultDomainCount": 1 if spec.zones else spec.fd_count,
    }
    fill_upgrade_policy(props)
    vmss = ScaleSet(
        subscription=spec.subscription,
        resource_group=spec.resource_group,
        name=spec.name,
        location=LOCATION,
        sku={"name": spec.sku, "tier": "Standard", "capacity": spec.count},
        properties=props,
        unique_id=world.uuid(),
        time_created=-86400.0 * 30,
        zones=list(spec.zones),
        tags={"env": "demo", "owner": "vmssdash"},
        ud_count=spec.ud_count,
    )
    current_gen = 2 if spec.old_image is not None else 1
    if spec.old_image is not None:
        vmss.profiles[1] = vm_profile(prefix, spec.old_image)
    vmss.profiles[current_gen] = copy.deepcopy(props["virtualMachineProfile"])
    vmss.model_gen = current_gen
    vmss.etag = current_gen + 1

    ids: list[int] = []
    candidate = 0
    while len(ids) < spec.count:
        if rng.random() > 0.12:
            ids.append(candidate)
        candidate += 1
    vmss.next_instance_id = candidate

    stale = set(rng.sample(range(spec.count), spec.stale)) if spec.stale else set()
    outdated = (
        set(rng.sample(sorted(set(range(spec.count)) - stale), spec.outdated_exact))
        if spec.outdated_exact
        else set()
    )
    current_exact = world.catalog.resolve(LOCATION, _ref(spec.image))
    old_exact = (
        world.catalog.resolve(LOCATION, _ref(spec.old_image)) if spec.old_image else current_exact
    )
    pgs = [world.uuid() for _ in range(max(1, (spec.count + 99) // 100))]
    zone_count = max(1, len(spec.zones))
    for ordinal, iid in enumerate(ids):
        zone = spec.zones[ordinal % zone_count] if spec.zones else None
        slot = ordinal // zone_count if spec.zones else ordinal
        is_stale = ordinal in stale
        exact = old_exact if is_stale else current_exact
        if ordinal in outdated and spec.old_exact:
            exact = spec.old_exact
        created = -86400.0 * rng.uniform(2, 25)
        vm = Vm(
            instance_id=iid,
            ud=slot % spec.ud_count,
            fd=0 if spec.zones else ordinal % spec.fd_count,
            zone=zone,
            placement_group=pgs[0] if spec.single_pg else pgs[ordinal // 100],
            vm_id=world.uuid(),
            computer_name=computer_name(prefix, iid),
            applied_gen=1 if is_stale else current_gen,
            exact_version=exact,
            time_created=created,
            disk_suffix=world.uuid().replace("-", ""),
            prov_time=created + rng.uniform(60, 3600) if is_stale else -rng.uniform(600, 86400),
            health="healthy",
            etag=rng.randint(2, 6),
        )
        vmss.vms[iid] = vm
    ordered = vmss.sorted_vms()
    last_ud = spec.ud_count - 1
    fresh_in = [v for i, v in enumerate(ordered) if i not in stale]
    for vm in [v for v in fresh_in if v.ud == last_ud][: spec.protected]:
        vm.protect_from_scale_set_actions = True
        vm.protect_from_scale_in = True
    for vm in [v for v in fresh_in if v.ud == min(3, last_ud)][: spec.deallocated]:
        vm.power = "deallocated"
        vm.health = "unknown"
    world.add_scale_set(vmss)
    return vmss


def _base(world: World) -> None:
    world.add_subscription(
        Subscription(id=SUBSCRIPTION, display_name="vmssdash simulator", tenant_id=world.tenant_id)
    )
    world.add_resource_group(ResourceGroup(SUBSCRIPTION, RESOURCE_GROUP, LOCATION))
    world.catalog.add_platform(LOCATION, *UBUNTU, UBUNTU_VERSIONS)
    world.catalog.add_gallery(GALLERY_IMAGE, GALLERY_VERSIONS)


@dataclass(frozen=True)
class Scenario:
    """A named starting world: the shared base plus these scale sets."""

    name: str
    description: str
    sets: tuple[SetSpec, ...]
    faults: str | None = None
    timings: Timings = field(default_factory=Timings)
    #: Subscriptions besides the base one: (id, display name).
    subscriptions: tuple[tuple[str, str], ...] = ()

    def build(self, world: World) -> None:
        _base(world)
        for sub_id, display_name in self.subscriptions:
            world.add_subscription(Subscription(sub_id, display_name, world.tenant_id))
        for spec in self.sets:
            if (
                spec.subscription.lower(),
                spec.resource_group.lower(),
            ) not in world.resource_groups:
                world.add_resource_group(
                    ResourceGroup(spec.subscription, spec.resource_group, LOCATION)
                )
            add_scale_set(world, spec)


CURRENT = platform_image("24.04.202610010")
PREVIOUS = platform_image("24.04.202609110")


def flexible_set(
    name: str,
    count: int,
    *,
    stale: int = 0,
    zones: tuple[str, ...] = (),
    fd_count: int = 3,
    rolling: dict[str, Any] | None = None,
    subscription: str = SUBSCRIPTION,
    resource_group: str = RESOURCE_GROUP,
) -> SetSpec:
    """A Flexible set on ``CURRENT`` (``stale`` of its VMs still on ``PREVIOUS``): members
    are plain VMs, named and reached through the VM API, never in one placement group."""
    return SetSpec(
        name=name,
        count=count,
        image=CURRENT,
        old_image=PREVIOUS if stale else None,
        stale=stale,
        zones=zones,
        fd_count=fd_count,
        rolling=rolling,
        single_pg=False,
        orchestration="Flexible",
        subscription=subscription,
        resource_group=resource_group,
    )
