"""Flexible scale sets in the simulator: members through the VM API, Uniform-only calls 400.

Flexible members are plain virtual machines named ``{set}_{8 hex}``, listed with
``GET …/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines`` filtered by
``'virtualMachineScaleSet/id' eq '{id}'`` (``$expand=instanceView`` only with such a
filter). The scale-set VM API is Uniform's: on a Flexible set ``$expand=instanceView`` on
its VM list and any per-instance call by name answer 400, as Azure does, so a Uniform-only
code path fails in tests as it would in Azure. The VM API's reads are charged to the VM
policies (List to ``HighCostGet*``, Get to ``LowCostGet*``). Every other request goes on to
ARM's handler (``manualupgrade`` with names is the world's ``resolve_instance_ids``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from vmssdash.azure.models.scaleset import IMAGE_KEYS
from vmssdash.sim import render
from vmssdash.sim.errors import SimError
from vmssdash.sim.throttle import Throttle
from vmssdash.sim.world import World
from vmssdash.sim.world.model import COMPUTE, ScaleSet, Vm, vm_name

Endpoint = Callable[[Request], Awaitable[Response]]
CheckAuth = Callable[[str | None, str], None]
FLEXIBLE = "Flexible"
_FILTER = re.compile(r"^\s*'?virtualMachineScaleSet/id'?\s+eq\s+'([^']+)'\s*$", re.IGNORECASE)
_SET_PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"


def is_flexible(vmss: ScaleSet) -> bool:
    return vmss.flexible


def member_name(vmss: ScaleSet, vm: Vm) -> str:
    """Flexible members are named ``{set}_{8 hex}``, not by an instance number."""
    return vm_name(vmss, vm)


def member_json(world: World, vmss: ScaleSet, vm: Vm, *, expand: bool) -> dict[str, Any]:
    """A member in the plain VM schema (no ``latestModelApplied``: that is Uniform's)."""
    body = render.scale_set_vm(world, vmss, vm, expand=expand)
    name = member_name(vmss, vm)
    props = body["properties"]
    for uniform_only in ("latestModelApplied", "modelDefinitionApplied", "protectionPolicy"):
        props.pop(uniform_only, None)
    props["virtualMachineScaleSet"] = {"id": vmss.id}
    if vmss.fd_count > 1:
        props["platformFaultDomain"] = vm.fd
    if expand:
        view = props["instanceView"]
        view.pop("placementGroupId", None)
        view.pop("platformUpdateDomain", None)
        if vmss.fd_count <= 1:
            view.pop("platformFaultDomain", None)
    body.pop("instanceId", None)
    body.pop("sku", None)
    body["name"] = name
    body["type"] = f"{COMPUTE}/virtualMachines"
    body["id"] = (
        f"/subscriptions/{vmss.subscription}/resourceGroups/{vmss.resource_group}"
        f"/providers/{COMPUTE}/virtualMachines/{name}"
    )
    return body


def member_image(vmss: ScaleSet, vm: Vm) -> dict[str, Any]:
    """The image reference a member runs (its last applied model's), as ARM shows it."""
    storage = vmss.profiles[vm.applied_gen].get("storageProfile") or {}
    return dict(storage.get("imageReference") or {})


def graph_unhealthy(vm: Vm) -> bool:
    """Resource Graph's unhealthy: failed provisioning, or a power state other than
    running or deallocated (application health is not in Resource Graph)."""
    return vm.provisioning == "Failed" or vm.power not in (None, "running", "deallocated")


def graph_member_rows(vmss: ScaleSet) -> list[dict[str, Any]]:
    """Resource Graph's ``FLEXIBLE_MEMBERS`` rows for one Flexible set: its members
    grouped by the image they run, with their count and how many are unhealthy."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for vm in vmss.sorted_vms():
        image = member_image(vmss, vm)
        key = tuple(str(image.get(k) or "").lower() for k in IMAGE_KEYS)
        row = groups.setdefault(
            key,
            {
                "scaleSetId": vmss.id.lower(),
                **dict(zip(IMAGE_KEYS, key, strict=True)),
                "total": 0,
                "unhealthy": 0,
            },
        )
        row["total"] += 1
        row["unhealthy"] += int(graph_unhealthy(vm))
    return [groups[k] for k in sorted(groups)]


def _not_allowed(vmss: ScaleSet) -> SimError:
    return SimError(
        400,
        "OperationNotAllowed",
        "Operation 'VirtualMachineScaleSets.virtualMachines.GET' is not allowed on Virtual "
        f"Machine Scale Set '{vmss.name}' since it uses Flexible orchestration mode.",
    )


def _error(err: SimError) -> Response:
    return JSONResponse(err.body(), err.status, headers=err.headers)


def flexible_routes(
    world: World, arm: Endpoint, check_auth: CheckAuth | None = None
) -> list[BaseRoute]:
    """Routes for ``create_app``, ahead of ``arm`` (the catch-all they hand Uniform to);
    ``check_auth`` is ARM's front door for the VM list these routes answer themselves."""

    def scale_set(request: Request) -> ScaleSet | None:
        p = request.path_params
        return world.find_scale_set(p["sub"], p["rg"], p["name"])

    async def set_vms(request: Request) -> Response:
        with world.lock:
            vmss = scale_set(request)
            flexible = vmss is not None and is_flexible(vmss)
        if vmss is None or not flexible:
            return await arm(request)
        if request.path_params.get("rest"):
            return _error(
                SimError(
                    400, "InvalidParameter", "instanceId must be a number.", target="instanceId"
                )
            )
        if (request.query_params.get("$expand") or "").lower() == "instanceview":
            return _error(_not_allowed(vmss))
        with world.lock:
            value = [
                {
                    "name": member_name(vmss, vm),
                    "id": f"{vmss.id}/virtualMachines/{member_name(vmss, vm)}",
                }
                for vm in vmss.sorted_vms()
            ]
        return JSONResponse({"value": value})

    def front_door(request: Request, op_class: str) -> SimError | list[tuple[str, str]]:
        """Auth, api-version and the VM API's throttling, as ARM's handler does them;
        the rate headers to send, or the error to answer with."""
        if check_auth is not None:
            try:
                check_auth(request.headers.get("authorization"), str(request.base_url).rstrip("/"))
            except SimError as err:
                return err
        if not request.query_params.get("api-version"):
            return SimError(400, "MissingApiVersionParameter", "The api-version is required.")
        throttle: Throttle = request.app.state.sim.throttle
        neighbours: float = request.app.state.sim.injector.config.neighbours
        with world.lock:
            world.advance()
            decision = throttle.charge(
                str(request.path_params["sub"]),
                op_class,
                "reads",
                world.now,
                world.clock.epoch,
                neighbours=neighbours,
            )
            retry = world.clock.real_seconds(decision.retry_after)
        if decision.error is not None:
            refused = decision.error
            refused.headers = {
                **refused.headers,
                **dict(decision.headers),
                "Retry-After": str(max(1, math.ceil(retry))),
            }
            return refused
        return decision.headers

    async def vm_get(request: Request) -> Response:
        door = front_door(request, "vmapi_get")
        if isinstance(door, SimError):
            return _error(door)
        p = request.path_params
        expand = (request.query_params.get("$expand") or "").lower() == "instanceview"
        with world.lock:
            for vmss in world.scale_sets_in(p["sub"], p["rg"]):
                for vm in vmss.sorted_vms() if is_flexible(vmss) else ():
                    if member_name(vmss, vm).lower() == p["vm"].lower():
                        body = member_json(world, vmss, vm, expand=expand)
                        return JSONResponse(body, headers=dict(door))
        return _error(
            SimError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/virtualMachines/{p['vm']}' under resource "
                f"group '{p['rg']}' was not found.",
            )
        )

    async def vm_list(request: Request) -> Response:
        door = front_door(request, "vmapi_list")
        if isinstance(door, SimError):
            return _error(door)
        query = {k.lower(): v for k, v in request.query_params.items()}
        expand = (query.get("$expand") or "").lower() == "instanceview"
        raw_filter = query.get("$filter")
        match = _FILTER.match(raw_filter) if raw_filter else None
        if raw_filter and match is None:
            return _error(
                SimError(400, "InvalidParameter", "The $filter is not supported.", target="$filter")
            )
        if expand and match is None:
            return _error(
                SimError(
                    400,
                    "InvalidParameter",
                    "The $expand=instanceView is only allowed with a valid $filter.",
                    target="$expand",
                )
            )
        sub, rg = request.path_params["sub"], request.path_params["rg"]
        with world.lock:
            world.advance()
            sets = [s for s in world.scale_sets_in(sub, rg) if is_flexible(s)]
            if match is not None:
                sets = [s for s in sets if s.id.lower() == match.group(1).lower()]
            items = [
                member_json(world, s, vm, expand=expand) for s in sets for vm in s.sorted_vms()
            ]
        size = request.app.state.sim.page_size
        start = (
            int(query.get("$skiptoken") or 0) if (query.get("$skiptoken") or "0").isdigit() else 0
        )
        body: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            params = [(k, v) for k, v in request.query_params.items() if k.lower() != "$skiptoken"]
            params.append(("$skiptoken", str(start + size)))
            body["nextLink"] = (
                f"{str(request.base_url).rstrip('/')}{request.url.path}?"
                + urlencode(params, quote_via=quote, safe="$'")
            )
        return JSONResponse(body, headers=dict(door))

    base = _SET_PATH + "/virtualMachineScaleSets/{name}/virtualMachines"
    methods = ["GET", "PUT", "PATCH", "POST", "DELETE"]
    return [
        Route(_SET_PATH + "/virtualMachines", vm_list, methods=["GET"]),
        Route(_SET_PATH + "/virtualMachines/{vm}", vm_get, methods=["GET"]),
        Route(base, set_vms, methods=methods),
        Route(base + "/{rest:path}", set_vms, methods=methods),
    ]
