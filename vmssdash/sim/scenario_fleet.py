"""The ``fleet`` scenario's many small sets: enough of them, over enough subscriptions, for
the fleet view and for Resource Graph to page and to meet its quota."""

from __future__ import annotations

from vmssdash.sim.scenario_build import CURRENT, PREVIOUS, SetSpec, flexible_set

FLEET_SUBSCRIPTIONS = (
    ("11111111-1111-1111-1111-111111111111", "contoso-prod"),
    ("22222222-2222-2222-2222-222222222222", "contoso-dev"),
)


def fleet_sets() -> tuple[SetSpec, ...]:
    """57 small sets over two more subscriptions and four resource groups, besides the
    demo's three: enough for Resource Graph to page and to meet its quota. Two of them are
    Flexible (zonal, and regional over two fault domains)."""
    groups = ("web", "api", "batch", "jobs")
    modes = ("Manual", "Manual", "Automatic", "Rolling")
    sets: list[SetSpec] = []
    for i in range(55):
        sub = FLEET_SUBSCRIPTIONS[i % 2][0]
        group = groups[i % len(groups)]
        count = 2 + i % 5
        sets.append(
            SetSpec(
                name=f"vmss-{group}-{i:02d}",
                count=count,
                image=CURRENT,
                old_image=PREVIOUS if i % 3 == 0 else None,
                stale=min(count, 1 + i % 3) if i % 3 == 0 else 0,
                mode=modes[i % len(modes)],
                zones=("1", "2", "3") if i % 7 == 0 else (),
                ud_count=2,
                deallocated=1 if i % 11 == 0 else 0,
                subscription=sub,
                resource_group=f"rg-{group}-{'prod' if i % 2 == 0 else 'dev'}",
            )
        )
    flex_group = "rg-web-prod"
    prod = FLEET_SUBSCRIPTIONS[0][0]
    sets += [
        flexible_set(
            "vmss-flex-zonal",
            9,
            stale=3,
            zones=("1", "2", "3"),
            subscription=prod,
            resource_group=flex_group,
        ),
        flexible_set(
            "vmss-flex-regional", 6, fd_count=2, subscription=prod, resource_group=flex_group
        ),
    ]
    return tuple(sets)
