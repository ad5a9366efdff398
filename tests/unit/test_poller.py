"""The poller: one GET + one list per refresh, and an interval that adapts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.ui.fakeapi import FakeApi, make_api
from vmssdash.core.poller import Poller


@dataclass
class FakeBudget:
    slow: float = 1.0
    blocked: float = 0.0
    lowest_remaining: int | None = 1000

    def suggested_interval(self, base: float) -> float:
        return max(base * self.slow, self.blocked)


@dataclass
class FakeClient:
    budget: FakeBudget = field(default_factory=FakeBudget)


def api_with_budget() -> FakeApi:
    api = make_api(20, uds=2)
    api.client = FakeClient()  # type: ignore[attr-defined]
    return api


async def test_refresh_makes_one_get_and_one_list() -> None:
    api = make_api(20)
    now = [10.0]
    poller = Poller(api, clock=lambda: now[0])
    snap = await poller.refresh()
    assert api.calls == ["get", "list"]
    assert len(snap.vms) == 20 and snap.taken_at == 10.0
    now[0] = 13.5
    assert poller.age() == pytest.approx(3.5)


async def test_interval_grows_while_quiet_and_snaps_back_on_change() -> None:
    api = make_api(20)
    api.set_vm(10, prov="succeeded")  # nothing transitional
    poller = Poller(api, min_interval=2.0, max_interval=30.0)
    await poller.refresh()
    first = poller.next_interval()
    await poller.refresh()
    await poller.refresh()
    quiet = poller.next_interval()
    assert quiet > first
    api.set_vm(3, prov="updating")
    await poller.refresh()
    assert poller.last_changed == {"3"}
    assert poller.next_interval() == 2.0
    for _ in range(30):
        await poller.refresh()  # VM 3 stays transitional: keep watching closely
    assert poller.next_interval() == 2.0


async def test_interval_is_capped_and_follows_the_budget() -> None:
    api = api_with_budget()
    poller = Poller(api, min_interval=2.0, max_interval=30.0)
    await poller.refresh()
    assert poller.reads_left == 1000
    api.client.budget.slow = 4.0  # type: ignore[attr-defined]
    assert poller.next_interval() >= 8.0
    api.client.budget.blocked = 25.0  # type: ignore[attr-defined]
    assert poller.next_interval() == 25.0
    api.client.budget.blocked = 500.0  # type: ignore[attr-defined]
    assert poller.next_interval() == 30.0


async def test_errors_back_off_and_keep_the_last_snapshot() -> None:
    api = make_api(20)
    poller = Poller(api, min_interval=2.0, max_interval=60.0)
    good = await poller.refresh()
    api.fail_next = ConnectionError("reset")
    with pytest.raises(ConnectionError):
        await poller.refresh()
    assert poller.last is good
    assert isinstance(poller.last_error, ConnectionError)
    assert poller.next_interval() == 4.0
    api.fail_next = ConnectionError("reset")
    with pytest.raises(ConnectionError):
        await poller.refresh()
    assert poller.next_interval() == 8.0
    await poller.refresh()
    assert poller.last_error is None


def test_pause_resume_and_bad_intervals() -> None:
    poller = Poller(make_api(2), min_interval=2.0)
    poller.pause()
    assert poller.paused
    poller.resume()
    assert not poller.paused
    with pytest.raises(ValueError):
        Poller(make_api(2), min_interval=5.0, max_interval=1.0)
