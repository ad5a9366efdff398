"""A simulator that records every request it is sent, for the command-line tests.

"Sends no write" is proved on the wire: the recorder wraps the simulator's ASGI app and
keeps (method, path) of every ARM request, so a test can assert that only GETs arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vmssdash.sim.app import create_app
from vmssdash.sim.server import RunningServer, serve_in_thread
from vmssdash.sim.world import World

RG = "vmssdash-demo"
SUB = "00000000-0000-0000-0000-000000000000"


@dataclass
class Recorder:
    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sim/"):
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]


@dataclass
class RecordedSim:
    recorder: Recorder
    server: RunningServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def world(self) -> World:
        world: World = self.recorder.app.state.world
        return world

    def resource_id(self, name: str) -> str:
        return (
            f"/subscriptions/{SUB}/resourceGroups/{RG}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
        )


def recorded_sims() -> Iterator[Any]:
    """Body of a fixture: yields a factory of recorded simulators, stops them after."""
    made: list[RecordedSim] = []

    def factory(scenario: str = "small", **kwargs: Any) -> RecordedSim:
        kwargs.setdefault("faults", "off")
        recorder = Recorder(create_app(scenario, **kwargs))
        sim = RecordedSim(recorder, serve_in_thread(recorder))
        made.append(sim)
        return sim

    yield factory
    for sim in made:
        sim.server.stop()
