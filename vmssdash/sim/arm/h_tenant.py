"""Handlers above the scale set: subscriptions, resource groups, operation status,
and the platform image versions.
"""

from __future__ import annotations

from vmssdash.sim import render, render_upgrades
from vmssdash.sim.arm.context import Ctx, Result
from vmssdash.sim.arm.helpers import paged, require_resource_group
from vmssdash.sim.errors import SimError, invalid_parameter


def h_subscriptions(ctx: Ctx) -> Result:
    values = [render.subscription(ctx.world, s.id) for s in ctx.world.subscriptions.values()]
    return Result(200, {"value": values, "count": {"type": "Total", "value": len(values)}})


def h_subscription(ctx: Ctx) -> Result:
    return Result(200, render.subscription(ctx.world, ctx.segs[1]))


def h_resource_groups(ctx: Ctx) -> Result:
    sub = ctx.segs[1].lower()
    values = [
        render.resource_group(ctx.world, rg.subscription, rg.name)
        for key, rg in sorted(ctx.world.resource_groups.items())
        if key[0] == sub
    ]
    return paged(ctx, f"/subscriptions/{ctx.segs[1]}/resourcegroups", values)


def h_resource_group(ctx: Ctx) -> Result:
    require_resource_group(ctx)
    return Result(200, render.resource_group(ctx.world, ctx.segs[1], ctx.segs[3]))


def h_operation(ctx: Ctx) -> Result:
    op = ctx.world.operations.get(ctx.segs[7].lower())
    if op is None or op.subscription.lower() != ctx.segs[1].lower():
        raise SimError(404, "NotFound", "The entity was not found in this Azure location.")
    if (ctx.q("monitor") or "").lower() == "true":
        return Result(202 if not op.done else 200)
    return Result(200, render.dumps_pretty(render_upgrades.operation_status(ctx.world, op)))


def h_image_versions(ctx: Ctx) -> Result:
    _, sub, _, _, _, loc, _, pub, _, _, _, offer, _, sku, _ = ctx.segs[:15]
    versions = ctx.world.catalog.platform_versions(loc, pub, offer, sku)
    if not versions:
        raise SimError(404, "NotFound", "Artifact: VMImage was not found.")
    ordered = list(versions)
    orderby = (ctx.q("$orderby") or "").lower().strip()
    if orderby == "name desc":
        ordered.reverse()
    top = ctx.q("$top")
    if top is not None:
        if not top.isdigit():
            raise invalid_parameter(f"The value '{top}' of parameter '$top' is invalid.", "$top")
        ordered = ordered[: int(top)]
    if len(ctx.segs) == 16:
        version = ctx.segs[15]
        if version not in versions:
            raise SimError(404, "NotFound", "Artifact: VMImage was not found.")
        return Result(
            200,
            {
                **render.image_version(sub, loc.lower(), pub, offer, sku, version),
                "properties": {
                    "osImage": {"operatingSystem": "Linux"},
                    "hyperVGeneration": "V2",
                    "architecture": "x64",
                    "dataDiskImages": [],
                },
            },
        )
    return Result(
        200, [render.image_version(sub, loc.lower(), pub, offer, sku, v) for v in ordered]
    )
