"""The read planner: our share of every window, Azure's own count, others' rate, choice."""

from __future__ import annotations

import pytest

from vmssdash.core.read_planner import Option, ReadKind, ReadPlanner

HIGH = "Microsoft.Compute/HighCostGetVMScaleSet"


def planner(now: list[float], share: float = 0.6) -> ReadPlanner:
    return ReadPlanner(lambda: now[0], share=share)


def test_our_calls_never_exceed_the_share_of_a_window_and_free_up_as_it_slides() -> None:
    now = [0.0]
    p = planner(now)
    assert p.allowance(ReadKind.LIST) == 108  # 60 % of the 3-minute 180
    p.record(ReadKind.LIST, 100)
    now[0] = 10.0
    p.record(ReadKind.LIST, 8)
    assert p.allowance(ReadKind.LIST) == 0
    assert p.wait_for(ReadKind.LIST, 20) == pytest.approx(170.0)  # the first 100 age out
    now[0] = 180.0
    assert p.allowance(ReadKind.LIST) == 100
    assert p.peak_share() == pytest.approx(108 / 180)


def test_azure_remaining_count_limits_us_when_others_spent_the_window() -> None:
    now = [0.0]
    p = planner(now)
    p.record(ReadKind.LIST, 1)
    p.learn({f"{HIGH}3Min": 10, f"{HIGH}30Min": 800})
    # 10 left, of which a headroom is kept for others: not a 20-page list.
    assert p.choose([Option(ReadKind.LIST, 20, "every VM")]) is None
    assert p.wait_for(ReadKind.LIST, 20) == pytest.approx(180.0)
    assert p.tightest().label == "HighCost 3 min"
    assert p.tightest().share_used(now[0]) > 0.9


def test_the_limit_is_learned_upwards_from_remaining_counts() -> None:
    now = [0.0]
    p = planner(now)
    p.record(ReadKind.AGGREGATE)
    p.learn({"Microsoft.Compute/GetVMScaleSet3Min": 399})
    assert p.windows["GetVMScaleSet3Min"].limit == 400
    assert p.allowance(ReadKind.AGGREGATE) == 240 - 1


def test_others_rate_is_extrapolated_between_our_reads() -> None:
    now = [0.0]
    p = planner(now, share=1.0)
    p.record(ReadKind.LIST)
    p.learn({f"{HIGH}3Min": 179, f"{HIGH}30Min": 899})
    now[0] = 60.0
    p.record(ReadKind.LIST)
    p.learn({f"{HIGH}3Min": 118, f"{HIGH}30Min": 838})  # 60 others' calls in 60 s
    window = p.windows["HighCostGetVMScaleSet3Min"]
    assert window.others_rate == pytest.approx(0.5)  # half-way to 1/s (smoothed)
    now[0] = 120.0
    # 118 left a minute ago, others at ~0.5/s since: about 88, minus our headroom.
    assert 80 <= p.allowance(ReadKind.LIST) <= 90


def test_choice_takes_the_smallest_part_of_what_is_left() -> None:
    now = [0.0]
    p = planner(now)
    few = Option(ReadKind.VM_VIEW, 10, "per-VM views")
    many = Option(ReadKind.VM_VIEW, 200, "per-VM views")
    full = Option(ReadKind.LIST, 20, "every VM")
    assert p.choose([full, few]) is few
    assert p.choose([full, many]) is full  # 20/108 of lists < 200/600 of views
    p.record(ReadKind.LIST, 100)
    assert p.choose([full, many]) is many


def test_a_list_is_chosen_for_the_ageing_cells_it_renews_besides_the_wanted_vms() -> None:
    """200 VMs wanted, 80 of 108 list calls spent: views are the smaller part of what is
    left, unless the list also renews 800 cells near their target (worth counted)."""
    now = [0.0]
    p = planner(now)
    p.record(ReadKind.LIST, 80)
    views = Option(ReadKind.VM_VIEW, 200, "per-VM views", worth=200)
    fresh = Option(ReadKind.LIST, 20, "every VM", worth=200 + 800 * 0.05)
    ageing = Option(ReadKind.LIST, 20, "every VM", worth=200 + 800 * 0.5)
    assert p.choose([fresh, views]) is views
    assert p.choose([ageing, views]) is ageing


def test_reads_ahead_of_need_keep_the_long_window_on_pace() -> None:
    """A burst of 100 list calls at once, then the rest of the 540 spread over 30 minutes
    (one call every 4.1 s): a long upgrade cannot spend the window in its first minutes."""
    now = [0.0]
    p = planner(now)
    assert p.on_pace(ReadKind.LIST, 100, burst=100)
    p.record(ReadKind.LIST, 100)
    assert not p.on_pace(ReadKind.LIST, 20, burst=100)
    now[0] = 60.0  # 14.7 calls' worth of pace since
    assert not p.on_pace(ReadKind.LIST, 20, burst=100)
    now[0] = 90.0  # 22
    assert p.on_pace(ReadKind.LIST, 20, burst=100)
    # The window's own cap still holds whatever the pace says.
    assert p.allowance(ReadKind.LIST) == 8  # 108 a 3-minute window at 60 %
