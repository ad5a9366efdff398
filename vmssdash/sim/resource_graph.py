"""Azure Resource Graph in the simulator: the queries vmssdash sends, answered from the world.

``POST /providers/Microsoft.ResourceGraph/resources`` computes its rows from the scale
sets and VMs the simulator serves, pages them with ``$top``/``$skipToken`` and enforces a
per-user quota on the simulated clock (15 queries per 5 s by default) with the
``x-ms-user-quota-*`` headers Resource Graph sends. It is not a KQL engine: a query it does
not know gets Resource Graph's 400 ``InvalidQuery`` answer. ``/_sim/resource-graph`` sets
the quota and can make the service forbidden (403) or absent (404), for the fallback.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from vmssdash.azure import graph_queries
from vmssdash.sim.errors import SimError
from vmssdash.sim.world import World
from vmssdash.sim.world.model import ScaleSet

MODES = ("ok", "forbidden", "unavailable")
CheckAuth = Callable[[str | None, str], None]


@dataclass
class GraphState:
    """The service's knobs and counters; one per simulator."""

    quota: int = 15
    window: float = 5.0
    mode: str = "ok"
    queries: int = 0
    throttled: int = 0
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # user -> (start, used)

    def to_json(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "window": self.window,
            "mode": self.mode,
            "queries": self.queries,
            "throttled": self.throttled,
        }

    def configure(self, data: dict[str, Any]) -> None:
        if "mode" in data:
            if data["mode"] not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}")
            self.mode = str(data["mode"])
        if "quota" in data:
            self.quota = max(1, int(data["quota"]))
        if "window" in data:
            self.window = max(0.001, float(data["window"]))
        if data.get("reset"):
            self.windows.clear()
            self.queries = self.throttled = 0

    def charge(self, user: str, now: float) -> tuple[bool, int, float]:
        """Count one query for ``user``: (allowed, remaining, seconds until the reset)."""
        start, used = self.windows.get(user, (now, 0))
        if now >= start + self.window:
            start, used = now, 0
        allowed = used < self.quota
        if allowed:
            used += 1
        self.windows[user] = (start, used)
        return allowed, self.quota - used, start + self.window - now


