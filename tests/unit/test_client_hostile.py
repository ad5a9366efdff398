"""A server that lies: absurd delays, redirects, HTML and malformed bodies (issue 13).

Each test here failed on the client before issue 13: a hostile ``Retry-After`` reached the
throttle budget and the poll loop, ``0`` and ``-5`` polled without a pause, a redirect or
an HTML page answering a write counted as "Succeeded", the bearer token went over plain
http, and malformed bodies escaped as pydantic or httpx exceptions.
"""

from __future__ import annotations

import gzip
import math

import httpx
import pytest

from tests.factories import scale_set_json, vm_json
from tests.unit.test_client__fakes import (
    BASE,
    ENDPOINT,
    SUB,
    FakeArm,
    FakeTime,
    arm_error,
    js,
    make_client,
)
from vmssdash.azure.bounds import pages_for
from vmssdash.azure.client import ArmClient
from vmssdash.azure.delays import MIN_DELAY, parse_retry_after, server_delay
from vmssdash.azure.errors import (
    ArmConnectionError,
    BadResponseError,
    InsecureTransportError,
    InvalidBodyError,
    ThrottledError,
    TooManyPagesError,
    UnexpectedAnswerError,
)
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.azure.throttle import ThrottleBudget
from vmssdash.azure.tokens import StaticToken
from vmssdash.core.plan import skip_reason
from vmssdash.core.state import VmState, classify

OPS = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/op-9"
OP_URL = f"{ENDPOINT}{OPS}?api-version=2026-04-01"
ACCEPTED = js(202, None, {"Azure-AsyncOperation": OP_URL})


def in_progress(retry_after: str) -> httpx.Response:
    return js(200, {"status": "InProgress"}, {"Retry-After": retry_after})


# ------------------------------------------------------------------ item 1: delays


@pytest.mark.parametrize(
    "text", ["nan", "inf", "-inf", "-5", "1e400", "soon", "0x10", "12 seconds"]
)
def test_unusable_retry_after_counts_as_absent(text: str) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": text})) is None


def test_server_delays_are_clamped_to_one_second_and_the_cap() -> None:
    def delay(value: str) -> float | None:
        found = server_delay(httpx.Headers({"Retry-After": value}), cap=180.0)
        return found.wait if found else None

    assert delay("0") == MIN_DELAY
    assert delay("0.2") == MIN_DELAY
    assert delay("42") == 42.0
    assert delay("1e9") == 180.0
    big = server_delay(httpx.Headers({"Retry-After": "1e9"}), cap=180.0)
    assert big is not None and big.capped and big.asked == 1e9


@pytest.mark.parametrize("asked", [1e9, math.inf, math.nan, -5.0, 0.0])
def test_budget_never_blocks_longer_than_its_cap_nor_for_nothing(asked: float) -> None:
    time = FakeTime()
    budget = ThrottleBudget(clock=time.clock, max_wait=180.0)
    budget.note_throttled(asked)
    assert MIN_DELAY <= budget.blocked_for() <= 180.0


async def test_a_429_on_an_operation_poll_does_not_put_1e9_into_the_budget() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, arm_error(429, "TooManyRequests", "slow down", {"Retry-After": "1e9"}))
    )
    events: list[ClientEvent] = []
    async with make_client(arm, events=events.append) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        with pytest.raises(ThrottledError):
            await op.poll()
        assert client.budget.blocked_for() == pytest.approx(180.0)
        assert client.pacing.budget.suggested_interval(5.0) <= 180.0
    assert any(e.kind == "throttle" and "throttled until" in e.message for e in events)


async def test_an_in_progress_status_asking_1e9_seconds_is_capped_and_said() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, in_progress("1e9"), js(200, {"status": "Succeeded"}))
    )
    time = FakeTime()
    events: list[ClientEvent] = []
    async with make_client(arm, time, events=events.append) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        await op.wait()
    assert time.sleeps == [180.0]
    (said,) = [e for e in events if e.kind == "throttle"]
    assert "throttled until" in said.message and said.wait == 180.0


