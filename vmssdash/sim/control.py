"""The simulator's own control API under ``/_sim/``: state, clock, faults, throttling,
forced VM health.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from vmssdash.sim import render
from vmssdash.sim.arm.context import Sim
from vmssdash.sim.errors import SimError
from vmssdash.sim.faults import FaultConfig

# --------------------------------------------------------------------------- control API


def _state(sim: Sim) -> dict[str, Any]:
    world = sim.world
    sets = []
    for vmss in world.scale_sets.values():
        counts: dict[str, int] = {}
        for vm in vmss.vms.values():
            for label in (
                vm.provisioning.lower(),
                f"power:{vm.power}",
                f"health:{vm.health}",
                "latest" if vm.applied_gen == vmss.model_gen else "stale",
            ):
                counts[label] = counts.get(label, 0) + 1
        sets.append(
            {
                "id": vmss.id,
                "name": vmss.name,
                "mode": vmss.upgrade_mode,
                "etag": f'"{vmss.etag}"',
                "modelGeneration": vmss.model_gen,
                "vms": len(vmss.vms),
                "counts": dict(sorted(counts.items())),
                "provisioningState": vmss.provisioning_state,
                "rollingUpgrade": vmss.rolling.code if vmss.rolling else None,
                # instance id -> accepted manualupgrade calls that included it (non-zero only)
                "manualUpgrades": {
                    str(iid): vm.manual_upgrades
                    for iid, vm in vmss.vms.items()
                    if vm.manual_upgrades
                },
            }
        )
    return {
        "scenario": sim.scenario,
        "clock": {
            "now": world.now,
            "time": render.timestamp(world, world.now),
            "speed": world.clock.speed,
            "paused": world.clock.paused,
            "manual": world.clock.manual,
        },
        "pendingEvents": world.pending_events,
        "scaleSets": sets,
        "operations": {
            "total": len(world.operations),
            "inProgress": sum(1 for op in world.operations.values() if not op.done),
        },
        "faults": sim.injector.config.to_json(),
        "throttle": {
            "enabled": sim.throttle.config.enabled,
            "scale": sim.throttle.config.scale,
            "used": sim.throttle.snapshot(),
        },
    }


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SimError(400, "InvalidRequestContent", f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SimError(400, "InvalidRequestContent", "expected a JSON object")
    return data


def _control(fn: Callable[[Sim, dict[str, Any]], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        sim: Sim = request.app.state.sim
        try:
            data = await _json_body(request) if request.method == "POST" else {}
            with sim.world.lock:
                sim.world.advance()
                out = fn(sim, data)
                sim.world.advance()
                return JSONResponse(out if out is not None else _state(sim))
        except (SimError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, SimError) else str(exc)
            return JSONResponse({"error": {"code": "BadRequest", "message": message}}, 400)

    return endpoint


def _advance(sim: Sim, data: dict[str, Any]) -> Any:
    seconds = float(data.get("seconds", 0))
    sim.world.clock.advance(seconds)
    return None


def _pause(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.pause()


def _resume(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.resume()


def _speed(sim: Sim, data: dict[str, Any]) -> Any:
    sim.world.clock.set_speed(float(data["speed"]))


def _faults(sim: Sim, data: dict[str, Any]) -> Any:
    if data:
        sim.injector.config = FaultConfig.from_json(data)
    return sim.injector.config.to_json()


def _set_vm(sim: Sim, data: dict[str, Any]) -> Any:
    """Force a VM's health or power (to exercise health gates without a bad image)."""
    world = sim.world
    name = str(data.get("scaleSet", ""))
    vmss = next((s for s in world.scale_sets.values() if s.name.lower() == name.lower()), None)
    if vmss is None:
        raise ValueError(f"no scale set {name!r}")
    raw = str(data.get("instanceId", ""))
    vm = vmss.vms.get(int(raw)) if raw.isdigit() else None
    if vm is None:
        raise ValueError(f"no VM {raw!r} in {vmss.name}")
    health = data.get("health", vm.health)
    if health not in (None, "healthy", "unhealthy", "initializing", "unknown"):
        raise ValueError(f"bad health {health!r}")
    power = data.get("power", vm.power)
    if power not in (None, "running", "stopped", "deallocated"):
        raise ValueError(f"bad power state {power!r}")
    vm.health, vm.power = health, power
    vm.rev += 1
    return {"scaleSet": vmss.name, "instanceId": raw, "health": vm.health, "power": vm.power}


def _throttle(sim: Sim, data: dict[str, Any]) -> Any:
    cfg = sim.throttle.config
    if "enabled" in data:
        cfg.enabled = bool(data["enabled"])
    if "scale" in data:
        cfg.scale = float(data["scale"])
    if "limits" in data:
        cfg.limits = {str(k): int(v) for k, v in dict(data["limits"]).items()}
    if data.get("reset"):
        sim.throttle.reset()
    return {"enabled": cfg.enabled, "scale": cfg.scale, "limits": cfg.limits}


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def control_routes() -> list[BaseRoute]:
    """The ``/_sim/`` paths, outside ARM's namespace."""
    return [
        Route("/_sim/health", health, methods=["GET"]),
        Route("/_sim/state", _control(lambda s, d: None), methods=["GET"]),
        Route("/_sim/clock/advance", _control(_advance), methods=["POST"]),
        Route("/_sim/clock/pause", _control(_pause), methods=["POST"]),
        Route("/_sim/clock/resume", _control(_resume), methods=["POST"]),
        Route("/_sim/clock/speed", _control(_speed), methods=["POST"]),
        Route("/_sim/faults", _control(_faults), methods=["GET", "POST"]),
        Route("/_sim/throttle", _control(_throttle), methods=["GET", "POST"]),
        Route("/_sim/vm", _control(_set_vm), methods=["POST"]),
    ]
