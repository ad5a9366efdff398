"""Fuzzing what a server sends, against the models, the client and the upgrade path.

The properties (issue 13, item 9): nothing a server sends makes us crash with anything but
a typed ``ArmError`` (models: ``ValidationError``, which the client turns into one), no
server-requested wait leaves [1 s, the cap], no odd answer to a write counts as success,
and no malformed read causes a write. ``CASES`` counts the examples each property ran
(``python -m tests.chaos.report`` prints the total).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.factories import scale_set_json, vm_json
from tests.fuzz.strategies import (
    TIMEOUT,
    bodies,
    cases,
    headers,
    scale_sets,
    statuses,
    vm_items,
    vm_pages,
)
from tests.unit.test_client__fakes import BASE, ENDPOINT, SUB, FakeTime
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError, describe_validation
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.retry import RetryPolicy
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.azure.vm_pages import vms_from
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Policy, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot

pytestmark = pytest.mark.timeout(TIMEOUT)
CASES: Counter[str] = Counter()
#: A policy that lets every wave start, so the property is about reads, not limits.
LENIENT = {
    "maxBatchInstancePercent": 100,
    "maxUnhealthyInstancePercent": 100,
    "maxUnhealthyUpgradedInstancePercent": 100,
    "pauseTimeBetweenBatches": "PT0S",
}
OPS = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/op-1"
OP_URL = f"{ENDPOINT}{OPS}?api-version=2026-04-01"
POLICY = RetryPolicy(max_attempts=2)
Answer = tuple[int, dict[str, str], bytes]
answers = st.tuples(statuses, headers, st.just(b"")).flatmap(
    lambda t: st.tuples(st.just(t[0]), st.just(t[1]), bodies({"status": "InProgress"}))
)


def _response(answer: Answer) -> httpx.Response:
    status, head, body = answer
    head = {"content-type": "application/json", **head}
    return httpx.Response(status, headers=head, content=body)


def _client(handler: Any, time: FakeTime) -> ArmClient:
    return ArmClient(
        ENDPOINT,
        transport=httpx.MockTransport(handler),
        retry=POLICY,
        sleep=time.sleep,
        clock=time.clock,
    )


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# ------------------------------------------------------------------ models


@cases(150)
@given(vm_items())
def test_a_vm_item_validates_or_names_what_is_wrong(item: Any) -> None:
    CASES["models"] += 1
    try:
        vm = ScaleSetVM.model_validate(item)
    except ValidationError as exc:
        assert describe_validation(exc)
    else:
        assert isinstance(vm.instance_id, str) and vm.instance_id
    (only,) = vms_from([item])  # a list never fails because of one item
    assert only.instance_id


@cases(150)
@given(scale_sets)
def test_a_scale_set_validates_or_names_what_is_wrong(body: Any) -> None:
    CASES["models"] += 1
    try:
        scale_set = ScaleSet.model_validate(body)
    except ValidationError as exc:
        assert describe_validation(exc)
        return
    policy = Policy.of(scale_set)  # readable policies only: never a ValueError later
    assert 0 <= policy.max_batch_percent <= 100
    ScaleSetSnapshot.build(scale_set, [])


# ------------------------------------------------------------------ client


@cases(100)
@given(answers)
def test_any_answer_to_a_get_is_a_scale_set_or_a_typed_error(answer: Answer) -> None:
    CASES["client"] += 1
    status, head, body = answer
    payload = body if status != 200 else json.dumps(_valid_or(body)).encode()

    async def go() -> None:
        time = FakeTime()
        async with _client(lambda r: _response((status, head, payload)), time) as client:
            with contextlib.suppress(ArmError):
                await ScaleSetApi(client, BASE).get()
            assert all(0 < s <= POLICY.max_retry_after for s in time.sleeps)
            assert client.budget.blocked_for() <= POLICY.max_retry_after

    _run(go())


def _valid_or(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("latin-1")


@cases(100)
@given(st.lists(answers, min_size=1, max_size=4))
def test_polling_any_answers_ends_typed_and_never_sleeps_outside_the_bounds(
    polls: list[Answer],
) -> None:
    CASES["client"] += 1
    replies = [_response(a) for a in polls]
    done = httpx.Response(200, json={"status": "Succeeded"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Azure-AsyncOperation": OP_URL})
        return replies.pop(0) if replies else done

    async def go() -> None:
        time = FakeTime()
        async with _client(handler, time) as client:
            try:
                operation = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
                await operation.wait()
            except ArmError:
                pass
        assert all(0 < s <= POLICY.max_retry_after for s in time.sleeps), time.sleeps

    _run(go())


@cases(100)
@given(answers)
def test_an_odd_answer_to_a_write_is_never_success(answer: Answer) -> None:
    CASES["client"] += 1
    status, head, _body = answer

    async def go() -> None:
        time = FakeTime()
        async with _client(lambda r: _response(answer), time) as client:
            try:
                operation = await ScaleSetApi(client, BASE).begin_manual_upgrade(["0"])
            except ArmError:
                return
        follow = head.get("Azure-AsyncOperation") or head.get("Location")
        assert status in (200, 202, 204), status
        assert status != 202 or follow
        if operation.done and operation.succeeded:
            assert status in (200, 204)

    _run(go())


# ------------------------------------------------------------------ reads → writes


@cases(100)
@given(vm_pages)
def test_no_malformed_read_causes_a_write(items: list[Any]) -> None:
    """List fuzzed VMs through the client, plan an upgrade of everything, send it: every
    instance id in a request body names an item that was a well-formed, outdated VM."""
    CASES["plan"] += 1
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.extend(json.loads(request.content)["instanceIds"])
            return httpx.Response(200)
        if request.url.path.endswith("/virtualMachines"):
            return httpx.Response(200, json={"value": items})
        return httpx.Response(200, json=_scale_set(len(items)))

    async def go() -> None:
        async with _client(handler, FakeTime()) as client:
            api = ScaleSetApi(client, BASE)
            snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
            plan = build_plan(snapshot, Strategy.UPDATE_DOMAIN)
            for wave in plan.waves:
                await api.begin_manual_upgrade(wave.instance_ids)

    _run(go())
    sound = {
        ScaleSetVM.model_validate(item).instance_id
        for item in items
        if isinstance(item, dict)
        and _validates(item)
        and isinstance(item.get("properties"), dict)
        and item["properties"].get("latestModelApplied") is False
    }
    assert set(sent) <= sound
    assert len(sent) == len(set(sent))


def _validates(item: dict[str, Any]) -> bool:
    try:
        ScaleSetVM.model_validate(item)
    except ValidationError:
        return False
    return True


def _scale_set(capacity: int) -> dict[str, Any]:
    return scale_set_json(capacity=capacity)


@cases(60)
@given(st.lists(vm_items(), min_size=1, max_size=5))
def test_the_orchestrator_never_upgrades_a_vm_it_could_not_read(items: list[Any]) -> None:
    """The plan is made from a clean read (every VM outdated and healthy); every read the
    orchestrator makes afterwards returns the damaged items. A VM that came back malformed
    (or not at all) is never sent; the run ends typed, whatever it met."""
    CASES["orchestrator"] += 1
    clean = [vm_json(i, ud=i % 2) for i in range(len(items))]
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item["id"] = clean[i]["id"]  # the same VMs, damaged
            item["instanceId"] = str(i)
    sent: list[str] = []
    reads = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.extend(json.loads(request.content)["instanceIds"])
            return httpx.Response(200)
        path = request.url.path
        if path.endswith("/virtualMachines"):
            reads["n"] += 1
            return httpx.Response(200, json={"value": clean if reads["n"] == 1 else items})
        if "/virtualMachines/" in path:
            return httpx.Response(200, json=items[int(path.rsplit("/", 1)[1])])
        return httpx.Response(200, json=scale_set_json(capacity=len(items), policy=LENIENT))

    async def go() -> None:
        async with _client(handler, FakeTime()) as client:
            api = ScaleSetApi(client, BASE)
            snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
            plan = build_plan(snapshot, Strategy.UPDATE_DOMAIN)
            orchestrator = Orchestrator(api, plan, poll_interval=5.0, health_timeout=60.0)
            # Bounded: a hang on a malformed read is a failure too (on the fake clock,
            # the health timeout ends every wave long before this).
            await asyncio.wait_for(orchestrator.run(), 30)

    _run(go())
    sound = {
        str(i)
        for i, item in enumerate(items)
        if isinstance(item, dict)
        and _validates(item)
        and isinstance(item.get("properties"), dict)
        and item["properties"].get("latestModelApplied") is False
    }
    assert set(sent) <= sound, (sent, sound)