@pytest.mark.parametrize("retry_after", ["0", "-5", "nan"])
async def test_retry_after_zero_or_negative_does_not_hammer_the_poll(retry_after: str) -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, *[in_progress(retry_after)] * 5, js(200, {"status": "Succeeded"}))
    )
    time = FakeTime()
    async with make_client(arm, time) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        await op.wait()
    assert len(time.sleeps) == 5 and min(time.sleeps) >= MIN_DELAY


async def test_a_429_asking_zero_seconds_is_retried_after_one() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        arm_error(429, "TooManyRequests", "slow down", {"Retry-After": "0"}),
        js(200, scale_set_json()),
    )
    time = FakeTime()
    async with make_client(arm, time) as client:
        await ScaleSetApi(client, BASE).get()
    assert time.sleeps == [MIN_DELAY]


# ------------------------------------------------------------------ item 3: typed errors


async def test_a_wrongly_typed_field_names_its_path_and_request_id() -> None:
    body = scale_set_json()
    body["sku"]["capacity"] = "lots"
    arm = FakeArm().on("GET", BASE, js(200, body, {"x-ms-request-id": "rid-7"}))
    async with make_client(arm) as client:
        with pytest.raises(InvalidBodyError) as info:
            await ScaleSetApi(client, BASE).get()
    assert 'sku.capacity: expected an integer, got "lots"' in str(info.value)
    assert info.value.request_id == "rid-7"


async def test_a_next_link_with_a_tab_is_a_typed_error() -> None:
    page = {"value": [vm_json(0)], "nextLink": f"{ENDPOINT}{BASE}/virtualMachines?\tx=1"}
    arm = FakeArm().on("GET", BASE + "/virtualMachines", js(200, page))
    async with make_client(arm) as client:
        with pytest.raises(BadResponseError, match="not a usable URL"):
            await ScaleSetApi(client, BASE).list_vms()


async def test_a_corrupt_gzip_body_is_a_typed_error() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        lambda request: httpx.Response(
            200, content=b"\x1f\x8b" + b"garbage" * 10, headers={"content-encoding": "gzip"}
        ),
    )
    async with make_client(arm) as client:
        with pytest.raises(BadResponseError, match="unreadable response"):
            await client.get_json(BASE)


async def test_a_gzip_body_is_read_decoded() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        lambda request: httpx.Response(
            200,
            content=gzip.compress(b'{"ok": 1}'),
            headers={"content-encoding": "gzip", "content-type": "application/json"},
        ),
    )
    async with make_client(arm) as client:
        assert await client.get_json(BASE) == {"ok": 1}


async def test_a_connection_failure_carries_the_client_request_id() -> None:
    arm = FakeArm().on("GET", BASE, httpx.ReadError("reset"))
    async with make_client(arm) as client:
        with pytest.raises(ArmConnectionError) as info:
            await client.get_json(BASE)
    sent = arm.requests[-1].headers["x-ms-client-request-id"]
    assert info.value.client_request_id == sent and sent in str(info.value)


# ------------------------------------------------------------------ item 4: writes


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(302, headers={"Location": "https://login.example.test/portal"}),
        httpx.Response(307, headers={"Location": f"{ENDPOINT}{BASE}/manualupgrade"}),
        httpx.Response(
            200, text="<html><title>Sign in</title></html>", headers={"content-type": "text/html"}
        ),
        httpx.Response(202),
        httpx.Response(206, text="{}"),
    ],
    ids=["302", "307", "200-html", "202-nothing-to-follow", "206"],
)
async def test_a_write_answered_oddly_is_never_succeeded(answer: httpx.Response) -> None:
    arm = FakeArm().on("POST", BASE + "/manualupgrade", answer)
    async with make_client(arm) as client:
        with pytest.raises(UnexpectedAnswerError) as info:
            await ScaleSetApi(client, BASE).begin_manual_upgrade(["0", "1"])
    assert "not taken as success" in str(info.value)
    assert len(arm.calls("POST")) == 1  # and it is not retried


async def test_a_patch_answered_with_an_empty_200_is_not_a_model_write() -> None:
    arm = FakeArm().on("PATCH", BASE, js(200, None))
    async with make_client(arm) as client:
        with pytest.raises(UnexpectedAnswerError):
            await ScaleSetApi(client, BASE).set_capacity(3, etag='"1"')


