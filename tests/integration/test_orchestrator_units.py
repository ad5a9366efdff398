"""The orchestrator's per-VM verdicts, unhealthy counting and event texts (no simulator)."""

from __future__ import annotations

import pytest

from tests.factories import vm_json
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.core.events import Progress, RunFinished, RunState, format_seconds
from vmssdash.core.health_gate import blocks_unhealthy_count, verdict
from vmssdash.core.state import classify


def info(**kw: object):  # type: ignore[no-untyped-def]
    return classify(ScaleSetVM.from_json(vm_json(1, **kw)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"latest": True}, (True, "")),
        ({"latest": True, "health": None}, (True, "")),  # no health reporting: running is enough
        ({"latest": True, "health": "initializing"}, None),
        ({"latest": True, "health": "unknown"}, None),
        ({"latest": True, "prov": "updating"}, None),
        ({"latest": False}, None),
        ({"latest": True, "power": "starting"}, None),
    ],
)
def test_verdict_waits_until_the_vm_is_known(kw: dict[str, object], expected: object) -> None:
    assert verdict(info(**kw)) == expected


def test_verdict_failures_are_decisive() -> None:
    ok, reason = verdict(info(latest=True, health="unhealthy")) or (True, "")
    assert not ok and "unhealthy" in reason
    ok, reason = verdict(info(latest=False, prov="failed/OSProvisioningTimedOut")) or (True, "")
    assert not ok and "OSProvisioningTimedOut" in reason
    ok, reason = verdict(None) or (True, "")
    assert not ok and "gone" in reason
    ok, reason = verdict(info(latest=False), operation_failed="Conflict: boom") or (True, "")
    assert not ok and "boom" in reason


def test_parked_vms_do_not_count_as_unhealthy() -> None:
    assert not blocks_unhealthy_count(info(power="deallocated", health=None))
    assert not blocks_unhealthy_count(info(power="stopped", health=None))
    assert blocks_unhealthy_count(info(health="unhealthy"))
    assert blocks_unhealthy_count(info(prov="updating"))
    assert not blocks_unhealthy_count(info())


def test_event_texts() -> None:
    assert format_seconds(None) == "?"
    assert format_seconds(45) == "45s"
    assert format_seconds(200) == "3m 20s"
    assert format_seconds(3725) == "1h 02m"
    p = Progress(0.0, 2, 5, 16, 40, 1, 95.0)
    assert p.text() == "2/5 waves, 16/40 VMs, ETA 1m 35s"
    assert p.fraction == 0.4
    done = RunFinished(0.0, RunState.FAULTED, "after wave 1: x", ("1",), ("2",), ("3", "4"))
    assert done.text() == "Run faulted: after wave 1: x (1 upgraded, 1 unhealthy, 2 not done)"
