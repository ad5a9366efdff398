"""The simulator's HTTP face: ARM routes answered the way the Compute RP answers them.

One catch-all route takes every ARM request and dispatches on the lower-cased path
segments (ARM paths are case-insensitive: ``virtualMachines`` and ``virtualmachines``,
``powerOff`` and ``poweroff`` all work). Each request:

1. validates ``api-version`` (required; Compute routes accept the known versions from
   2023-09-01 on; ARM routes for subscriptions/resource groups any dated version);
2. may meet an injected fault (``faults.py``), then is charged to its throttling
   policies (``throttle.py``), which may answer 429;
3. advances the world to the simulated now and runs the handler with the world lock held;
4. goes out with the headers every ARM response carries (reference §11).

Long-running operations answer as on the wire: POST actions and DELETE ``202`` with an
empty body, ``Azure-AsyncOperation`` and ``Location: …?monitor=true&api-version=…``; PUT
create ``201`` and update PUT/PATCH ``200`` with the body and ``Azure-AsyncOperation``
only. All URLs are absolute on the server's own base URL and carry the caller's
api-version. Control paths live under ``/_sim/`` (outside ARM's namespace).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from vmssdash.sim import render
from vmssdash.sim.clock import SimClock
from vmssdash.sim.entra import entra_routes
from vmssdash.sim.errors import SimError, invalid_parameter, vm_not_found
from vmssdash.sim.faults import FaultConfig, FaultInjector
from vmssdash.sim.flexible import flexible_routes
from vmssdash.sim.resource_graph import resource_graph_routes
from vmssdash.sim.scenarios import Scenario, get_scenario
from vmssdash.sim.throttle import Throttle, ThrottleConfig
from vmssdash.sim.world import Operation, ScaleSet, Vm, World

log = logging.getLogger("vmssdash.sim")

COMPUTE_API_VERSIONS = (
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
)
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
VMSS_ACTIONS = (
    "manualupgrade",
    "reimage",
    "reimageall",
    "restart",
    "start",
    "poweroff",
    "deallocate",
    "delete",
)
VM_ACTIONS = ("restart", "start", "poweroff", "deallocate", "reimage", "reimageall")
_FILTERS = {
    "startswith(instanceview/statuses/code,'powerstate') eq true": "power",
    "properties/latestmodelapplied eq true": "latest",
    "properties/latestmodelapplied eq false": "stale",
}


class SimulatedReset(ConnectionResetError):
    """Raised mid-response to drop the connection (the ``reset`` fault)."""


@dataclass
class Sim:
    """Everything one simulator instance owns besides the world itself."""

    world: World
    throttle: Throttle
    injector: FaultInjector
    scenario: str
    page_size: int
    base_url: str | None
    retry_after_202: int | None
    ids: random.Random
    vm_cache: render.VmJsonCache
    require_auth: bool = False


@dataclass
class Ctx:
    method: str
    segs: list[str]
    low: list[str]
    query: dict[str, str]
    api_version: str
    body: Any
    headers: dict[str, str]
    base: str
    sim: Sim

    @property
    def world(self) -> World:
        return self.sim.world

    def q(self, name: str) -> str | None:
        return self.query.get(name.lower())


@dataclass
class Result:
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> JSON bytes as is; None -> empty
    headers: list[tuple[str, str]] | None = None


Handler = Callable[[Ctx], Result]


# --------------------------------------------------------------------------- responses


class _ResetResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"value":[', "more_body": True})
        raise SimulatedReset("simulated connection reset")


def _common_headers(ctx_headers: dict[str, str], location: str, sim: Sim) -> list[tuple[str, str]]:
    request_id = str(uuid.UUID(int=sim.ids.getrandbits(128), version=4))
    correlation = ctx_headers.get("x-ms-correlation-request-id") or str(
        uuid.UUID(int=sim.ids.getrandbits(128), version=4)
    )
    stamp = sim.world.datetime().strftime("%Y%m%dT%H%M%SZ")
    out = [
        ("cache-control", "no-cache"),
        ("pragma", "no-cache"),
        ("expires", "-1"),
        ("server", "Microsoft-HTTPAPI/2.0"),
        ("server", "Microsoft-HTTPAPI/2.0"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
        ("x-content-type-options", "nosniff"),
        ("x-ms-request-id", request_id),
        ("x-ms-correlation-request-id", correlation),
        ("x-ms-routing-request-id", f"{location.upper()}:{stamp}:{correlation}"),
    ]
    client_id = ctx_headers.get("x-ms-client-request-id")
    if client_id:
        out.append(("x-ms-client-request-id", client_id))
    return out


def _build_response(result: Result, extra: list[tuple[str, str]]) -> Response:
    if result.body is None:
        response = Response(status_code=result.status, content=b"")
    else:
        content = result.body if isinstance(result.body, bytes) else render.dumps(result.body)
        response = Response(
            status_code=result.status,
            content=content,
            media_type="application/json; charset=utf-8",
        )
        extra = [*extra, ("vary", "Accept-Encoding")]
    for name, value in [*extra, *(result.headers or [])]:
        response.raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
    return response


def _error_result(err: SimError, retry_after: float | None = None) -> Result:
    headers = list(err.headers.items())
    if retry_after is not None and err.status in (429, 503):
        headers.append(("Retry-After", str(max(1, math.ceil(retry_after)))))
    return Result(err.status, err.body(), headers)


# --------------------------------------------------------------------------- helpers


def _scale_set(ctx: Ctx, *, sub_resource: bool) -> ScaleSet:
    """The addressed scale set; ARM words a 404 differently for the set and below it."""
    sub, rg, name = ctx.segs[1], ctx.segs[3], ctx.segs[7]
    vmss = ctx.world.find_scale_set(sub, rg, name)
    if vmss is None:
        if sub_resource:
            raise SimError(
                404,
                "NotFound",
                f"Resource /subscriptions/{sub}/resourceGroups/{rg}/providers/"
                f"Microsoft.Compute/virtualMachineScaleSets/{name} not found.",
                details=[],
            )
        raise SimError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{name}' under resource "
            f"group '{rg}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix",
        )
    return vmss


def _find_vm(ctx: Ctx, vmss: ScaleSet) -> Vm | None:
    raw = ctx.segs[9]
    return vmss.vms.get(int(raw)) if raw.isdigit() else None


def _vm(ctx: Ctx, vmss: ScaleSet) -> Vm:
    vm = _find_vm(ctx, vmss)
    if vm is None:
        raise vm_not_found()
    return vm


def _lro(ctx: Ctx, op: Operation, status: int, body: Any = None, *, location: bool) -> Result:
    url = (
        f"{ctx.base}/subscriptions/{op.subscription}/providers/Microsoft.Compute/locations/"
        f"{op.location}/operations/{op.id}"
    )
    headers = [("Azure-AsyncOperation", f"{url}?api-version={ctx.api_version}")]
    if location:
        headers.append(("Location", f"{url}?monitor=true&api-version={ctx.api_version}"))
        if ctx.sim.retry_after_202 is not None:
            headers.append(("Retry-After", str(ctx.sim.retry_after_202)))
    return Result(status, body, headers)


def _encode_token(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str | None) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or not isinstance(data.get("after"), int):
            raise ValueError
        return data
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SimError(
            400, "InvalidParameter", "The request URL is not valid.", target="$skiptoken"
        ) from None


def _next_link(ctx: Ctx, path: str, token: dict[str, Any], keep: tuple[str, ...]) -> str:
    params: list[tuple[str, str]] = [("api-version", ctx.api_version)]
    for name in keep:
        value = ctx.q(name)
        if value is not None:
            params.append((name, value))
    params.append(("$skiptoken", _encode_token(token)))
    return f"{ctx.base}{path}?{urlencode(params, quote_via=quote, safe='$')}"


def _paged(ctx: Ctx, path: str, items: list[dict[str, Any]]) -> Result:
    data = _decode_token(ctx.q("$skiptoken"))
    start = data["after"] if data else 0
    size = ctx.sim.page_size
    page = items[start : start + size]
    body: dict[str, Any] = {"value": page}
    if start + size < len(items):
        body["nextLink"] = _next_link(ctx, path, {"after": start + size}, ())
    return Result(200, body)


def _body_dict(ctx: Ctx, *, required: bool) -> dict[str, Any]:
    if ctx.body is None:
        if required:
            raise SimError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'Missing body'.",
            )
        return {}
    if not isinstance(ctx.body, dict):
        raise SimError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: 'Expected an object'.",
        )
    return ctx.body


# --------------------------------------------------------------------------- handlers


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
    return _paged(ctx, f"/subscriptions/{ctx.segs[1]}/resourcegroups", values)


def _require_rg(ctx: Ctx) -> None:
    if (ctx.segs[1].lower(), ctx.segs[3].lower()) not in ctx.world.resource_groups:
        raise SimError(
            404, "ResourceGroupNotFound", f"Resource group '{ctx.segs[3]}' could not be found."
        )


def h_resource_group(ctx: Ctx) -> Result:
    _require_rg(ctx)
    return Result(200, render.resource_group(ctx.world, ctx.segs[1], ctx.segs[3]))


def h_vmss_list_rg(ctx: Ctx) -> Result:
    _require_rg(ctx)
    sets = ctx.world.scale_sets_in(ctx.segs[1], ctx.segs[3])
    path = "/".join(["", *ctx.segs[:7]])
    return _paged(ctx, path, [render.scale_set(ctx.world, s) for s in sets])


def h_vmss_list_all(ctx: Ctx) -> Result:
    sets = ctx.world.scale_sets_in(ctx.segs[1])
    if len(ctx.segs) == 7:  # …/locations/{loc}/virtualMachineScaleSets
        sets = [s for s in sets if s.location.lower() == ctx.low[5]]
    path = "/".join(["", *ctx.segs])
    return _paged(ctx, path, [render.scale_set(ctx.world, s) for s in sets])


def _etag_headers(ctx: Ctx) -> tuple[str | None, str | None]:
    return ctx.headers.get("if-match"), ctx.headers.get("if-none-match")


def h_vmss_get(ctx: Ctx) -> Result:
    expand = ctx.q("$expand")
    if expand is not None and expand.lower() != "userdata":
        raise invalid_parameter(
            f"The value '{expand}' of parameter '$expand' is invalid.", "$expand"
        )
    return Result(200, render.scale_set(ctx.world, _scale_set(ctx, sub_resource=False)))


def h_vmss_put(ctx: Ctx) -> Result:
    _require_rg(ctx)
    body = _body_dict(ctx, required=True)
    world = ctx.world
    vmss = world.find_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7])
    if_match, if_none_match = _etag_headers(ctx)
    world.check_etag(vmss, if_match, if_none_match)
    if vmss is None:
        vmss, op = world.create_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7], body)
        result = _lro(ctx, op, 201, render.scale_set(world, vmss), location=False)
        assert result.headers is not None
        result.headers.append(("azure-asyncnotification", "Enabled"))
        return result
    op = world.update_model(vmss, body, replace=True)
    return _lro(ctx, op, 200, render.scale_set(world, vmss), location=False)


def h_vmss_patch(ctx: Ctx) -> Result:
    body = _body_dict(ctx, required=True)
    vmss = _scale_set(ctx, sub_resource=False)
    ctx.world.check_etag(vmss, *_etag_headers(ctx))
    op = ctx.world.update_model(vmss, body, replace=False)
    return _lro(ctx, op, 200, render.scale_set(ctx.world, vmss), location=False)


def h_vmss_delete(ctx: Ctx) -> Result:
    vmss = ctx.world.find_scale_set(ctx.segs[1], ctx.segs[3], ctx.segs[7])
    if vmss is None:
        return Result(204)
    op = ctx.world.delete_scale_set(vmss)
    result = _lro(ctx, op, 202, location=True)
    assert result.headers is not None
    result.headers.append(("azure-asyncnotification", "Enabled"))
    return result


def h_vmss_instance_view(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    return Result(200, render.scale_set_instance_view(ctx.world, vmss))


def h_vmss_action(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    action = ctx.low[8]
    body = _body_dict(ctx, required=action in ("manualupgrade", "delete"))
    ids = body.get("instanceIds")
    op = ctx.world.start_action(vmss, action, ids, explicit=ids is not None)
    return _lro(ctx, op, 202, location=True)


def _vmss_operation(start: Callable[[World, ScaleSet], Operation]) -> Handler:
    """A POST below the scale set that starts one operation and answers 202 with its URLs."""

    def handler(ctx: Ctx) -> Result:
        return _lro(ctx, start(ctx.world, _scale_set(ctx, sub_resource=True)), 202, location=True)

    return handler


h_os_rolling_upgrade = _vmss_operation(World.begin_os_rolling_upgrade)
h_extension_rolling_upgrade = _vmss_operation(World.begin_extension_rolling_upgrade)
h_rolling_cancel = _vmss_operation(World.cancel_rolling_upgrade)


def h_rolling_latest(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    if vmss.rolling is None:
        raise SimError(
            404,
            "NotFound",
            f"Rolling upgrade status for the scale set '{vmss.name}' was not found. "
            "No rolling upgrade has been started.",
        )
    return Result(200, render.dumps_pretty(render.rolling_status(ctx.world, vmss)))


def h_os_upgrade_history(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    return _paged(ctx, f"{vmss.id}/osUpgradeHistory", render.os_upgrade_history(ctx.world, vmss))


def h_vm_list(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
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
    token = _decode_token(ctx.q("$skiptoken"))
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
        link = _next_link(
            ctx,
            f"{vmss.id}/virtualMachines",
            {"after": page[-1].instance_id},
            ("$expand", "$filter", "$select"),
        )
        body += b',"nextLink":' + render.dumps(link)
    return Result(200, body + b"}")


def h_vm_get(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    vm = _vm(ctx, vmss)
    expand = ctx.q("$expand")
    if expand is not None and expand.lower() not in ("instanceview", "userdata", "resiliencyview"):
        raise invalid_parameter(
            f"The value '{expand}' of parameter '$expand' is invalid.", "$expand"
        )
    with_view = expand is not None and expand.lower() == "instanceview"
    return Result(200, render.scale_set_vm(ctx.world, vmss, vm, expand=with_view))


def h_vm_put(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    vm = _vm(ctx, vmss)
    body = _body_dict(ctx, required=True)
    op = ctx.world.update_vm(vmss, vm, body, ctx.headers.get("if-match"))
    return _lro(
        ctx, op, 200, render.scale_set_vm(ctx.world, vmss, vm, expand=False), location=False
    )


def h_vm_instance_view(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    return Result(200, render.vm_instance_view(ctx.world, vmss, _vm(ctx, vmss)))


def h_vm_action(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    vm = _vm(ctx, vmss)
    op = ctx.world.start_vm_action(vmss, vm, ctx.low[10])
    return _lro(ctx, op, 202, location=True)


def h_vm_delete(ctx: Ctx) -> Result:
    vmss = _scale_set(ctx, sub_resource=True)
    vm = _find_vm(ctx, vmss)
    if vm is None:
        return Result(204)
    op = ctx.world.start_vm_action(vmss, vm, "delete")
    return _lro(ctx, op, 202, location=True)


def h_operation(ctx: Ctx) -> Result:
    op = ctx.world.operations.get(ctx.segs[7].lower())
    if op is None or op.subscription.lower() != ctx.segs[1].lower():
        raise SimError(404, "NotFound", "The entity was not found in this Azure location.")
    if (ctx.q("monitor") or "").lower() == "true":
        return Result(202 if not op.done else 200)
    return Result(200, render.dumps_pretty(render.operation_status(ctx.world, op)))


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


# --------------------------------------------------------------------------- routing

_VMSS_ACTION_CLASS = {a: "vmss_action" for a in VMSS_ACTIONS}


@dataclass
class Route_:
    handler: Handler
    op_class: str
    compute: bool


def resolve(method: str, low: list[str]) -> Route_ | None:
    """Map a request onto its handler by lower-cased path segments."""
    n = len(low)
    if n == 0 or low[0] != "subscriptions":
        return None
    if n == 1:
        return Route_(h_subscriptions, "arm", False) if method == "GET" else None
    if n == 2:
        return Route_(h_subscription, "arm", False) if method == "GET" else None
    if n == 3 and low[2] == "resourcegroups":
        return Route_(h_resource_groups, "arm", False) if method == "GET" else None
    if n == 4 and low[2] == "resourcegroups":
        return Route_(h_resource_group, "arm", False) if method == "GET" else None
    # Subscription-level Compute routes
    if n >= 5 and low[2] == "providers" and low[3] == "microsoft.compute":
        if n == 5 and low[4] == "virtualmachinescalesets" and method == "GET":
            return Route_(h_vmss_list_all, "vmss_list", True)
        if n >= 6 and low[4] == "locations":
            if n == 7 and low[6] == "virtualmachinescalesets" and method == "GET":
                return Route_(h_vmss_list_all, "vmss_list", True)
            if n == 8 and low[6] == "operations" and method == "GET":
                return Route_(h_operation, "operation", True)
            if (
                n in (15, 16)
                and method == "GET"
                and low[6] == "publishers"
                and low[8] == "artifacttypes"
                and low[9] == "vmimage"
                and low[10] == "offers"
                and low[12] == "skus"
                and low[14] == "versions"
            ):
                return Route_(h_image_versions, "arm", True)
        return None
    # Resource-group Compute routes
    if not (
        n >= 7
        and low[2] == "resourcegroups"
        and low[4] == "providers"
        and low[5] == "microsoft.compute"
        and low[6] == "virtualmachinescalesets"
    ):
        return None
    if n == 7:
        return Route_(h_vmss_list_rg, "vmss_list", True) if method == "GET" else None
    if n == 8:
        return {
            "GET": Route_(h_vmss_get, "vmss_get", True),
            "PUT": Route_(h_vmss_put, "vmss_write", True),
            "PATCH": Route_(h_vmss_patch, "vmss_write", True),
            "DELETE": Route_(h_vmss_delete, "vmss_delete", True),
        }.get(method)
    tail = low[8:]
    if n == 9:
        if tail[0] == "instanceview" and method == "GET":
            return Route_(h_vmss_instance_view, "vmss_get", True)
        if tail[0] == "virtualmachines" and method == "GET":
            return Route_(h_vm_list, "vm_list", True)
        if tail[0] == "osupgradehistory" and method == "GET":
            return Route_(h_os_upgrade_history, "vmss_get", True)
        if method == "POST":
            if tail[0] in VMSS_ACTIONS:
                return Route_(h_vmss_action, _VMSS_ACTION_CLASS[tail[0]], True)
            if tail[0] == "osrollingupgrade":
                return Route_(h_os_rolling_upgrade, "vmss_rolling", True)
            if tail[0] == "extensionrollingupgrade":
                return Route_(h_extension_rolling_upgrade, "vmss_rolling", True)
        return None
    if n == 10 and tail[0] == "rollingupgrades":
        if tail[1] == "latest" and method == "GET":
            return Route_(h_rolling_latest, "vmss_get", True)
        if tail[1] == "cancel" and method == "POST":
            return Route_(h_rolling_cancel, "vmss_rolling", True)
        return None
    if tail[0] != "virtualmachines":
        return None
    if n == 10:
        if method == "GET":
            return Route_(h_vm_get, "vm_get", True)
        if method == "DELETE":
            return Route_(h_vm_delete, "vm_delete", True)
        if method == "PUT":
            return Route_(h_vm_put, "vmss_action", True)
        return None
    if n == 11:
        if tail[2] == "instanceview" and method == "GET":
            return Route_(h_vm_instance_view, "vm_get", True)
        if tail[2] in VM_ACTIONS and method == "POST":
            klass = "vm_delete" if tail[2] in ("poweroff", "deallocate") else "vm_action"
            return Route_(h_vm_action, klass, True)
    return None


def _check_api_version(route: Route_, ctx_query: dict[str, str]) -> str:
    version = ctx_query.get("api-version")
    if not version:
        raise SimError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if route.compute and version not in COMPUTE_API_VERSIONS:
        raise SimError(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location 'westeurope' and API version "
            f"'{version}' for type 'virtualMachineScaleSets'. The supported api-versions are "
            f"'{', '.join(COMPUTE_API_VERSIONS)}'. The supported locations are 'westeurope'.",
        )
    if not route.compute and not _DATED.match(version):
        raise SimError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are "
            "'2022-12-01,2021-04-01,2020-01-01'.",
        )
    return version


def _subscription_check(world: World, low: list[str]) -> None:
    if len(low) >= 2 and low[1] not in world.subscriptions:
        raise SimError(
            404, "SubscriptionNotFound", f"The subscription '{low[1]}' could not be found."
        )


def _bucket(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method, "writes")


async def arm_endpoint(request: Request) -> Response:
    sim: Sim = request.app.state.sim
    world = sim.world
    method = request.method.upper()
    segs = [s for s in request.url.path.split("/") if s]
    low = [s.lower() for s in segs]
    query = {k.lower(): v for k, v in request.query_params.items()}
    headers = {k.lower(): v for k, v in request.headers.items()}
    base = sim.base_url or str(request.base_url).rstrip("/")
    location = "westeurope"

    delay = sim.injector.latency()
    if delay:
        await asyncio.sleep(delay)
    raw = await request.body()

    with world.lock:
        world.advance()
        common = _common_headers(headers, location, sim)
        retry_after: float | None = None
        rate_headers: list[tuple[str, str]] = []
        try:
            if sim.require_auth:
                _check_auth(headers.get("authorization"), base)
            route = resolve(method, low)
            if route is None:
                raise _no_route(method, low, query)
            api_version = _check_api_version(route, query)
            _subscription_check(world, low)
            fault = sim.injector.request_fault()
            if fault == "reset":
                return _ResetResponse()
            if fault is not None:
                retry_after = float(sim.injector.config.retry_after)
                raise _injected(fault, retry_after)
            subscription = low[1] if len(low) > 1 else "tenant"
            decision = sim.throttle.charge(
                subscription,
                route.op_class,
                _bucket(method),
                world.now,
                world.clock.epoch,
                neighbours=sim.injector.config.neighbours,
            )
            rate_headers = decision.headers
            if decision.error is not None:
                retry_after = world.clock.real_seconds(decision.retry_after)
                raise decision.error
            body: Any = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise SimError(
                        400,
                        "InvalidRequestContent",
                        f"The request content was invalid and could not be deserialized: {exc}.",
                    ) from None
            ctx = Ctx(method, segs, low, query, api_version, body, headers, base, sim)
            result = route.handler(ctx)
            if route.op_class == "vmss_write" and method in ("PUT", "PATCH"):
                rate_headers.append(("x-ms-request-charge", "2" if result.status == 201 else "1"))
            return _build_response(result, common + rate_headers)
        except SimError as err:
            return _build_response(_error_result(err, retry_after), common + rate_headers)
        except Exception:
            log.exception("simulator bug handling %s %s", method, request.url.path)
            bug = SimError(
                500,
                "InternalServerError",
                "Encountered internal server error. Diagnostic information: timestamp "
                f"'{world.datetime().strftime('%Y%m%dT%H%M%SZ')}'.",
            )
            return _build_response(_error_result(bug), common)


def _auth_error(code: str, message: str, base: str, description: str) -> SimError:
    challenge = (
        f'Bearer authorization_uri="{base}/common", error="invalid_token", '
        f'error_description="{description}"'
    )
    return SimError(401, code, message, headers={"WWW-Authenticate": challenge})


def _check_auth(header: str | None, base: str) -> None:
    """ARM's front door: a bearer token must be present, well formed and unexpired.

    The signature is not checked (the fake Entra authority signs nothing)."""
    if not header:
        raise _auth_error(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            base,
            "The authentication failed because of missing 'Authorization' header.",
        )
    scheme, _, token = header.partition(" ")
    parts = token.strip().split(".")
    claims: Any = None
    if scheme.lower() == "bearer" and len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, binascii.Error):
            claims = None
    if not isinstance(claims, dict):
        raise _auth_error(
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            base,
            "The access token is invalid.",
        )
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise _auth_error(
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time "
            f"'{time.strftime('%m/%d/%Y %I:%M:%S %p', time.gmtime(exp))}' is earlier than "
            "current UTC time.",
            base,
            "The access token has expired.",
        )


def _no_route(method: str, low: list[str], query: dict[str, str]) -> SimError:
    if "microsoft.compute" in low:
        i = low.index("microsoft.compute")
        kind = "/".join(low[i + 1 : i + 2]) or "?"
        return SimError(
            404,
            "InvalidResourceType",
            f"The resource type '{kind}' could not be found in the namespace "
            f"'Microsoft.Compute' for api version '{query.get('api-version', '')}'.",
        )
    return SimError(
        404, "NotFound", f"No HTTP resource was found that matches the request URI for {method}."
    )


def _injected(fault: str, retry_after: float) -> SimError:
    if fault == "429":
        return SimError(
            429,
            "OperationNotAllowed",
            "The server rejected the request because too many requests have been received "
            "for this subscription.",
            details=[
                {
                    "code": "TooManyRequests",
                    "target": "HighCostGetVMScaleSet3Min",
                    "message": json.dumps(
                        {"operationGroup": "HighCostGetVMScaleSet3Min", "allowedRequestCount": 180},
                        separators=(",", ":"),
                    ),
                }
            ],
        )
    if fault == "503":
        return SimError(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
    return SimError(
        500,
        "InternalServerError",
        "Encountered internal server error. Diagnostic information: timestamp "
        "'simulated', tracking id 'simulated'.",
    )


# --------------------------------------------------------------------------- control API


def _state(sim: Sim) -> dict[str, Any]:
    world = sim.world
    sets = []
    for vmss in world.scale_sets.values():
        counts: dict[str, int] = {}
        for vm in vmss.vms.values():
            for label in (
                vm.provisioning.lower(),
                f"power:{vm.power}",
                f"health:{vm.health}",
                "latest" if vm.applied_gen == vmss.model_gen else "stale",
            ):
                counts[label] = counts.get(label, 0) + 1
        sets.append(
            {
                "id": vmss.id,
                "name": vmss.name,
                "mode": vmss.upgrade_mode,
                "etag": f'"{vmss.etag}"',
                "modelGeneration": vmss.model_gen,
                "vms": len(vmss.vms),
                "counts": dict(sorted(counts.items())),
                "provisioningState": vmss.provisioning_state,
                "rollingUpgrade": vmss.rolling.code if vmss.rolling else None,
                # instance id -> accepted manualupgrade calls that included it (non-zero only)
                "manualUpgrades": {
                    str(iid): vm.manual_upgrades
                    for iid, vm in vmss.vms.items()
                    if vm.manual_upgrades
                },
            }
        )
    return {
        "scenario": sim.scenario,
        "clock": {
            "now": world.now,
            "time": render.timestamp(world, world.now),
            "speed": world.clock.speed,
            "paused": world.clock.paused,
            "manual": world.clock.manual,
        },
        "pendingEvents": world.pending_events,
        "scaleSets": sets,
        "operations": {
            "total": len(world.operations),
            "inProgress": sum(1 for op in world.operations.values() if not op.done),
        },
        "faults": sim.injector.config.to_json(),
        "throttle": {
            "enabled": sim.throttle.config.enabled,
            "scale": sim.throttle.config.scale,
            "used": sim.throttle.snapshot(),
        },
    }


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SimError(400, "InvalidRequestContent", f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SimError(400, "InvalidRequestContent", "expected a JSON object")
    return data


def _control(fn: Callable[[Sim, dict[str, Any]], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        sim: Sim = request.app.state.sim
        try:
            data = await _json_body(request) if request.method == "POST" else {}
            with sim.world.lock:
                sim.world.advance()
                out = fn(sim, data)
                sim.world.advance()
                return JSONResponse(out if out is not None else _state(sim))
        except (SimError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, SimError) else str(exc)
            return JSONResponse({"error": {"code": "BadRequest", "message": message}}, 400)

    return endpoint


def _advance(sim: Sim, data: dict[str, Any]) -> Any:
    seconds = float(data.get("seconds", 0))
    sim.world.clock.advance(seconds)
    return None


def _pause(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.pause()


def _resume(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.resume()


def _speed(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.set_speed(float(data["speed"]))


def _faults(sim: Sim, data: dict[str, Any]) -> Any:
    if data:
        sim.injector.config = FaultConfig.from_json(data)
    return sim.injector.config.to_json()


def _set_vm(sim: Sim, data: dict[str, Any]) -> Any:
    """Force a VM's health or power (to exercise health gates without a bad image)."""
    world = sim.world
    name = str(data.get("scaleSet", ""))
    vmss = next((s for s in world.scale_sets.values() if s.name.lower() == name.lower()), None)
    if vmss is None:
        raise ValueError(f"no scale set {name!r}")
    raw = str(data.get("instanceId", ""))
    vm = vmss.vms.get(int(raw)) if raw.isdigit() else None
    if vm is None:
        raise ValueError(f"no VM {raw!r} in {vmss.name}")
    health = data.get("health", vm.health)
    if health not in (None, "healthy", "unhealthy", "initializing", "unknown"):
        raise ValueError(f"bad health {health!r}")
    power = data.get("power", vm.power)
    if power not in (None, "running", "stopped", "deallocated"):
        raise ValueError(f"bad power state {power!r}")
    vm.health, vm.power = health, power
    vm.rev += 1
    return {"scaleSet": vmss.name, "instanceId": raw, "health": vm.health, "power": vm.power}


