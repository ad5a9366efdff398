"""Shared fakes for the client unit tests (no tests here).

``FakeArm`` is an ``httpx.MockTransport`` handler with scripted responses per route, and
``FakeTime`` replaces ``asyncio.sleep`` and the monotonic clock so retries and polling
never really wait.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import SUB
from vmssdash.azure.client import ArmClient

ENDPOINT = "https://management.example.test"
RG = "vmssdash-demo"
BASE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web"
RID = BASE

Responder = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def js(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON response (``body=None`` → empty body)."""
    content = b"" if body is None else jsonlib.dumps(body).encode()
    h = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return httpx.Response(status, content=content, headers=h)


def arm_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return js(status, {"error": {"code": code, "message": message}}, headers)


class FakeArm:
    """Routes ``(METHOD, path regex)`` to a queue of responses; the last one repeats."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], deque[Responder]]] = []
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *responses: Responder) -> FakeArm:
        self.routes.append((method.upper(), re.compile(path, re.IGNORECASE), deque(responses)))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, pattern, queue in self.routes:
            if method == request.method and pattern.fullmatch(request.url.path):
                item = queue.popleft() if len(queue) > 1 else queue[0]
                if isinstance(item, Exception):
                    raise item
                if isinstance(item, httpx.Response):
                    # Responses are single-use objects; hand out a copy each time.
                    return httpx.Response(
                        item.status_code, headers=item.headers, content=item.content
                    )
                return item(request)
        return arm_error(404, "NotFound", f"no fake route for {request.method} {request.url.path}")

    def calls(self, method: str | None = None, path_contains: str = "") -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and path_contains in r.url.path
        ]


class FakeTime:
    """Virtual time: ``sleep`` records the wait and advances ``clock``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_client(arm: FakeArm, time: FakeTime | None = None, **kw: Any) -> ArmClient:
    t = time or FakeTime()
    kw.setdefault("sleep", t.sleep)
    kw.setdefault("clock", t.clock)
    return ArmClient(ENDPOINT, transport=httpx.MockTransport(arm), **kw)
