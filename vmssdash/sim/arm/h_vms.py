"""Handlers for a scale set's VMs: list (with ``$filter`` and ``$expand``), get, put,
actions, delete.
"""

from __future__ import annotations

import re

from vmssdash.sim import render
from vmssdash.sim.arm.context import Ctx, Result
from vmssdash.sim.arm.helpers import (
    addressed_scale_set,
    addressed_vm,
    body_dict,
    decode_token,
    find_vm,
    lro_result,
    next_link,
)
from vmssdash.sim.errors import invalid_parameter

_FILTERS = {
    "startswith(instanceview/statuses/code,'powerstate') eq true": "power",
    "properties/latestmodelapplied eq true": "latest",
    "properties/latestmodelapplied eq false": "stale",
}


def h_vm_list(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    expand = ctx.q("$expand")
    if expand is not None and expand.lower() != "instanceview":
        raise invalid_parameter(
            f"The value '{expand}' of parameter '$expand' is invalid. Allowed values are "
            "'instanceView'.",
            "$expand",
        )
    select = ctx.q("$select")
    if select is not None and select.lower() not in ("instanceview", "instanceview/statuses"):
        raise invalid_parameter(
            f"The value '{select}' of parameter '$select' is invalid. Allowed values are "
            "'instanceView', 'instanceView/statuses'.",
            "$select",
        )
    raw_filter = ctx.q("$filter")
    mode: str | None = None
    if raw_filter is not None:
        normal = re.sub(r"\s+", " ", raw_filter.strip().lower()).replace(", ", ",")
        normal = normal.replace('"', "'")
        mode = _FILTERS.get(normal)
        if mode is None:
            raise invalid_parameter(
                f"The value '{raw_filter}' of parameter '$filter' is invalid.", "$filter"
            )
    token = decode_token(ctx.q("$skiptoken"))
    after = token["after"] if token else -1
    vms = [vmss.vms[i] for i in sorted(vmss.vms) if i > after]
    if mode == "latest":
        vms = [v for v in vms if v.applied_gen == vmss.model_gen]
    elif mode == "stale":
        vms = [v for v in vms if v.applied_gen != vmss.model_gen]
    page = vms[: ctx.sim.page_size]
    more = len(vms) > len(page)
    world = ctx.world
    if select is not None or mode == "power":
        items: list[bytes] = [
            render.dumps(
                render.selected_vm(world, vmss, vm, (select or "").lower(), mode == "power")
            )
            for vm in page
        ]
    else:
        cache = ctx.sim.vm_cache
        with_view = expand is not None
        items = [cache.get(world, vmss, vm, expand=with_view) for vm in page]
    body = b'{"value":[' + b",".join(items) + b"]"
    if more:
        link = next_link(
            ctx,
            f"{vmss.id}/virtualMachines",
            {"after": page[-1].instance_id},
            ("$expand", "$filter", "$select"),
        )
        body += b',"nextLink":' + render.dumps(link)
    return Result(200, body + b"}")


def h_vm_get(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    vm = addressed_vm(ctx, vmss)
    expand = ctx.q("$expand")
    if expand is not None and expand.lower() not in ("instanceview", "userdata", "resiliencyview"):
        raise invalid_parameter(
            f"The value '{expand}' of parameter '$expand' is invalid.", "$expand"
        )
    with_view = expand is not None and expand.lower() == "instanceview"
    return Result(200, render.scale_set_vm(ctx.world, vmss, vm, expand=with_view))


def h_vm_put(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    vm = addressed_vm(ctx, vmss)
    body = body_dict(ctx, required=True)
    op = ctx.world.update_vm(vmss, vm, body, ctx.headers.get("if-match"))
    return lro_result(
        ctx, op, 200, render.scale_set_vm(ctx.world, vmss, vm, expand=False), location=False
    )


def h_vm_instance_view(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    return Result(200, render.vm_instance_view(ctx.world, vmss, addressed_vm(ctx, vmss)))


def h_vm_action(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    vm = addressed_vm(ctx, vmss)
    op = ctx.world.start_vm_action(vmss, vm, ctx.low[10])
    return lro_result(ctx, op, 202, location=True)


def h_vm_delete(ctx: Ctx) -> Result:
    vmss = addressed_scale_set(ctx, sub_resource=True)
    vm = find_vm(ctx, vmss)
    if vm is None:
        return Result(204)
    op = ctx.world.start_vm_action(vmss, vm, "delete")
    return lro_result(ctx, op, 202, location=True)
