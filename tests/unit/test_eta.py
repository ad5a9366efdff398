"""Learned ETA: nothing assumed, learned per scale set from past journals and this run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import NAME, grid, snapshot
from vmssdash.core.eta import Estimator, learned_wave_seconds, past_wave_seconds
from vmssdash.core.events import Progress
from vmssdash.core.journal import Journal
from vmssdash.core.plan import Strategy, build_plan


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _journal(directory: Path, waves: list[float], *, name: str = NAME) -> None:
    plan = build_plan(snapshot(grid(10), name=name), Strategy.UPDATE_DOMAIN)
    clock = Clock()
    journal = Journal.create(directory, plan, clock=clock)
    for index, seconds in enumerate(waves):
        journal.append("wave-start", wave=index, instance_ids=["0"])
        clock.now += seconds
        journal.append("wave-done", wave=index, ok=["0"], failed=[])
        clock.now += 5
    journal.append("finished", state="completed", reason="", not_done=[])


def test_nothing_learned_means_no_eta_not_a_fixed_minute() -> None:
    assert Estimator().remaining(waves_left=5) is None
    assert Estimator().remaining(waves_left=4, in_wave_for=3.0) is None


def test_one_ten_second_wave_predicts_ten_seconds_a_wave() -> None:
    estimator = Estimator()
    estimator.add(10.0)
    eta = estimator.remaining(waves_left=4)
    assert eta is not None and eta.seconds == eta.low == eta.high == 40.0


def test_a_wave_in_flight_counts_what_is_left_of_it() -> None:
    estimator = Estimator(current=[20.0, 30.0])
    eta = estimator.remaining(waves_left=1, in_wave_for=22.0)
    assert eta is not None
    assert (eta.low, eta.seconds, eta.high) == (20.0, 25.0 + 3.0, 30.0 + 8.0)


def test_bakes_and_pauses_are_added_and_the_range_follows_the_spread() -> None:
    estimator = Estimator(current=[10.0, 20.0, 30.0])
    eta = estimator.remaining(waves_left=2, pauses=10.0, bakes=120.0)
    assert eta is not None
    assert (eta.low, eta.seconds, eta.high) == (150.0, 170.0, 190.0)
    text = Progress(0.0, 0, 3, 0, 3, 0, eta.seconds, eta_low=eta.low, eta_high=eta.high).text()
    assert "ETA 2m 50s (2m 30s–3m 10s)" in text


def test_past_runs_of_the_same_scale_set_are_learned(tmp_path: Path) -> None:
    _journal(tmp_path, [30.0, 40.0])
    _journal(tmp_path, [500.0], name="vmss-other")
    plan = build_plan(snapshot(grid(10)), Strategy.UPDATE_DOMAIN)
    assert sorted(past_wave_seconds(tmp_path, plan.scale_set_id)) == [30.0, 40.0]
    estimator = Estimator.for_scale_set(tmp_path, plan.scale_set_id)
    eta = estimator.remaining(waves_left=2)
    assert eta is not None and (eta.low, eta.seconds, eta.high) == (60.0, 70.0, 80.0)
    # This run's own waves soon outweigh the past.
    estimator.add(10.0)
    estimator.add(10.0)
    eta = estimator.remaining(waves_left=1)
    assert eta is not None and eta.seconds == pytest.approx(10.0)


def test_a_plan_estimate_learns_the_typical_wave(tmp_path: Path) -> None:
    plan = build_plan(snapshot(grid(10)), Strategy.UPDATE_DOMAIN)
    assert learned_wave_seconds(tmp_path, plan.scale_set_id) is None
    _journal(tmp_path, [12.0, 14.0, 40.0])
    assert learned_wave_seconds(tmp_path, plan.scale_set_id) == 14.0
