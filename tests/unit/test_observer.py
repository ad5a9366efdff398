"""The observer serves a run's reads from its cache when fresh enough, reads a few VMs one
by one and many by list, and never loops on an empty set."""

from __future__ import annotations

import asyncio

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


async def test_old_cells_are_the_vms_read_longer_ago_than_the_target() -> None:
    now = [100.0]
    api = make_api(n=30)
    api.pacing = Pacing(lambda: now[0], asyncio.sleep, ThrottleBudget(clock=lambda: now[0]))
    observer = Observer(api)  # type: ignore[arg-type]
    await observer.step(force=True)
    everyone = frozenset(observer.vms)
    assert len(everyone) == 30 and observer.old_cells() == frozenset()
    now[0] += 3
    await observer.read_vms(["3", "4"], newer_than=now[0], reason="test")
    assert [c for c in api.calls if c.startswith("vm ")] == ["vm 3", "vm 4"]
    target = observer.cells_target()
    assert target > 3
    now[0] = 100.0 + target  # the first list is exactly as old as the target: not older
    assert observer.old_cells() == frozenset()
    now[0] += 0.5
    assert observer.old_cells() == everyone - {"3", "4"}
    fresh = observer.freshness()
    assert fresh.cells_age is not None and fresh.cells_age > fresh.cells_target
    now[0] += 3  # nothing read since (as while waiting for budget): every cell is old
    assert observer.old_cells() == everyone
