"""The throttling budget the refresh loop reads."""

from __future__ import annotations

import httpx

from tests.unit.test_client__fakes import BASE, FakeArm, FakeTime, js, make_client
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.throttle import ThrottleBudget, parse_resource_header


def test_parse_all_occurrences_split_on_comma_then_last_semicolon() -> None:
    values = [
        "Microsoft.Compute/GetVMScaleSet3Min;396,Microsoft.Compute/GetVMScaleSet30Min;2582",
        " Microsoft.Compute/HighCostGet;VMScaleSet3Min;12 ",
        "garbage,Microsoft.Compute/X;notanumber",
    ]
    assert parse_resource_header(values) == {
        "Microsoft.Compute/GetVMScaleSet3Min": 396,
        "Microsoft.Compute/GetVMScaleSet30Min": 2582,
        "Microsoft.Compute/HighCostGet;VMScaleSet3Min": 12,
    }


def test_budget_reads_repeated_headers_and_subscription_buckets() -> None:
    budget = ThrottleBudget(clock=lambda: 5.0)
    headers = httpx.Headers(
        [
            (
                "x-ms-ratelimit-remaining-resource",
                "Microsoft.Compute/HighCostGetVMScaleSet3Min;178",
            ),
            (
                "x-ms-ratelimit-remaining-resource",
                "Microsoft.Compute/HighCostGetVMScaleSet30Min;880",
            ),
            ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
            ("x-ms-ratelimit-remaining-subscription-global-reads", "3749"),
        ]
    )
    budget.update(headers)
    assert budget.resource == {
        "Microsoft.Compute/HighCostGetVMScaleSet3Min": 178,
        "Microsoft.Compute/HighCostGetVMScaleSet30Min": 880,
    }
    assert budget.subscription == {"subscription-reads": 11999, "subscription-global-reads": 3749}
    assert budget.lowest() == ("Microsoft.Compute/HighCostGetVMScaleSet3Min", 178)
    assert budget.lowest_remaining == 178
    assert budget.slowdown() == 1.0 and not budget.is_low
    assert budget.updated_at == 5.0
    assert budget.summary() == "HighCostGetVMScaleSet3Min 178 left"


def test_slowdown_grows_as_budget_drains() -> None:
    budget = ThrottleBudget()
    factors = []
    for remaining in (180, 60, 40, 20, 8, 1):
        budget.update(
            httpx.Headers(
                {
                    "x-ms-ratelimit-remaining-resource": f"Microsoft.Compute/HighCostGetVMScaleSet3Min;{remaining}"
                }
            )
        )
        factors.append(budget.slowdown())
    assert factors == sorted(factors)
    assert factors[0] == 1.0 and factors[-1] == 8.0
    assert budget.suggested_interval(2.0) == 16.0
    # An operation poll is charged to GetOperation, not to the spent list budget.
    budget.update(
        httpx.Headers(
            {"x-ms-ratelimit-remaining-resource": "Microsoft.Compute/GetOperation3Min;14990"}
        )
    )
    assert budget.suggested_interval(2.0, "GetOperation") == 2.0
    assert budget.suggested_interval(2.0) == 16.0


def test_throttled_until_blocks_then_clears() -> None:
    now = [100.0]
    budget = ThrottleBudget(clock=lambda: now[0])
    assert budget.blocked_for() == 0.0
    budget.note_throttled(30.0)
    assert budget.blocked_for() == 30.0
    assert budget.suggested_interval(2.0) == 30.0
    assert "throttled 30s" in budget.summary()
    now[0] += 31
    assert budget.blocked_for() == 0.0


async def test_client_updates_budget_and_warns_once_when_low() -> None:
    counts = iter([500, 30, 20, 10, 300])

    def handler(request: httpx.Request) -> httpx.Response:
        return js(
            200,
            {"ok": 1},
            {
                "x-ms-ratelimit-remaining-resource": f"Microsoft.Compute/GetVMScaleSet3Min;{next(counts)}"
            },
        )

    arm = FakeArm().on("GET", BASE, handler)
    events: list[ClientEvent] = []
    time = FakeTime()
    async with make_client(arm, time, events=events.append) as client:
        for _ in range(5):
            await client.get_json(BASE)
        assert client.budget.lowest_remaining == 300
        assert client.request_count == 5
    throttle = [e for e in events if e.kind == "throttle"]
    assert len(throttle) == 1 and "GetVMScaleSet3Min 30 left" in throttle[0].message
