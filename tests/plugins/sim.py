"""Simulator fixtures (owner: SIM).

- ``sim_app``: the ``demo`` scenario with a manual clock (time moves only when a test
  advances it), as a Starlette app (use with ``httpx.ASGITransport`` for in-process tests).
- ``sim_server``: that app served on a real loopback socket (``RunningServer``).
- ``sim_base_url``: its base URL.
- ``make_sim(scenario="demo", *, serve=True, **create_app_kwargs) -> SimHandle``: any
  scenario/options (``manual_clock`` defaults to True); everything is stopped after the test.

``SimHandle.advance(seconds)`` moves the simulated clock and runs due events in-process,
equivalent to ``POST /_sim/clock/advance``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from tests import factories
from vmssdash.sim import tls
from vmssdash.sim.app import create_app
from vmssdash.sim.server import RunningServer, serve_in_thread
from vmssdash.sim.world import World

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "vmssdash-demo"


def scale_set_id(name: str) -> str:
    """The ARM id of a scenario's scale set (every scenario uses one resource group)."""
    return factories.scale_set_id(name, RESOURCE_GROUP)


@contextlib.contextmanager
def serve_tls(app: Starlette, folder: Path) -> Iterator[tuple[RunningServer, Path]]:
    """``app`` over https on loopback, signed by a throw-away CA; yields (server, ca.pem)."""
    files = tls.generate(folder)
    server = serve_in_thread(
        app, ssl_certfile=str(files.server_cert), ssl_keyfile=str(files.server_key)
    )
    try:
        yield server, files.ca_cert
    finally:
        server.server.force_exit = True  # idle keep-alive TLS connections would hold it
        server.stop()


class SimTime:
    """An ARM client's ``sleep``/``clock`` wired to a manual-clock simulator: sleeping
    advances the simulated time (and is recorded), so waits cost no wall time."""

    def __init__(self, sim: SimHandle) -> None:
        self.sim = sim
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.sim.advance(seconds)
        await asyncio.sleep(0)

    def clock(self) -> float:
        return self.now


@dataclass
class SimHandle:
    app: Starlette
    server: RunningServer | None

    @property
    def world(self) -> World:
        world: World = self.app.state.world
        return world

    @property
    def base_url(self) -> str:
        if self.server is None:
            raise RuntimeError("this simulator was made with serve=False")
        return self.server.base_url

    def advance(self, seconds: float) -> None:
        world = self.world
        with world.lock:
            world.clock.advance(seconds)
            world.advance()

    def resource_id(self, name: str) -> str:
        return scale_set_id(name)


@pytest.fixture
def sim_app() -> Starlette:
    return create_app("demo", manual_clock=True, seed=0)


@pytest.fixture
def sim_server(sim_app: Starlette) -> Iterator[RunningServer]:
    server = serve_in_thread(sim_app)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim_base_url(sim_server: RunningServer) -> str:
    return sim_server.base_url


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimHandle]]:
    made: list[SimHandle] = []

    def factory(scenario: str = "demo", *, serve: bool = True, **kwargs: Any) -> SimHandle:
        kwargs.setdefault("manual_clock", True)
        app = create_app(scenario, **kwargs)
        handle = SimHandle(app=app, server=serve_in_thread(app) if serve else None)
        made.append(handle)
        return handle

    yield factory
    for handle in made:
        if handle.server is not None:
            handle.server.stop()
