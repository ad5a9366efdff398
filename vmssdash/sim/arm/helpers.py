"""What the handlers share: the addressed resource or its ARM 404, LRO headers, paging
with opaque skip tokens, and the request body.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import quote, urlencode

from vmssdash.sim.arm.context import Ctx, Result
from vmssdash.sim.errors import SimError, vm_not_found
from vmssdash.sim.world.model import Operation, ScaleSet, Vm

# --------------------------------------------------------------------------- helpers


def addressed_scale_set(ctx: Ctx, *, sub_resource: bool) -> ScaleSet:
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


def find_vm(ctx: Ctx, vmss: ScaleSet) -> Vm | None:
    raw = ctx.segs[9]
    return vmss.vms.get(int(raw)) if raw.isdigit() else None


def addressed_vm(ctx: Ctx, vmss: ScaleSet) -> Vm:
    vm = find_vm(ctx, vmss)
    if vm is None:
        raise vm_not_found()
    return vm


def lro_result(ctx: Ctx, op: Operation, status: int, body: Any = None, *, location: bool) -> Result:
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


def decode_token(token: str | None) -> dict[str, Any] | None:
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


def next_link(ctx: Ctx, path: str, token: dict[str, Any], keep: tuple[str, ...]) -> str:
    params: list[tuple[str, str]] = [("api-version", ctx.api_version)]
    for name in keep:
        value = ctx.q(name)
        if value is not None:
            params.append((name, value))
    params.append(("$skiptoken", _encode_token(token)))
    return f"{ctx.base}{path}?{urlencode(params, quote_via=quote, safe='$')}"


def paged(ctx: Ctx, path: str, items: list[dict[str, Any]]) -> Result:
    data = decode_token(ctx.q("$skiptoken"))
    start = data["after"] if data else 0
    size = ctx.sim.page_size
    page = items[start : start + size]
    body: dict[str, Any] = {"value": page}
    if start + size < len(items):
        body["nextLink"] = next_link(ctx, path, {"after": start + size}, ())
    return Result(200, body)


def body_dict(ctx: Ctx, *, required: bool) -> dict[str, Any]:
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


def require_resource_group(ctx: Ctx) -> None:
    if (ctx.segs[1].lower(), ctx.segs[3].lower()) not in ctx.world.resource_groups:
        raise SimError(
            404, "ResourceGroupNotFound", f"Resource group '{ctx.segs[3]}' could not be found."
        )
