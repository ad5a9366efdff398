"""Plans written as steps: each step type, parsing errors, holds, JSON, named strategies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import grid, snapshot, vm_json
from vmssdash.config import ConfigError, load_settings
from vmssdash.core.plan import Hold, Plan, Strategy
from vmssdash.core.steps import (
    StepError,
    StepKind,
    build_plan_from_steps,
    canary_pick,
    parse_steps,
    resolve_steps,
    steps_text,
)


def test_every_step_type_parses_and_prints_back() -> None:
    steps = parse_steps("canary 1, bake PT10M, batch 10%, bake PT5M, pause, fd, zone, ud")
    assert [s.kind for s in steps] == [
        StepKind.CANARY,
        StepKind.BAKE,
        StepKind.BATCH,
        StepKind.BAKE,
        StepKind.PAUSE,
        StepKind.FD,
        StepKind.ZONE,
        StepKind.UD,
    ]
    assert steps[1].seconds == 600
    assert steps_text(steps) == "canary 1, bake PT10M, batch 10%, bake PT5M, pause, fd, zone, ud"
    assert parse_steps(["canary 5%", "ud"])[0].size is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("canary", "takes one size"),
        ("canary 0, ud", "not a batch size"),
        ("bake 10m, ud", "ISO-8601"),
        ("ud, bake", "takes one ISO-8601 duration"),
        ("ud, bake PT0S", "above zero"),
        ("bake PT1M, ud", "before any wave"),
        ("pause, ud", "before any wave"),
        ("canary 1", "add a step for the rest"),
        ("ud, canary 1, fd", "first wave step"),
        ("rollout 5", "is not a step"),
        ("ud 3", "takes nothing after it"),
        ("", "empty step"),
    ],
)
def test_bad_steps_get_one_clear_message(text: str, message: str) -> None:
    with pytest.raises(StepError, match=message):
        parse_steps(text)


def test_canary_spreads_over_fault_domains_and_zones_healthy_first() -> None:
    vms = grid(12, uds=4, fds=3, zones=3)
    vms[0] = vm_json(0, ud=0, fd=0, zone="1", health="unhealthy")
    snap = snapshot(vms)
    picked = canary_pick(snap.vms, 3)
    assert len({(v.fault_domain, v.zone) for v in picked}) == 3
    assert "0" not in {v.instance_id for v in picked}


def test_canary_then_bake_then_by_update_domain() -> None:
    snap = snapshot(grid(10, uds=5))
    plan = build_plan_from_steps(snap, parse_steps("canary 1, bake PT2M, ud"))
    assert plan.waves[0].label == "canary" and len(plan.waves[0].instance_ids) == 1
    assert plan.waves[0].after == (Hold("bake", 120.0),)
    canary = plan.waves[0].instance_ids[0]
    assert [w.label for w in plan.waves[1:]] == [f"UD {n}" for n in range(5)]
    assert canary not in plan.waves[1].instance_ids + plan.waves[2].instance_ids
    assert sorted(plan.targets, key=int) == [str(i) for i in range(10)]
    assert all(not w.after for w in plan.waves[1:])
    assert plan.halts_on_breach and plan.strategy is Strategy.UPDATE_DOMAIN
    assert "steps: canary 1, bake PT2M, ud" in plan.summary()
    assert plan.estimated_seconds == 6 * 60 + 120


def test_an_intermediate_wave_step_makes_one_wave_and_the_last_repeats() -> None:
    snap = snapshot(grid(20, uds=5))
    plan = build_plan_from_steps(snap, parse_steps("batch 3, bake PT1M, fd, bake PT30S"))
    assert len(plan.waves[0].instance_ids) == 3
    assert plan.waves[0].after == (Hold("bake", 60.0),)
    assert [w.label for w in plan.waves[1:]] == ["FD 0", "FD 1", "FD 2"]
    # A bake after the last wave step follows each of its waves.
    assert all(w.after == (Hold("bake", 30.0),) for w in plan.waves[1:])
    assert len(plan.targets) == len(set(plan.targets)) == 20


def test_pause_and_bake_follow_the_same_wave_in_order() -> None:
    plan = build_plan_from_steps(
        snapshot(grid(6, uds=3)), parse_steps("canary 1, bake PT1M, pause, ud")
    )
    assert plan.waves[0].after == (Hold("bake", 60.0), Hold("pause"))


def test_zone_steps_and_batch_never_cross_zones() -> None:
    snap = snapshot(grid(12, uds=2, zones=3))
    plan = build_plan_from_steps(snap, parse_steps("canary 2, zone"))
    assert {snap.by_id[i].zone for i in plan.waves[0].instance_ids} == {"1", "2"}
    assert [w.label for w in plan.waves[1:]] == ["zone 1", "zone 2", "zone 3"]


def test_stepped_plan_round_trips_through_json() -> None:
    plan = build_plan_from_steps(
        snapshot(grid(10, uds=5)), parse_steps("canary 1, bake PT2M, pause, batch 2, ud")
    )
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.waves[0].after == (Hold("bake", 120.0), Hold("pause"))


def test_a_plan_journalled_before_steps_still_loads() -> None:
    plan = build_plan_from_steps(snapshot(grid(4)), parse_steps("ud"))
    data = plan.to_json()
    del data["steps"]
    for wave in data["waves"]:
        del wave["after"]
    old = Plan.from_json(data)
    assert old.steps == () and not old.halts_on_breach


def test_named_strategies_come_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[strategies]\ncareful = ["canary 1", "bake PT10M", "ud"]\n')
    settings = load_settings(path=path, environ={})
    steps = resolve_steps("careful", settings.strategies)
    assert steps_text(steps) == "canary 1, bake PT10M, ud"
    assert steps_text(resolve_steps("batch 2", settings.strategies)) == "batch 2"


def test_a_bad_named_strategy_is_refused_when_the_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[strategies]\nbroken = ["bake PT1M"]\n')
    with pytest.raises(ConfigError, match="broken"):
        load_settings(path=path, environ={})
