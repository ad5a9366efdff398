"""The observer serves a run's reads from its cache when fresh enough, reads a few VMs one
by one and many by list, and never loops on an empty set."""

from __future__ import annotations

import asyncio

import pytest

from tests.ui.fakeapi import make_api
from vmssdash.azure.pacing import Pacing
from vmssdash.azure.throttle import ThrottleBudget
from vmssdash.core.observer import Observer


async def test_fresh_readings_are_served_and_few_vms_are_read_one_by_one() -> None:
    api = make_api(n=60)
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    lists = api.calls.count("list")
    read_at = observer.read_at["3"]
    # Read no earlier than the last list: nothing is sent.
    infos = await observer.read_vms(["3", "4"], newer_than=read_at, reason="test")
    assert len(infos) == 60 and api.calls.count("list") == lists
    assert not [c for c in api.calls if c.startswith("vm ")]
    # Newer than that: two per-VM views, not a 60-VM list.
    api.set_vm(3, prov="updating")
    infos = await observer.read_vms(["3", "4"], newer_than=read_at + 1e-9, reason="test")
    assert [c for c in api.calls if c.startswith("vm ")] == ["vm 3", "vm 4"]
    assert infos["3"].provisioning_state == "Updating"
    assert api.calls.count("list") == lists
    assert "per-VM views" in observer.decisions[-1] and "test" in observer.decisions[-1]


async def test_an_empty_set_answers_at_once() -> None:
    api = make_api(n=0)
    observer = Observer(api)  # type: ignore[arg-type]
    assert await observer.read_vms([], newer_than=0.0, reason="empty") == {}
    assert api.calls.count("list") == 1


async def test_vms_a_run_sent_a_change_are_not_looked_for_in_the_stale_list() -> None:
    """They have most likely left it: the stale-VM list would come back without them and
    a second read would follow. The run says so with ``expect_change``."""
    api = make_api(n=400)
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    stale = [i for i, v in observer.vms.items() if v.latest_model is False][:20]
    asked = observer.read_at[stale[0]] + 1e-9
    observer.expect_change(stale)
    await observer.read_vms(stale, newer_than=asked, reason="health")
    assert not [c for c in api.calls if c.startswith("list properties")]
    assert all(observer.read_at[i] >= asked for i in stale)


async def test_stale_vms_not_sent_anything_are_read_by_the_stale_list() -> None:
    api = make_api(n=400)
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    stale = [i for i, v in observer.vms.items() if v.latest_model is False]
    await observer.read_vms(stale, newer_than=observer.read_at[stale[0]] + 1e-9, reason="x")
    assert api.calls[-1] == "list properties/latestModelApplied eq false"


async def test_a_quiet_small_set_keeps_the_quiet_floor_and_a_big_one_leaves_budget() -> None:
    """200 VMs are listed every 15 s while quiet (the whole share sustains that); a quiet
    1,000-VM set is read on a third of the list budget: 300 of 900 calls in 30 minutes."""
    small, big = make_api(n=200), make_api(n=1000)
    for api in (small, big):
        for i in (7, 10):  # make_api's failed and updating VMs would keep the set busy
            api.set_vm(i, prov="succeeded")
    observers = [Observer(api) for api in (small, big)]  # type: ignore[arg-type]
    for observer in observers:
        await observer.step(force=True)
        assert not observer.active
    assert observers[0].cells_target() == 15.0
    assert observers[0].share_now() == observers[0].planner.share
    assert observers[1].share_now() == observers[1].quiet_share == 1 / 3
    # 20 pages a list: 14 lists after the first fit in 300 calls per 30 minutes.
    assert 1800 / observers[1].cells_target() == pytest.approx(14)


async def test_old_cells_are_the_vms_read_longer_ago_than_the_target() -> None:
    now = [100.0]
    api = make_api(n=30)
    api.pacing = Pacing(lambda: now[0], asyncio.sleep, ThrottleBudget(clock=lambda: now[0]))
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    everyone = frozenset(observer.vms)
    assert len(everyone) == 30 and observer.old_cells() == frozenset()
    # Two VMs read again a moment later, one by one (the others, still young, are not
    # worth a list yet).
    now[0] += 0.1
    await observer.read_vms(["3", "4"], newer_than=now[0], reason="test")
    assert [c for c in api.calls if c.startswith("vm ")] == ["vm 3", "vm 4"]
    target = observer.cells_target()
    now[0] = 100.0 + target  # the first list is exactly as old as the target: not older
    assert observer.old_cells() == frozenset()
    now[0] += 0.05
    assert observer.old_cells() == everyone - {"3", "4"}
    fresh = observer.freshness()
    assert fresh.cells_age is not None and fresh.cells_age > fresh.cells_target
    now[0] += 1  # nothing read since (as while waiting for budget): every cell is old
    assert observer.old_cells() == everyone


async def test_a_wave_in_flight_is_old_until_it_is_read_again() -> None:
    """A run sent the wave a change: what the cells say predates it, however young the
    reading (Azure's counts show the wave updating meanwhile)."""
    api = make_api(n=30)
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    assert observer.old_cells() == frozenset()
    observer.expect_change(["3", "4", "5"])
    assert observer.old_cells() == {"3", "4", "5"}
    await observer.read_vms(["3", "4"], newer_than=observer.read_at["3"] + 1e-9, reason="t")
    assert observer.old_cells() == {"5"}


async def test_per_vm_views_go_a_few_at_a_time_and_stop_at_the_first_error() -> None:
    """30 views one after the other are a second of round trips at the end of a wave; a
    429 stops the views not yet sent (what was read is kept) and the read waits, then
    asks for the rest."""
    import asyncio

    from vmssdash.azure.errors import ThrottledError
    from vmssdash.azure.pacing import Pacing
    from vmssdash.azure.throttle import ThrottleBudget
    from vmssdash.core.readings import VIEWS_AT_ONCE

    now = [0.0]

    async def sleep(seconds: float) -> None:
        api.calls.append("sleep")
        now[0] += seconds

    api = make_api(n=300)
    api.pacing = Pacing(lambda: now[0], sleep, ThrottleBudget(clock=lambda: now[0]))
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    get_vm = api.get_vm
    in_flight, most, fail = [0], [0], {"115"}

    async def slow_get_vm(instance_id: str) -> object:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        try:
            await asyncio.sleep(0)
            if instance_id in fail:
                fail.discard(instance_id)
                api.calls.append(f"vm {instance_id}")
                raise ThrottledError("Too many requests", status=429, retry_after=5.0)
            return await get_vm(instance_id)
        finally:
            in_flight[0] -= 1

    api.get_vm = slow_get_vm  # type: ignore[method-assign]
    ids = [str(i) for i in range(100, 130)]  # few enough for views, not a list
    asked = observer.read_at["100"] + 1e-9
    await observer.read_vms(ids, newer_than=asked, reason="health")
    assert 1 < most[0] <= VIEWS_AT_ONCE
    assert all(observer.read_at[i] >= asked for i in ids)
    calls = [c for c in api.calls if c.startswith("vm ") or c == "sleep"]
    failed_at, paused_at = calls.index("vm 115"), calls.index("sleep")
    # Only the views already in flight finished; none was sent after the 429.
    assert calls[failed_at + 1 : paused_at] == []
    assert not {f"vm {i}" for i in range(116, 130)} & set(calls[:paused_at])