def _hms(seconds: float) -> str:
    whole = max(0, math.ceil(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"skip": offset}).encode()).decode()


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        return max(0, int(data["skip"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SimError(400, "BadRequest", "The $skipToken is invalid.") from None


# --------------------------------------------------------------------------- rows


def scale_set_row(vmss: ScaleSet) -> dict[str, Any]:
    props = vmss.properties
    return {
        "id": vmss.id,
        "name": vmss.name,
        "resourceGroup": vmss.resource_group.lower(),
        "subscriptionId": vmss.subscription,
        "location": vmss.location,
        "capacity": int(vmss.sku.get("capacity", 0)),
        "orchestrationMode": str(props.get("orchestrationMode") or "Uniform"),
        "upgradeMode": vmss.upgrade_mode,
        "provisioningState": vmss.provisioning_state,
    }


def instance_count_row(vmss: ScaleSet) -> dict[str, Any]:
    vms = list(vmss.vms.values())
    return {
        "scaleSetId": vmss.id.lower(),
        "total": len(vms),
        "known": len(vms),
        "stale": sum(1 for vm in vms if vm.applied_gen != vmss.model_gen),
        "unhealthy": sum(
            1
            for vm in vms
            if vm.provisioning == "Failed" or vm.power not in (None, "running", "deallocated")
        ),
    }


def _rows(world: World, query: str, subscriptions: set[str]) -> list[dict[str, Any]]:
    sets = [s for s in world.scale_sets.values() if s.subscription.lower() in subscriptions]
    text = graph_queries.normalize(query)
    if text == graph_queries.normalize(graph_queries.SCALE_SETS):
        return [scale_set_row(s) for s in sorted(sets, key=lambda s: s.id)]
    if text == graph_queries.normalize(graph_queries.INSTANCE_COUNTS):
        # Flexible members are plain VMs in `resources`, not in `computeresources`.
        uniform = [s for s in sets if s.properties.get("orchestrationMode", "Uniform") == "Uniform"]
        return [instance_count_row(s) for s in sorted(uniform, key=lambda s: s.id.lower())]
    raise SimError(
        400,
        "BadRequest",
        "Please provide below info when asking for support: timestamp = simulated, "
        "correlationId = simulated.",
        details=[
            {
                "code": "InvalidQuery",
                "message": "Query is invalid. Please refer to the documentation for the Azure "
                "Resource Graph service and fix the error before retrying.",
            },
            {
                "code": "UnsupportedQuery",
                "message": "The simulator answers only the queries vmssdash sends.",
            },
        ],
    )


# --------------------------------------------------------------------------- HTTP


def _user(authorization: str | None) -> str:
    """Quota is per user: the token's subject when there is one."""
    parts = (authorization or "").partition(" ")[2].split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            return str(claims.get("oid") or claims.get("sub") or "token")
        except (ValueError, binascii.Error, AttributeError):
            return "token"
    return "anonymous"


def _refusal(mode: str) -> SimError | None:
    if mode == "forbidden":
        return SimError(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action "
            "'Microsoft.ResourceGraph/resources/read' over scope "
            "'/providers/Microsoft.ResourceGraph' or the scope is invalid.",
        )
    if mode == "unavailable":
        return SimError(
            404,
            "InvalidResourceNamespace",
            "The resource namespace 'Microsoft.ResourceGraph' is invalid.",
        )
    return None


def _request_body(raw: bytes) -> tuple[str, set[str], int, int]:
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise SimError(400, "InvalidRequestContent", "The request content must hold a query.")
    subs = body.get("subscriptions") or []
    if not isinstance(subs, list):
        raise SimError(400, "InvalidRequestContent", "'subscriptions' must be a list.")
    options = body.get("options") or {}
    top = options.get("$top", 100) if isinstance(options, dict) else 100
    if not isinstance(top, int) or not 1 <= top <= 1000:
        raise SimError(400, "BadRequest", "$top must be between 1 and 1000.")
    skip = _offset(options.get("$skipToken") if isinstance(options, dict) else None)
    return body["query"], {str(s).lower() for s in subs}, top, skip


def resource_graph_routes(world: World, check_auth: CheckAuth | None = None) -> list[BaseRoute]:
    """The service's routes for ``create_app``; ``check_auth`` is ARM's front door."""
    state = GraphState()
    ids = random.Random(f"graph-{world.seed}")

    async def query(request: Request) -> Response:
        raw = await request.body()
        base = str(request.base_url).rstrip("/")
        with world.lock:
            world.advance()
            headers = {"x-ms-request-id": str(uuid.UUID(int=ids.getrandbits(128), version=4))}
            try:
                if check_auth is not None:
                    check_auth(request.headers.get("authorization"), base)
                if not request.query_params.get("api-version"):
                    raise SimError(
                        400, "MissingApiVersionParameter", "The api-version is required."
                    )
                refusal = _refusal(state.mode)
                if refusal is not None:
                    raise refusal
                allowed, remaining, resets = state.charge(
                    _user(request.headers.get("authorization")), world.now
                )
                headers["x-ms-user-quota-remaining"] = str(max(0, remaining))
                headers["x-ms-user-quota-resets-after"] = _hms(resets)
                if not allowed:
                    state.throttled += 1
                    raise SimError(
                        429,
                        "RateLimiting",
                        "Please provide below info when asking for support: timestamp = "
                        "simulated. The user's query quota is exhausted; retry after "
                        f"{_hms(resets)}.",
                    )
                state.queries += 1
                text, subs, top, skip = _request_body(raw)
                rows = _rows(world, text, subs)
            except SimError as err:
                return JSONResponse(err.body(), err.status, headers={**err.headers, **headers})
        page = rows[skip : skip + top]
        out: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if skip + top < len(rows):
            out["$skipToken"] = _token(skip + top)
        return JSONResponse(out, headers=headers)

    async def control(request: Request) -> Response:
        try:
            data = await request.json() if request.method == "POST" else {}
            with world.lock:
                state.configure(dict(data or {}))
                return JSONResponse(state.to_json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, 400)

    return [
        Route("/providers/Microsoft.ResourceGraph/resources", query, methods=["POST"]),
        Route("/providers/microsoft.resourcegraph/resources", query, methods=["POST"]),
        Route("/_sim/resource-graph", control, methods=["GET", "POST"]),
    ]
