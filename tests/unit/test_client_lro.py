"""Long-running operations: which URL is polled, how often, and how they end."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

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
from vmssdash.azure.errors import OperationFailedError, OperationTimeoutError, UntrustedHostError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.models.operations import OperationStatus
from vmssdash.azure.scaleset import ScaleSetApi

OPS = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/op-7"
OP_URL = f"{ENDPOINT}{OPS}?api-version=2026-04-01"
MONITOR_URL = f"{ENDPOINT}{OPS}?monitor=true&api-version=2026-04-01"
ACCEPTED = js(202, None, {"Azure-AsyncOperation": OP_URL, "Location": MONITOR_URL})


def status(word: str, **extra: object) -> httpx.Response:
    return js(
        200, {"startTime": "2026-11-28T10:00:00+00:00", "status": word, "name": "op-7", **extra}
    )


async def test_202_operation_that_ends_failed_raises_with_server_error() -> None:
    failed = status(
        "Failed",
        endTime="2026-11-28T10:01:00+00:00",
        error={
            "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
            "message": "Maximum allowed unhealthy instance percent exceeded: 40%",
        },
    )
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, status("InProgress"), failed)
    )
    seen: list[str] = []
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0", "1"])
        with pytest.raises(OperationFailedError) as info:
            await op.wait(on_progress=lambda s: seen.append(s.status))
    err = info.value
    assert err.code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert "unhealthy instance percent exceeded" in str(err)
    assert err.operation is not None and err.operation.status == "Failed"
    assert seen == ["InProgress", "Failed"]
    assert op.done and not op.succeeded
    # Azure-AsyncOperation wins over Location: the monitor URL is never polled.
    assert all("monitor" not in str(r.url) for r in arm.requests)


async def test_canceled_operation_raises() -> None:
    arm = FakeArm().on("POST", BASE + "/restart", ACCEPTED).on("GET", OPS, status("Canceled"))
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_action("restart", ["3"])
        with pytest.raises(OperationFailedError, match="Canceled"):
            await op.wait()


async def test_first_poll_is_immediate_then_adaptive_interval() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, *[status("InProgress")] * 6, status("succeeded"))
    )
    time = FakeTime()
    async with make_client(arm, time, poll_interval=3.0) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        result = await op.wait()
    assert result.status.lower() == "succeeded"  # case-insensitive terminal check
    assert time.sleeps == [1.0, 1.5, 2.25, 3.0, 3.0, 3.0]
    assert op.polls == 7


async def test_retry_after_on_poll_sets_the_interval() -> None:
    arm = (
        FakeArm()
        .on(
            "POST",
            BASE + "/manualupgrade",
            js(202, None, {"Azure-AsyncOperation": OP_URL, "Retry-After": "9"}),
        )
        .on(
            "GET", OPS, js(200, {"status": "InProgress"}, {"Retry-After": "4"}), status("Succeeded")
        )
    )
    time = FakeTime()
    async with make_client(arm, time) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        await op.wait()
    assert time.sleeps == [4.0]


async def test_location_only_operation_polls_monitor_url_until_200() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/deallocate", js(202, None, {"Location": MONITOR_URL}))
        .on("GET", OPS, js(202, None), js(202, None), js(200, None))
    )
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_action("deallocate", ["2"])
        assert op.mode == "location"
        await op.wait()
    polls = arm.calls("GET", "/operations/")
    assert len(polls) == 3 and all(r.url.params["monitor"] == "true" for r in polls)


async def test_patch_without_headers_follows_provisioning_state_then_returns_model() -> None:
    def ss(state: str, etag: str) -> httpx.Response:
        return js(
            200,
            {
                "id": BASE,
                "name": "vmss-web",
                "location": "westeurope",
                "etag": etag,
                "properties": {"provisioningState": state},
            },
        )

    arm = (
        FakeArm()
        .on("PATCH", BASE, ss("Updating", '"4"'))
        .on("GET", BASE, ss("Updating", '"4"'), ss("Succeeded", '"4"'))
    )
    async with make_client(arm) as client:
        fresh = await ScaleSetApi(client, BASE).update_model({"sku": {"capacity": 3}}, etag='"3"')
    assert fresh.etag == '"4"'
    assert fresh.properties.provisioning_state == "Succeeded"
    patch = arm.calls("PATCH")[0]
    assert patch.headers["if-match"] == '"3"'
    assert json.loads(patch.content) == {"sku": {"capacity": 3}}


async def test_put_with_async_header_fetches_final_resource() -> None:
    final = {
        "id": BASE,
        "name": "vmss-web",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded"},
        "etag": '"9"',
    }
    arm = (
        FakeArm()
        .on(
            "PUT",
            BASE,
            js(
                200,
                {**final, "properties": {"provisioningState": "Updating"}},
                {"Azure-AsyncOperation": OP_URL},
            ),
        )
        .on("GET", OPS, status("Succeeded"))
        .on("GET", BASE, js(200, final))
    )
    async with make_client(arm) as client:
        op = await client.begin("PUT", BASE, json={"location": "westeurope"})
        await op.wait()
    assert op.result == final


async def test_immediate_200_without_lro_headers_is_done() -> None:
    arm = FakeArm().on("POST", BASE + "/start", js(200, None))
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_action("start", ["1"])
        assert op.done and op.mode == "none"
        assert (await op.wait()).status == "Succeeded"
        assert (await op.poll()).status == "Succeeded"
    assert len(arm.requests) == 1


async def test_wait_timeout_leaves_operation_pollable() -> None:
    arm = (
        FakeArm().on("POST", BASE + "/manualupgrade", ACCEPTED).on("GET", OPS, status("InProgress"))
    )
    time = FakeTime()
    async with make_client(arm, time, poll_interval=5.0) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        with pytest.raises(OperationTimeoutError, match="still InProgress") as info:
            await op.wait(timeout=10.0)
        assert isinstance(info.value, TimeoutError)
        assert sum(time.sleeps) == pytest.approx(10.0)
        assert not op.done
        assert (await op.poll()).status == "InProgress"


async def test_cancelling_the_wait_does_not_cancel_the_operation() -> None:
    release = asyncio.Event()

    async def blocking_sleep(seconds: float) -> None:
        await release.wait()

    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, status("InProgress"), status("Succeeded"))
    )
    async with make_client(arm, sleep=blocking_sleep) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        task = asyncio.create_task(op.wait())
        for _ in range(100):
            if op.polls == 1:
                break
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not op.done
        assert not arm.calls("POST", "cancel")  # nothing was sent to cancel it
        assert (await op.poll()).status == "Succeeded"


async def test_operation_url_on_foreign_host_is_refused_without_sending_token() -> None:
    evil = "https://evil.example.com/steal?api-version=1"
    arm = FakeArm().on(
        "POST", BASE + "/manualupgrade", js(202, None, {"Azure-AsyncOperation": evil})
    )
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        with pytest.raises(UntrustedHostError, match=r"evil\.example\.com"):
            await op.wait()
    assert all(r.url.host == "management.example.test" for r in arm.requests)


async def test_poll_errors_are_typed_and_lro_events_emitted() -> None:
    arm = (
        FakeArm()
        .on("POST", BASE + "/manualupgrade", ACCEPTED)
        .on("GET", OPS, status("InProgress"), arm_error(404, "NotFound", "operation expired"))
    )
    events: list[ClientEvent] = []
    async with make_client(arm, events=events.append) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        with pytest.raises(Exception, match="operation expired"):
            await op.wait()
    lro = [e for e in events if e.kind == "lro"]
    assert len(lro) == 1 and "InProgress" in lro[0].message


async def test_async_progress_callback_is_awaited() -> None:
    arm = (
        FakeArm().on("POST", BASE + "/manualupgrade", ACCEPTED).on("GET", OPS, status("Succeeded"))
    )
    got: list[OperationStatus] = []

    async def progress(s: OperationStatus) -> None:
        await asyncio.sleep(0)
        got.append(s)

    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
        await op.wait(on_progress=progress)
    assert [s.status for s in got] == ["Succeeded"]


async def test_resume_operation_from_saved_url() -> None:
    arm = FakeArm().on("GET", OPS, status("InProgress"), status("Succeeded"))
    async with make_client(arm) as client:
        op = client.resume_operation(OP_URL)
        assert not op.done and op.url == OP_URL
        assert arm.requests == []
        await op.wait()
        assert op.succeeded
        with pytest.raises(UntrustedHostError):
            client.resume_operation("https://elsewhere.test/op?api-version=1")
    assert len(arm.requests) == 2
