"""Retry rules: what is retried, how long we wait, and what the activity log hears."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.unit.test_client__fakes import BASE, FakeArm, FakeTime, arm_error, js, make_client
from vmssdash.azure.errors import ArmConnectionError, ArmError, ThrottledError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.retry import RetryPolicy, decide, parse_retry_after
from vmssdash.azure.scaleset import ScaleSetApi

OK = js(200, {"value": []})


def throttled(retry_after: str | None = "7", **extra: str) -> httpx.Response:
    headers = {"x-ms-request-id": "thr", **extra}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return js(
        429,
        {
            "error": {
                "code": "OperationNotAllowed",
                "message": "The server rejected the request because too many requests have been received for this subscription.",
                "details": [
                    {
                        "code": "TooManyRequests",
                        "target": "HighCostGetVMScaleSet3Min",
                        "message": "{}",
                    }
                ],
            }
        },
        headers,
    )


# ---------------------------------------------------------------- Retry-After parsing


def test_retry_after_seconds_date_and_ms() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(httpx.Headers({"Retry-After": "120"})) == 120.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    assert (
        parse_retry_after(httpx.Headers({"x-ms-retry-after-ms": "250", "Retry-After": "9"})) == 0.25
    )
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now=now) == 30.0
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past}), now=now) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert parse_retry_after(httpx.Headers()) is None


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=10.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        waits = {policy.backoff(attempt, rng) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1  # jittered


@pytest.mark.parametrize(
    ("method", "status", "retried"),
    [
        ("GET", 500, True),
        ("GET", 502, True),
        ("GET", 504, True),
        ("GET", 429, True),
        ("GET", 404, False),
        ("GET", 409, False),
        ("POST", 500, False),
        ("POST", 502, False),
        ("POST", 503, True),
        ("POST", 429, True),
        ("PUT", 500, False),
        ("PATCH", 504, False),
        ("PATCH", 429, True),
        ("DELETE", 500, False),
    ],
)
def test_decide_matrix(method: str, status: int, retried: bool) -> None:
    request = httpx.Request(method, "https://x.test/")
    response = httpx.Response(status, request=request)
    got = decide(
        method, response=response, error=None, attempt=1, policy=RetryPolicy(), rng=random.Random(0)
    )
    assert (got is not None) is retried


@pytest.mark.parametrize(
    ("method", "error", "attempt", "retried"),
    [
        # Never connected: safe for any method.
        ("POST", httpx.ConnectError("refused"), 1, True),
        # Sent, then the connection died: only reads may retry.
        ("POST", httpx.ReadError("reset"), 1, False),
        ("POST", httpx.ReadTimeout("slow"), 1, False),
        ("GET", httpx.ReadError("reset"), 1, True),
        ("GET", httpx.ReadTimeout("slow"), 1, True),
        # Out of attempts.
        ("GET", httpx.ReadError("x"), 8, False),
    ],
)
def test_decide_transport_errors(
    method: str, error: httpx.TransportError, attempt: int, retried: bool
) -> None:
    error.request = httpx.Request(method, "https://x.test/")
    got = decide(
        method,
        response=None,
        error=error,
        attempt=attempt,
        policy=RetryPolicy(),
        rng=random.Random(0),
    )
    assert (got is not None) is retried


# ---------------------------------------------------------------- through the client


async def test_429_storm_honours_retry_after_and_reports_each_retry() -> None:
    arm = FakeArm().on(
        "GET",
        BASE + "/virtualMachines",
        throttled("7"),
        throttled("3"),
        throttled("retry-after-ms-only", **{"retry-after-ms": "500"}),
        OK,
    )
    time = FakeTime()
    events: list[ClientEvent] = []
    async with make_client(arm, time, events=events.append) as client:
        vms = await ScaleSetApi(client, BASE).list_vms()
    assert vms == []
    assert time.sleeps == [7.0, 3.0, 1.0]  # 500 ms is floored at 1 s
    retries = [e for e in events if e.kind == "retry"]
    assert [e.wait for e in retries] == [7.0, 3.0, 1.0]
    assert all(e.status == 429 and "Retry-After" in e.message for e in retries)
    assert retries[0].request_id == "thr"
    assert "attempt 2/8" in retries[0].message
    assert client.budget.throttle_count == 3
    assert len(arm.requests) == 4


async def test_429_without_retry_after_backs_off() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        throttled(None),
        js(200, {"id": BASE, "name": "vmss-web", "location": "westeurope"}),
    )
    time = FakeTime()
    async with make_client(arm, time, retry=RetryPolicy(backoff_base=2.0)) as client:
        await client.get_json(BASE)
    assert len(time.sleeps) == 1 and 1.0 <= time.sleeps[0] <= 2.0


async def test_endless_429_gives_up_with_throttled_error() -> None:
    arm = FakeArm().on("GET", BASE, throttled("1"))
    time = FakeTime()
    async with make_client(arm, time, retry=RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(ThrottledError) as info:
            await client.get_json(BASE)
    assert len(arm.requests) == 4
    assert time.sleeps == [1.0, 1.0, 1.0]
    err = info.value
    assert err.retry_after == 1.0
    assert err.code == "OperationNotAllowed"
    assert err.details[0].code == "TooManyRequests"
    assert "too many requests" in str(err)


async def test_huge_retry_after_is_surfaced_not_slept() -> None:
    arm = FakeArm().on("GET", BASE, throttled("1200"))
    time = FakeTime()
    events: list[ClientEvent] = []
    async with make_client(arm, time, events=events.append) as client:
        with pytest.raises(ThrottledError) as info:
            await client.get_json(BASE)
        # The budget (which paces every loop) holds the capped wait, not the server's ask.
        assert client.budget.blocked_for() == pytest.approx(180.0)
    assert time.sleeps == []
    assert info.value.retry_after == 1200.0
    throttle = [e for e in events if e.kind == "throttle"]
    assert len(throttle) == 1 and "throttled until" in throttle[0].message
    assert throttle[0].wait == 180.0


async def test_5xx_on_get_is_retried_with_backoff() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        arm_error(500, "InternalServerError", "boom"),
        arm_error(502, "BadGateway", "gw"),
        js(200, {"ok": 1}),
    )
    time = FakeTime()
    async with make_client(arm, time, rng=random.Random(3)) as client:
        assert await client.get_json(BASE) == {"ok": 1}
    assert len(time.sleeps) == 2
    assert 0.25 <= time.sleeps[0] <= 0.5 and 0.5 <= time.sleeps[1] <= 1.0


async def test_post_is_not_retried_on_500() -> None:
    arm = FakeArm().on(
        "POST", BASE + "/manualupgrade", arm_error(500, "InternalServerError", "maybe applied")
    )
    time = FakeTime()
    async with make_client(arm, time) as client:
        with pytest.raises(ArmError) as info:
            await ScaleSetApi(client, BASE).begin_manual_upgrade(["1"])
    assert len(arm.requests) == 1
    assert time.sleeps == []
    assert info.value.status == 500


async def test_post_is_not_retried_after_connection_drop() -> None:
    arm = FakeArm().on("POST", BASE + "/manualupgrade", httpx.ReadError("connection reset by peer"))
    async with make_client(arm) as client:
        with pytest.raises(ArmConnectionError, match="may or may not have been applied"):
            await ScaleSetApi(client, BASE).begin_manual_upgrade(["1"])
    assert len(arm.requests) == 1


async def test_post_is_retried_on_429_and_503() -> None:
    op = "https://management.example.test/subscriptions/s/providers/Microsoft.Compute/locations/w/operations/o?api-version=2026-04-01"
    arm = FakeArm().on(
        "POST",
        BASE + "/manualupgrade",
        throttled("2"),
        arm_error(503, "ServiceUnavailable", "busy", {"Retry-After": "4"}),
        js(202, None, {"Azure-AsyncOperation": op}),
    )
    time = FakeTime()
    async with make_client(arm, time) as client:
        operation = await ScaleSetApi(client, BASE).begin_manual_upgrade(["1"])
    assert operation.response.status_code == 202
    assert time.sleeps == [2.0, 4.0]
    assert len(arm.requests) == 3


async def test_post_is_retried_when_connection_never_opened() -> None:
    arm = FakeArm().on("POST", BASE + "/restart", httpx.ConnectError("refused"), js(200, None))
    time = FakeTime()
    async with make_client(arm, time) as client:
        op = await ScaleSetApi(client, BASE).begin_action("restart", ["4"])
    assert op.done  # no LRO headers: finished in the first response
    assert len(time.sleeps) == 1


async def test_connection_reset_mid_page_resumes_that_page() -> None:
    base_vm = {"id": BASE + "/virtualMachines/{i}", "name": "vmss-web_{i}", "instanceId": "{i}"}

    def vms(lo: int, hi: int) -> list[dict]:
        return [{k: v.format(i=i) for k, v in base_vm.items()} for i in range(lo, hi)]

    next1 = (
        "https://management.example.test"
        + BASE
        + "/virtualMachines?api-version=2026-04-01&$expand=instanceView&$skiptoken=2"
    )
    pages = {
        None: js(200, {"value": vms(0, 3), "nextLink": next1}),
        "2": js(200, {"value": vms(3, 5)}),
    }
    resets = [
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("Connection reset by peer"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("$skiptoken")
        if token == "2" and resets:
            raise resets.pop(0)
        return httpx.Response(200, content=pages[token].content)

    arm = FakeArm().on("GET", BASE + "/virtualMachines", handler)
    events: list[ClientEvent] = []
    async with make_client(arm, events=events.append) as client:
        got = await ScaleSetApi(client, BASE).list_vms()
    assert [v.instance_id for v in got] == ["0", "1", "2", "3", "4"]
    assert len(arm.requests) == 4  # page 1, page 2 twice failed, page 2
    assert [r.url.params.get("$skiptoken") for r in arm.requests] == [None, "2", "2", "2"]
    reasons = [e.message for e in events if e.kind == "retry"]
    assert len(reasons) == 2 and "connection error" in reasons[0]


async def test_get_gives_up_after_max_attempts_on_connection_errors() -> None:
    arm = FakeArm().on("GET", BASE, httpx.ConnectError("[Errno 111] Connection refused"))
    time = FakeTime()
    async with make_client(arm, time, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(
            ArmConnectionError, match=r"cannot reach https://management\.example\.test"
        ):
            await client.get_json(BASE)
    assert len(arm.requests) == 3 and len(time.sleeps) == 2


async def test_broken_event_listener_does_not_break_requests() -> None:
    def explode(event: ClientEvent) -> None:
        raise RuntimeError("listener bug")

    arm = FakeArm().on("GET", BASE, js(200, {"ok": True}))
    async with make_client(arm, events=explode) as client:
        assert await client.get_json(BASE) == {"ok": True}