def _throttle(sim: Sim, data: dict[str, Any]) -> Any:
    cfg = sim.throttle.config
    if "enabled" in data:
        cfg.enabled = bool(data["enabled"])
    if "scale" in data:
        cfg.scale = float(data["scale"])
    if "limits" in data:
        cfg.limits = {str(k): int(v) for k, v in dict(data["limits"]).items()}
    if data.get("reset"):
        sim.throttle.reset()
    return {"enabled": cfg.enabled, "scale": cfg.scale, "limits": cfg.limits}


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    scenario: str | Scenario = "demo",
    *,
    speed: float = 1.0,
    seed: int = 0,
    faults: FaultConfig | str | None = None,
    page_size: int = 50,
    manual_clock: bool = False,
    base_url: str | None = None,
    throttle: ThrottleConfig | None = None,
    retry_after_202: int | None = None,
    require_auth: bool = False,
) -> Starlette:
    """A simulator app for ``scenario``; the world is ``app.state.world``.

    ``faults`` defaults to the scenario's own (``chaos`` has some); pass ``"off"`` to
    silence them. ``throttle`` overrides the policy limits; ``retry_after_202`` adds a
    ``Retry-After`` to LRO 202s (off by default, as on the wire); ``require_auth`` makes
    ARM routes answer 401 without an unexpired bearer JWT (off: ``--auth none`` works).
    """
    spec = get_scenario(scenario) if isinstance(scenario, str) else scenario
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    if faults is None:
        fault_config = FaultConfig.parse(spec.faults)
    elif isinstance(faults, str):
        fault_config = FaultConfig.parse(faults)
    else:
        fault_config = faults
    clock = SimClock(speed=speed, manual=manual_clock)
    injector = FaultInjector(fault_config, seed)
    world = World(clock=clock, seed=seed, timings=spec.timings, faults=injector)
    spec.build(world)
    sim = Sim(
        world=world,
        throttle=Throttle(throttle),
        injector=injector,
        scenario=spec.name,
        page_size=page_size,
        base_url=base_url.rstrip("/") if base_url else None,
        retry_after_202=retry_after_202,
        ids=random.Random(f"ids-{seed}"),
        vm_cache=render.VmJsonCache(),
        require_auth=require_auth,
    )
    methods = ["GET", "PUT", "PATCH", "POST", "DELETE"]
    routes: list[BaseRoute] = [
        Route("/_sim/health", health, methods=["GET"]),
        Route("/_sim/state", _control(lambda s, d: None), methods=["GET"]),
        Route("/_sim/clock/advance", _control(_advance), methods=["POST"]),
        Route("/_sim/clock/pause", _control(_pause), methods=["POST"]),
        Route("/_sim/clock/resume", _control(_resume), methods=["POST"]),
        Route("/_sim/clock/speed", _control(_speed), methods=["POST"]),
        Route("/_sim/faults", _control(_faults), methods=["GET", "POST"]),
        Route("/_sim/throttle", _control(_throttle), methods=["GET", "POST"]),
        Route("/_sim/vm", _control(_set_vm), methods=["POST"]),
        *entra_routes(home_tenant=world.tenant_id),  # the fake Entra, in the world's tenant
        *resource_graph_routes(world, _check_auth if require_auth else None),
        *flexible_routes(world, arm_endpoint, _check_auth if require_auth else None),
        Route("/{path:path}", arm_endpoint, methods=methods),
    ]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.sim = sim
    return app
