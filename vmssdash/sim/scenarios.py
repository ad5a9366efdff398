"""Named starting worlds: ``demo``, ``small``, ``medium``, ``large``, ``chaos``, ``images``,
``fleet``.

How each set is built (and the shared subscription, resource group and image catalog) is
in ``scenario_build``; the fleet's many small sets are in ``scenario_fleet``. Scenario
``images`` covers the other image forms: a managed image id, an unmanaged VHD
(``osDisk.image.uri``, no imageReference) and a shared gallery id.
"""

from __future__ import annotations

from typing import Any

from vmssdash.sim.scenario_build import (
    CURRENT,
    MANAGED_IMAGES,
    PREVIOUS,
    SHARED_IMAGE,
    VHD_CONTAINER,
    Scenario,
    SetSpec,
    flexible_set,
    gallery_image,
    platform_image,
)
from vmssdash.sim.scenario_fleet import FLEET_SUBSCRIPTIONS, fleet_sets

CHAOS_FAULTS = "429=0.05,500=0.02,503=0.02,reset=0.01,latency=0.01:0.1,upgrade-fail=0.05"


DEMO_SETS = (
    SetSpec(
        name="vmss-web",
        count=40,
        image=CURRENT,
        old_image=PREVIOUS,
        stale=8,
        fd_count=3,
        protected=1,
        deallocated=1,
    ),
    SetSpec(
        name="vmss-zonal",
        count=15,
        image=gallery_image("1.4.0"),
        old_image=gallery_image("1.3.0"),
        stale=3,
        zones=("1", "2", "3"),
    ),
    SetSpec(
        name="vmss-rolling",
        count=10,
        image=platform_image("latest"),
        mode="Rolling",
        rolling={"pauseTimeBetweenBatches": "PT5S"},
        old_exact="24.04.202611150",
        outdated_exact=4,
    ),
)


#: The demo's Flexible set: members are plain VMs (named, through the VM API), spread
#: over three zones with one fault domain, so the heatmap groups them by zone. A zone is
#: a third of the set: its policy lets one zone at a time be down.
DEMO_FLEX = flexible_set(
    "vmss-flex",
    12,
    stale=6,
    zones=("1", "2", "3"),
    rolling={
        "maxBatchInstancePercent": 34,
        "maxUnhealthyInstancePercent": 40,
        "maxUnhealthyUpgradedInstancePercent": 40,
    },
)


def _image_form_set(name: str, image: dict[str, Any], old_image: dict[str, Any]) -> SetSpec:
    """Six VMs, two still on ``old_image``: enough to meet one image form."""
    return SetSpec(name=name, count=6, image=image, old_image=old_image, stale=2)


def _sized_set(name: str, count: int, sku: str = SetSpec.sku) -> SetSpec:
    """A set of ``count`` VMs over placement groups of 100 and 5 fault domains, a quarter
    of them on the previous image: the sizes the read budget is measured at."""
    return SetSpec(
        name=name,
        count=count,
        image=CURRENT,
        old_image=PREVIOUS,
        stale=count // 4,
        fd_count=5,
        single_pg=False,
        sku=sku,
    )


SCENARIOS: dict[str, Scenario] = {
    "demo": Scenario(
        "demo",
        "vmss-web (Manual, 40 VMs), vmss-zonal (gallery image, 3 zones), vmss-rolling, "
        "vmss-flex (Flexible, 3 zones)",
        (*DEMO_SETS, DEMO_FLEX),
    ),
    "small": Scenario(
        "small",
        "vmss-small: 10 VMs, Manual, 3 stale",
        (SetSpec(name="vmss-small", count=10, image=CURRENT, old_image=PREVIOUS, stale=3),),
    ),
    "medium": Scenario(
        "medium",
        "vmss-medium: 200 VMs over 2 placement groups, 50 stale",
        (_sized_set("vmss-medium", 200),),
    ),
    "large": Scenario(
        "large",
        "vmss-large: 1,000 VMs over 10 placement groups, 250 stale",
        (_sized_set("vmss-large", 1000, sku="Standard_D4s_v5"),),
    ),
    "chaos": Scenario("chaos", f"demo with faults on ({CHAOS_FAULTS})", DEMO_SETS, CHAOS_FAULTS),
    "images": Scenario(
        "images",
        "vmss-managed (managed image id), vmss-vhd (osDisk.image.uri), vmss-shared "
        "(sharedGalleryImageId): 6 VMs each, 2 stale",
        (
            _image_form_set(
                "vmss-managed",
                {"id": f"{MANAGED_IMAGES}/web-2026-10"},
                {"id": f"{MANAGED_IMAGES}/web-2026-09"},
            ),
            _image_form_set(
                "vmss-vhd",
                {"vhd": f"{VHD_CONTAINER}/web-2026-10.vhd"},
                {"vhd": f"{VHD_CONTAINER}/web-2026-09.vhd"},
            ),
            _image_form_set(
                "vmss-shared",
                {"sharedGalleryImageId": f"{SHARED_IMAGE}/1.4.0"},
                {"sharedGalleryImageId": f"{SHARED_IMAGE}/1.3.0"},
            ),
        ),
    ),
    "fleet": Scenario(
        "fleet",
        "the demo's three sets plus 57 small ones over three subscriptions (for the fleet view)",
        DEMO_SETS + fleet_sets(),
        subscriptions=FLEET_SUBSCRIPTIONS,
    ),
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})") from None
