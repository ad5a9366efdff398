"""Long-running work to the JSON Compute sends: operation status, rolling-upgrade status
and ``osUpgradeHistory``. Apart from ``render`` (scale sets and VMs) because these bodies
describe an operation in flight, not a resource."""

from __future__ import annotations

from typing import Any

from vmssdash.sim.render import VMSS_TYPE, timestamp
from vmssdash.sim.world import World
from vmssdash.sim.world.model import Operation, RollingUpgrade, ScaleSet


def operation_status(world: World, op: Operation) -> dict[str, Any]:
    body: dict[str, Any] = {"startTime": timestamp(world, op.start)}
    if op.end is not None:
        body["endTime"] = timestamp(world, op.end)
    body["status"] = op.status
    if op.error is not None:
        body["error"] = op.error
    body["name"] = op.id
    return body


_STATUS_POLICY_KEYS = (
    "maxBatchInstancePercent",
    "maxUnhealthyInstancePercent",
    "maxUnhealthyUpgradedInstancePercent",
    "pauseTimeBetweenBatches",
    "enableCrossZoneUpgrade",
    "prioritizeUnhealthyInstances",
)


def _running_status(world: World, ru: RollingUpgrade, **first: Any) -> dict[str, Any]:
    running: dict[str, Any] = {**first, "code": ru.code, "startTime": timestamp(world, ru.start)}
    if ru.end is not None:
        running["endTime"] = timestamp(world, ru.end)
    return running


def _progress(ru: RollingUpgrade) -> dict[str, int]:
    return {
        "successfulInstanceCount": ru.successful,
        "failedInstanceCount": ru.failed,
        "inProgressInstanceCount": ru.in_progress,
        "pendingInstanceCount": ru.pending,
    }


def rolling_status(world: World, vmss: ScaleSet) -> dict[str, Any]:
    ru = vmss.rolling
    assert ru is not None
    running = _running_status(
        world,
        ru,
        lastAction=ru.last_action,
        lastActionTime=timestamp(world, ru.last_action_time),
    )
    policy = {k: ru.policy[k] for k in _STATUS_POLICY_KEYS if k in ru.policy}
    props: dict[str, Any] = {
        "policy": policy,
        "runningStatus": running,
        "progress": _progress(ru),
    }
    if ru.error is not None:
        props["error"] = ru.error
    return {
        "type": f"{VMSS_TYPE}/rollingUpgrades",
        "location": vmss.location,
        "properties": props,
    }


def os_upgrade_history(world: World, vmss: ScaleSet) -> list[dict[str, Any]]:
    """``osUpgradeHistory``: one entry per rolling upgrade, newest first."""
    out = []
    for ru in reversed(vmss.rolling_history):
        props: dict[str, Any] = {
            "runningStatus": _running_status(world, ru),
            "progress": _progress(ru),
            "startedBy": ru.started_by,
            "targetImageReference": dict(ru.target_image),
            "rollbackInfo": {
                "successfullyRolledbackInstanceCount": 0,
                "failedRolledbackInstanceCount": 0,
            },
        }
        if ru.error is not None:
            props["error"] = ru.error
        out.append(
            {
                "properties": props,
                "type": f"{VMSS_TYPE}/rollingUpgrades",
                "location": vmss.location,
            }
        )
    return out
