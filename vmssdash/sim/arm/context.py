"""What a request handler sees and returns, and how a result becomes a response."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vmssdash.sim import render
from vmssdash.sim.errors import SimError
from vmssdash.sim.faults import FaultInjector
from vmssdash.sim.throttle import Throttle
from vmssdash.sim.world import World


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


class ResetResponse(Response):
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


def common_headers(ctx_headers: dict[str, str], location: str, sim: Sim) -> list[tuple[str, str]]:
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


def build_response(result: Result, extra: list[tuple[str, str]]) -> Response:
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


def error_result(err: SimError, retry_after: float | None = None) -> Result:
    headers = list(err.headers.items())
    if retry_after is not None and err.status in (429, 503):
        headers.append(("Retry-After", str(max(1, math.ceil(retry_after)))))
    return Result(err.status, err.body(), headers)