async def test_a_redirect_on_a_poll_is_not_success() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))
    )
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        with pytest.raises(UnexpectedAnswerError):
            await op.poll()
        assert not op.done


# ------------------------------------------------------------------ item 5: TLS


async def test_no_bearer_token_over_plain_http_to_a_remote_host() -> None:
    arm = FakeArm().on("GET", BASE, js(200, scale_set_json()))
    client = ArmClient(
        "http://arm.example.test",
        token_provider=StaticToken("secret-token"),
        transport=httpx.MockTransport(arm),
    )
    async with client:
        with pytest.raises(InsecureTransportError):
            await client.get_json(BASE)
    assert arm.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"])
async def test_plain_http_to_loopback_may_carry_the_token(host: str) -> None:
    arm = FakeArm().on("GET", BASE, js(200, scale_set_json()))
    client = ArmClient(
        f"http://{host}",
        token_provider=StaticToken("secret-token"),
        transport=httpx.MockTransport(arm),
    )
    async with client:
        await client.get_json(BASE)
    assert arm.requests[0].headers["Authorization"] == "Bearer secret-token"


# ------------------------------------------------------------------ item 6: tolerant reader


async def test_one_bad_vm_never_fails_the_list_and_is_never_a_target() -> None:
    nameless = vm_json(3)
    del nameless["instanceId"], nameless["name"]
    anonymous = vm_json(4)
    del anonymous["instanceId"], anonymous["name"], anonymous["id"]
    broken = vm_json(5)
    broken["properties"]["latestModelApplied"] = "perhaps"
    zero = vm_json(6)
    zero["properties"]["latestModelApplied"] = 0  # pydantic would read it as False
    page = {"value": [vm_json(0), nameless, anonymous, broken, "not even an object", zero]}
    arm = FakeArm().on("GET", BASE + "/virtualMachines", js(200, page))
    async with make_client(arm) as client:
        vms = await ScaleSetApi(client, BASE).list_vms()
    by_id = {vm.instance_id: vm for vm in vms}
    assert set(by_id) == {"0", "3", "5", "6", "unreadable-2", "unreadable-4"}
    assert by_id["3"].unreadable is None and by_id["3"].name.endswith("_3")
    assert "instanceId: required but missing" in (by_id["unreadable-2"].unreadable or "")
    assert "latestModelApplied" in (by_id["5"].unreadable or "")
    for iid in ("5", "6", "unreadable-2", "unreadable-4"):
        info = classify(by_id[iid])
        assert info.state is VmState.UNKNOWN and info.unreadable
        assert (skip_reason(info) or "").startswith("unreadable")
    assert skip_reason(classify(by_id["3"])) is None


def test_a_vm_with_a_non_decimal_instance_id_is_never_planned() -> None:
    odd = vm_json(0)
    odd["instanceId"] = ":"  # found by the explore fuzz profile: a ValueError at dispatch
    info = classify(ScaleSetVM.model_validate(odd))
    assert "is not a number" in (skip_reason(info) or "")


async def test_the_page_bound_of_a_vm_list_follows_the_scale_set_capacity() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        following = f"{ENDPOINT}{BASE}/virtualMachines?api-version=x&p={len(arm.requests)}"
        return js(200, {"value": [], "nextLink": following})

    arm = FakeArm().on("GET", BASE, js(200, scale_set_json(capacity=2)))
    arm.on("GET", BASE + "/virtualMachines", endless)
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        await api.get()
        with pytest.raises(TooManyPagesError) as info:
            await api.list_vms()
    assert f"max_pages={pages_for(2)}" in str(info.value)
    assert len(arm.calls("GET", "/virtualMachines")) == pages_for(2) < 100


async def test_a_redirect_to_an_unparsable_location_is_still_a_typed_error() -> None:
    arm = FakeArm().on(
        "POST", BASE + "/manualupgrade", httpx.Response(301, headers={"Location": "A:0"})
    )
    async with make_client(arm) as client:
        with pytest.raises(UnexpectedAnswerError, match="unusable URL"):
            await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
