"""The app on the ``demo`` scenario over a real loopback socket, with every request the
client sends recorded, so tests compare what a dialog listed with what went on the wire.

The simulator's clock is manual; the ARM client's (and so every run's) ``sleep``
advances it, so simulated minutes pass in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from textual.pilot import Pilot

from tests.factories import SUB
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.ui.app import VmssDashApp


def rid(name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/vmssdash-demo/providers/"
        f"Microsoft.Compute/virtualMachineScaleSets/{name}"
    )


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    body: Any

    @property
    def instance_ids(self) -> list[str]:
        ids = self.body.get("instanceIds", []) if isinstance(self.body, dict) else []
        return [str(i) for i in ids]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Keeps every request that is not a GET: the writes that left the app."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(retries=0)
        self.writes: list[Sent] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and "/_sim/" not in request.url.path:
            content = await request.aread()
            body = json.loads(content) if content else None
            self.writes.append(Sent(request.method, request.url.path, body))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def sent_ids(self, suffix: str) -> list[str]:
        """Instance ids of every request whose path ends with ``suffix``, in order."""
        return [i for s in self.writes if s.path.endswith(suffix) for i in s.instance_ids]


class Gate:
    """Holds the simulated clock (every client/orchestrator sleep) while ``closed()``
    says so, so a test can act at an exact point of a run instead of racing it."""

    def __init__(self) -> None:
        self.closed: Callable[[], bool] = lambda: False
        self.opened = asyncio.Event()
        self.waiting = False

    async def wait(self) -> None:
        if self.closed():
            self.waiting = True
            await self.opened.wait()
            self.waiting = False

    def open(self) -> None:
        self.closed = lambda: False
        self.opened.set()


@dataclass
class Story:
    app: VmssDashApp
    world: Any
    wire: RecordingTransport


@asynccontextmanager
async def story(
    tmp_path: Path,
    *,
    read_only: bool = False,
    name: str = "vmss-web",
    gate: Gate | None = None,
    scenario: str = "demo",
) -> AsyncIterator[Story]:
    sim_app = create_app(scenario, manual_clock=True, seed=0, faults="off")
    world = sim_app.state.world
    with serve_in_thread(sim_app) as server:
        http = httpx.AsyncClient(base_url=server.base_url)

        async def sleep(seconds: float) -> None:
            if gate is not None:
                await gate.wait()
            if seconds > 0:
                await http.post("/_sim/clock/advance", json={"seconds": seconds})
            await asyncio.sleep(0)

        wire = RecordingTransport()
        client = ArmClient(
            server.base_url,
            poll_interval=1.0,
            sleep=sleep,
            clock=lambda: float(world.now),
            read_only=read_only,
            transport=wire,
        )
        app = VmssDashApp(
            ScaleSetApi(client, rid(name)),
            read_only=read_only,
            endpoint=server.base_url,
            journal_dir=tmp_path / "journal",
            lock_dir=tmp_path / "locks",
            timestamp=lambda: "12:00:00",
            live=False,
        )
        try:
            yield Story(app, world, wire)
        finally:
            await client.aclose()
            await http.aclose()


async def until(pilot: Pilot[Any], cond: Callable[[], bool], what: str, limit: int = 3000) -> None:
    for _ in range(limit):
        if cond():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def log_of(app: VmssDashApp) -> str:
    return "\n".join(str(line) for line in app.activity.lines)


GOOD = "24.04.202611150"


async def new_image_version(api: ScaleSetApi, version: str = GOOD) -> None:
    """Change the model's image version through the API, so every VM is stale."""
    scale_set = await api.get()
    profile = scale_set.raw["properties"]["virtualMachineProfile"]["storageProfile"]
    ref = {**profile["imageReference"], "version": version}
    patch = {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": ref}}}}
    await api.update_model(patch, etag=scale_set.etag)


async def upgrade_marked(app: VmssDashApp, pilot: Pilot[Any], ids: set[str]) -> None:
    """A dashboard run: a new image, mark ``ids``, `U`, confirm, wait for the end."""
    from vmssdash.ui.screens.confirm import ConfirmScreen

    await new_image_version(app.api)
    await app.refresh_snapshot()
    app.heatmap.marked = ids
    await pilot.press("U")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    await pilot.press("tab", "enter")
    await until(pilot, lambda: app.run_view.state.is_terminal, "the run")
