"""The simulator app: a world from a scenario, behind the ARM endpoint (``arm``), the
control API (``control``), the fake Entra authority, Resource Graph and Flexible routes."""

from __future__ import annotations

import random

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from vmssdash.sim import render
from vmssdash.sim.arm.context import Sim
from vmssdash.sim.arm.middleware import check_auth
from vmssdash.sim.arm.pipeline import arm_endpoint
from vmssdash.sim.clock import SimClock
from vmssdash.sim.control import control_routes
from vmssdash.sim.entra import entra_routes
from vmssdash.sim.faults import FaultConfig, FaultInjector
from vmssdash.sim.flexible import flexible_routes
from vmssdash.sim.resource_graph import resource_graph_routes
from vmssdash.sim.scenario_build import Scenario
from vmssdash.sim.scenarios import get_scenario
from vmssdash.sim.throttle import Throttle, ThrottleConfig
from vmssdash.sim.world import World


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
        *control_routes(),
        *entra_routes(home_tenant=world.tenant_id),  # the fake Entra, in the world's tenant
        *resource_graph_routes(world, check_auth if require_auth else None),
        *flexible_routes(world, arm_endpoint, check_auth if require_auth else None),
        Route("/{path:path}", arm_endpoint, methods=methods),
    ]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.sim = sim
    return app
