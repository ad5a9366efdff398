"""Handlers for a scale set: list, get, put, patch, delete, actions, rolling upgrades."""

from __future__ import annotations

from collections.abc import Callable

from vmssdash.sim import render, render_upgrades
from vmssdash.sim.arm.context import Ctx, Handler, Result
from vmssdash.sim.arm.helpers import (
    addressed_scale_set,
    body_dict,
    lro_result,
    paged,
    require_resource_group,
)
from vmssdash.sim.errors import SimError, invalid_parameter
from vmssdash.sim.world import World
from vmssdash.sim.world.model import Operation, ScaleSet


def h_vmss_list_rg(ctx: Ctx) -> Result:
    require_resource_group(ctx)
    sets = ctx.world.scale_sets_in(ctx.segs[1], ctx.segs[3])
    path = "/".join(["", *ctx.segs[:7]])
    return paged(ctx, path, [render.scale_set(ctx.world, s) for s in sets])


def h_vmss_list_all(ctx: Ctx) -> Result:
    sets = ctx.world.scale_sets_in(ctx.segs[1])
    if len(ctx.segs) == 7:  # …/locations/{loc}/virtualMachineScaleSets
        sets = [s for s in sets if s.location.lower() == ctx.low[5]]
    path = "/".join(["", *ctx.segs])
    return paged(ctx, path, [render.scale_set(ctx.world, s) for s in sets])


def _etag_headers(ctx: Ctx) -> tuple[str | None, str | None]:
    return ctx.headers.get("if-match"), ctx.headers.get("if-none-match")


def h_vmss_get(ctx: Ctx) -> Result:
    expand = ctx.q("$expand")
    if expand is not None and expand.lower() != "userdata":
        raise invalid_parameter(
            f"The value '{expand}' of parameter '$expand' is invalid.", "$expand"
        )
    return Result(200, render.scale_set(ctx.world, addressed_scale_set(ctx, sub_resource=False)))


def h_vmss_put(ctx: Ctx) -> Result:
    require_resource_group(ctx)
    body = body_dict(ctx, required=True)
    world = ctx.world
    vmss = world.find_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7])
    if_match, if_none_match = _etag_headers(ctx)
    world.check_etag(vmss, if_match, if_none_match)
    if vmss is None:
        vmss, op = world.create_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7], body)
        result = lro_result(ctx, op, 201, render.scale_set(world, vmss), location=False)
        assert result.headers is not None
        result.headers.append(("azure-asyncnotification", "Enabled"))
        return result
    op = world.update_model(vmss, body, replace=True)
    return lro_result(ctx, op, 200, render.scale_set(world, vmss), location=False)


def h_vmss_patch(ctx: Ctx) -> Result:
    body = body_dict(ctx, required=True)
    vmss = addressed_scale_set(ctx, sub_resource=False)
    ctx.world.check_etag(vmss, *_etag_headers(ctx))
    op = ctx.world.update_model(vmss, body, replace=False)
    return lro_result(ctx, op, 200, render.scale_set(ctx.world, vmss), location=False)


def h_vmss_delete(ctx: Ctx) -> Result:
    vmss = ctx.world.find_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7])
    if vmss is None:
        return Result(204)
    op = ctx.world.delete_scale_set(vmss)
    result = lro_result(ctx, op, 202, location=True)
    assert result.headers is not None
    result.headers.append(("azure-asyncnotification", "Enabled"))
    return result


def h_vmss_instance_view(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    return Result(200, render.scale_set_instance_view(ctx.world, vmss))


def h_vmss_action(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    action = ctx.low[8]
    body = body_dict(ctx, required=action in ("manualupgrade", "delete"))
    ids = body.get("instanceIds")
    op = ctx.world.start_action(vmss, action, ids, explicit=ids is not None)
    return lro_result(ctx, op, 202, location=True)


def _vmss_operation(start: Callable[[World, ScaleSet], Operation]) -> Handler:
    """A POST below the scale set that starts one operation and answers 202 with its URLs."""

    def handler(ctx: Ctx) -> Result:
        return lro_result(
            ctx, start(ctx.world, addressed_scale_set(ctx, sub_resource=True)), 202, location=True
        )

    return handler


h_os_rolling_upgrade = _vmss_operation(World.begin_os_rolling_upgrade)
h_extension_rolling_upgrade = _vmss_operation(World.begin_extension_rolling_upgrade)
h_rolling_cancel = _vmss_operation(World.cancel_rolling_upgrade)


def h_rolling_latest(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    if vmss.rolling is None:
        raise SimError(
            404,
            "NotFound",
            f"Rolling upgrade status for the scale set '{vmss.name}' was not found. "
            "No rolling upgrade has been started.",
        )
    return Result(200, render.dumps_pretty(render_upgrades.rolling_status(ctx.world, vmss)))


def h_os_upgrade_history(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    return paged(
        ctx, f"{vmss.id}/osUpgradeHistory", render_upgrades.os_upgrade_history(ctx.world, vmss)
    )
