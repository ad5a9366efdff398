"""The catch-all ARM endpoint: each request through the middleware, the route table and
its handler, with the world lock held.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vmssdash.sim.arm.context import (
    Ctx,
    ResetResponse,
    Sim,
    build_response,
    common_headers,
    error_result,
)
from vmssdash.sim.arm.middleware import (
    bucket_of,
    check_api_version,
    check_auth,
    check_subscription,
    injected_fault,
    no_route,
)
from vmssdash.sim.arm.routes import resolve
from vmssdash.sim.errors import SimError

log = logging.getLogger("vmssdash.sim")


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
        common = common_headers(headers, location, sim)
        retry_after: float | None = None
        rate_headers: list[tuple[str, str]] = []
        try:
            if sim.require_auth:
                check_auth(headers.get("authorization"), base)
            route = resolve(method, low)
            if route is None:
                raise no_route(method, low, query)
            api_version = check_api_version(route, query)
            check_subscription(world, low)
            fault = sim.injector.request_fault()
            if fault == "reset":
                return ResetResponse()
            if fault is not None:
                retry_after = float(sim.injector.config.retry_after)
                raise injected_fault(fault, retry_after)
            subscription = low[1] if len(low) > 1 else "tenant"
            decision = sim.throttle.charge(
                subscription,
                route.op_class,
                bucket_of(method),
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
            return build_response(result, common + rate_headers)
        except SimError as err:
            return build_response(error_result(err, retry_after), common + rate_headers)
        except Exception:
            log.exception("simulator bug handling %s %s", method, request.url.path)
            bug = SimError(
                500,
                "InternalServerError",
                "Encountered internal server error. Diagnostic information: timestamp "
                f"'{world.datetime().strftime('%Y%m%dT%H%M%SZ')}'.",
            )
            return build_response(error_result(bug), common)
