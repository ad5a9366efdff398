"""Throttling policies: real names, fixed windows, Compute's 429 body, ARM's buckets."""

from __future__ import annotations

import json

from tests.factories import SUB
from vmssdash.sim.clock import MANUAL_EPOCH
from vmssdash.sim.throttle import CLASSES, Throttle, ThrottleConfig


def header(decision_headers: list[tuple[str, str]], name: str) -> str:
    return dict(decision_headers)[name]


def test_headers_carry_each_policy_of_the_class_and_count_down() -> None:
    throttle = Throttle()
    first = throttle.charge(SUB, "vm_action", "writes", 0.0, MANUAL_EPOCH)
    second = throttle.charge(SUB, "vm_action", "writes", 1.0, MANUAL_EPOCH)
    names = [
        item.split(";")[0]
        for item in header(first.headers, "x-ms-ratelimit-remaining-resource").split(",")
    ]
    assert names == [f"Microsoft.Compute/{p}" for p in CLASSES["vm_action"]]
    assert header(first.headers, "x-ms-ratelimit-remaining-resource").startswith(
        "Microsoft.Compute/VMScaleSetActions3Min;239,Microsoft.Compute/VMScaleSetActions30Min;1199"
    )
    assert header(second.headers, "x-ms-ratelimit-remaining-subscription-writes") == "1198"


def test_three_minute_window_throttles_then_rolls_over() -> None:
    throttle = Throttle(ThrottleConfig(limits={"HighCostGetVMScaleSet3Min": 2}))
    for t in (0.0, 10.0):
        assert throttle.charge(SUB, "vm_list", "reads", t, MANUAL_EPOCH).error is None
    denied = throttle.charge(SUB, "vm_list", "reads", 30.0, MANUAL_EPOCH)
    assert denied.error is not None and denied.error.status == 429
    assert denied.retry_after == 150.0
    body = denied.error.body()["error"]
    assert body["code"] == "OperationNotAllowed"
    detail = json.loads(body["details"][0]["message"])
    assert detail["operationGroup"] == "HighCostGetVMScaleSet3Min"
    assert detail["allowedRequestCount"] == 2 and detail["measuredRequestCount"] == 3
    assert detail["startTime"].startswith("2026-06-01T12:00:00")
    assert detail["endTime"].startswith("2026-06-01T12:03:00")
    assert throttle.charge(SUB, "vm_list", "reads", 180.0, MANUAL_EPOCH).error is None


def test_thirty_minute_window_outlasts_the_three_minute_one() -> None:
    throttle = Throttle(ThrottleConfig(limits={"GetVMScaleSet30Min": 3}))
    for t in (0.0, 200.0, 400.0):
        assert throttle.charge(SUB, "vmss_get", "reads", t, MANUAL_EPOCH).error is None
    denied = throttle.charge(SUB, "vmss_get", "reads", 600.0, MANUAL_EPOCH)
    assert denied.error is not None
    assert denied.error.details is not None
    assert denied.error.details[0]["target"] == "GetVMScaleSet30Min"
    assert denied.retry_after == 1200.0


def test_subscription_bucket_and_scale_and_disable() -> None:
    throttle = Throttle(ThrottleConfig(limits={"writes": 1}))
    assert throttle.charge(SUB, "arm", "writes", 0.0, MANUAL_EPOCH).error is None
    denied = throttle.charge(SUB, "arm", "writes", 1.0, MANUAL_EPOCH)
    assert denied.error is not None and denied.error.code == "SubscriptionRequestsThrottled"
    assert ThrottleConfig(scale=0.01).limit("HighCostGetVMScaleSet3Min") == 1
    off = Throttle(ThrottleConfig(enabled=False, limits={"GetVMScaleSet3Min": 0}))
    assert off.charge(SUB, "vmss_get", "reads", 0.0, MANUAL_EPOCH).error is None


def test_neighbours_spend_the_high_cost_budget_in_their_own_windows() -> None:
    throttle = Throttle()
    first = throttle.charge(SUB, "vm_list", "reads", 0.0, MANUAL_EPOCH, neighbours=60)
    assert "HighCostGetVMScaleSet3Min;179" in header(
        first.headers, "x-ms-ratelimit-remaining-resource"
    )
    # 60 a minute for 90 s: 90 of the 3-minute window's 180 are theirs, plus our two.
    later = throttle.charge(SUB, "vm_list", "reads", 90.0, MANUAL_EPOCH, neighbours=60)
    assert "HighCostGetVMScaleSet3Min;88," in header(
        later.headers, "x-ms-ratelimit-remaining-resource"
    )
    # Cheap reads are not theirs to spend.
    get = throttle.charge(SUB, "vmss_get", "reads", 90.0, MANUAL_EPOCH, neighbours=60)
    assert "GetVMScaleSet3Min;399" in header(get.headers, "x-ms-ratelimit-remaining-resource")
    # At 60 a minute they alone fill the window before it rolls over; we are refused.
    assert throttle.charge(SUB, "vm_list", "reads", 179.0, MANUAL_EPOCH, neighbours=60).error
    assert throttle.neighbour_calls == 178


def test_neighbours_parse_from_the_fault_spec() -> None:
    from vmssdash.sim.faults import FaultConfig

    config = FaultConfig.parse("neighbours=60/min")
    assert config.neighbours == 60.0
    assert FaultConfig.parse(config.to_spec()).neighbours == 60.0
