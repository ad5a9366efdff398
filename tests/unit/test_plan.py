"""Plans: domain order, batch sizes, skips, policy, ISO-8601 pauses, estimates, JSON round-trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import grid, snapshot, vm_json
from vmssdash.azure.models.durations import format_duration, parse_duration
from vmssdash.azure.models.scaleset import RollingUpgradePolicy
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.core.plan import (
    BatchSize,
    Plan,
    Policy,
    Strategy,
    build_plan,
    domain_worth,
    skip_reason,
)
from vmssdash.core.state import classify


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0S", 0),
        ("PT30S", 30),
        ("PT1M30S", 90),
        ("PT2H", 7200),
        ("P1DT1S", 86401),
        ("PT0.5S", 0.5),
        ("P1W", 604800),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "", "P", "PT", "1M", "PT1H2", "P1DT"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for s in (0, 5, 90, 3600, 3725):
        assert parse_duration(format_duration(s)) == s


def test_policy_reads_the_model_pause() -> None:
    model = RollingUpgradePolicy.model_validate({"pauseTimeBetweenBatches": "PT1M30S"})
    assert model.pause_seconds == 90
    assert Policy.from_model(model).pause_seconds == 90
    assert Policy.from_model(None).pause_seconds == 0


def test_batch_size_parse_and_resolve() -> None:
    assert BatchSize.parse("5").resolve(100) == 5
    assert BatchSize.parse("20%").resolve(100) == 20
    assert BatchSize.parse("20%").resolve(7) == 1
    assert BatchSize.parse("1%").resolve(40) == 1
    assert BatchSize.parse("20%").resolve(4) == 1  # platform: one at a time for <= 5
    for bad in ("0", "-1", "0%", "150%", "x"):
        with pytest.raises(ValueError, match="batch size"):
            BatchSize.parse(bad)


def test_policy_copied_from_the_model() -> None:
    snap = snapshot(
        grid(4),
        policy={
            "maxBatchInstancePercent": 10,
            "maxUnhealthyInstancePercent": 30,
            "maxUnhealthyUpgradedInstancePercent": 5,
            "pauseTimeBetweenBatches": "PT1M",
            "prioritizeUnhealthyInstances": True,
            "enableCrossZoneUpgrade": True,
        },
    )
    plan = build_plan(snap, Strategy.BATCH)
    assert plan.policy == Policy(10, 30, 5, 60.0, True, True)


def test_by_update_domain_one_domain_per_wave_in_order() -> None:
    vms = grid(40, uds=5)
    plan = build_plan(snapshot(vms), Strategy.UPDATE_DOMAIN)
    assert [w.label for w in plan.waves] == ["UD 0", "UD 1", "UD 2", "UD 3", "UD 4"]
    assert all(len(w.instance_ids) == 8 for w in plan.waves)
    assert plan.waves[1].instance_ids == tuple(str(i) for i in range(1, 40, 5))
    assert plan.summary().startswith("Upgrade 40 of 40 VMs of vmss-t in 5 waves")


def test_skips_latest_protected_deallocated_and_lists_them() -> None:
    vms = [
        vm_json(0, ud=0),
        vm_json(1, ud=0, latest=True),
        vm_json(2, ud=1, protected=True),
        vm_json(3, ud=1, power="deallocated", health=None),
        vm_json(4, ud=2),
    ]
    plan = build_plan(snapshot(vms), Strategy.UPDATE_DOMAIN)
    assert plan.targets == ("0", "4")
    assert {(s.instance_id, s.reason) for s in plan.skipped} == {
        ("1", "already on the latest model"),
        ("2", "protected from scale-set actions"),
        ("3", "deallocated"),
    }
    with_dealloc = build_plan(snapshot(vms), Strategy.UPDATE_DOMAIN, include_deallocated=True)
    assert "3" in with_dealloc.targets


def test_selection_limits_the_plan_and_reports_unknown_ids() -> None:
    plan = build_plan(snapshot(grid(10)), Strategy.FAULT_DOMAIN, selection=["1", "2", "99"])
    assert sorted(plan.targets) == ["1", "2"]
    assert ("99", "not in the scale set any more") in {
        (s.instance_id, s.reason) for s in plan.skipped
    }
    assert not plan.is_whole_set


def test_by_zone_and_missing_domains_go_last() -> None:
    vms = [*grid(6, zones=3), vm_json(6, ud=None, fd=None)]
    plan = build_plan(snapshot(vms), Strategy.ZONE)
    assert [w.label for w in plan.waves] == ["zone 1", "zone 2", "zone 3", "no zone"]
    ud_plan = build_plan(snapshot(vms), Strategy.UPDATE_DOMAIN)
    assert ud_plan.waves[-1].label == "UD ?"


def test_batches_never_span_zones_and_keep_domain_order() -> None:
    snap = snapshot(grid(30, uds=3, zones=2))
    plan = build_plan(snap, Strategy.BATCH, batch=BatchSize(count=4))
    assert plan.waves[0].label.startswith("zone 1 UD 0")
    for wave in plan.waves:
        assert len(wave.instance_ids) <= 4
        assert len({snap.by_id[i].zone for i in wave.instance_ids}) == 1


def test_batch_size_is_honoured_when_targets_are_spread_over_domains() -> None:
    """Issue 15: 20 VMs in 5 UDs of 4, half of them stale: ``--batch 4`` gave five waves
    of 2 (one per UD); it is three waves of 4, 4 and 2, in domain order."""
    vms = grid(20, uds=5, latest=False)
    for i in range(10, 20):
        vms[i] = vm_json(i, ud=i % 5, fd=i % 3, latest=True)
    snap = snapshot(vms)
    plan = build_plan(snap, Strategy.BATCH, batch=BatchSize(count=4))
    assert [len(w.instance_ids) for w in plan.waves] == [4, 4, 2]
    uds = [snap.by_id[i].update_domain for w in plan.waves for i in w.instance_ids]
    assert uds == sorted(uds)
    assert plan.waves[0].label == "UD 0–1"
    assert "batches of 4 VMs" in plan.summary()


def test_batch_never_takes_more_than_one_domains_worth_and_says_so() -> None:
    """``--batch 5`` on 10 VMs in 5 UDs of 2: waves of at most 2, and the summary no
    longer claims batches of 5."""
    plan = build_plan(snapshot(grid(10, uds=5)), Strategy.BATCH, batch=BatchSize(count=5))
    assert [len(w.instance_ids) for w in plan.waves] == [2] * 5
    assert "batches of up to 2 VMs: 5 VMs asked, one update domain holds 2" in plan.summary()


def test_batch_smaller_than_a_domain_is_honoured() -> None:
    plan = build_plan(snapshot(grid(16, uds=2)), Strategy.BATCH, batch=BatchSize(count=5))
    assert [len(w.instance_ids) for w in plan.waves] == [5, 5, 5, 1]
    assert "batches of 5 VMs" in plan.summary()


def test_prioritise_unhealthy_first() -> None:
    vms = grid(10)
    vms[7] = vm_json(7, ud=2, health="unhealthy")
    policy = Policy(prioritize_unhealthy=True, max_unhealthy_percent=100)
    plan = build_plan(snapshot(vms), Strategy.BATCH, batch=BatchSize(count=2), policy=policy)
    assert plan.waves[0].instance_ids == ("7",)
    assert plan.waves[0].label.startswith("unhealthy")


def test_warns_when_a_wave_exceeds_the_unhealthy_limit() -> None:
    plan = build_plan(snapshot(grid(9, uds=3)), Strategy.UPDATE_DOMAIN)
    assert plan.warnings and "exceeds" in plan.warnings[0]
    assert not build_plan(snapshot(grid(10, uds=5)), Strategy.UPDATE_DOMAIN).warnings


def test_estimate_counts_waves_and_pauses() -> None:
    policy = Policy(pause_seconds=30)
    plan = build_plan(
        snapshot(grid(10, uds=5)), Strategy.UPDATE_DOMAIN, policy=policy, wave_seconds=60
    )
    assert plan.estimated_seconds == 5 * 60 + 4 * 30


def test_json_round_trip() -> None:
    plan = build_plan(snapshot(grid(12)), Strategy.BATCH, batch=BatchSize(percent=25))
    assert Plan.from_json(plan.to_json()) == plan


# ----------------------------------------------------------------------------- properties

vm_strategy = st.builds(
    dict,
    ud=st.one_of(st.none(), st.integers(0, 4)),
    fd=st.integers(0, 2),
    zone=st.sampled_from([None, "1", "2", "3"]),
    latest=st.booleans(),
    health=st.sampled_from(["healthy", "unhealthy", None]),
    power=st.sampled_from(["running", "running", "running", "deallocated"]),
    protected=st.booleans() | st.just(False),
)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(vm_strategy, min_size=1, max_size=40),
    strategy=st.sampled_from(list(Strategy)),
    batch=st.one_of(
        st.none(),
        st.integers(1, 10).map(lambda n: BatchSize(count=n)),
        st.integers(1, 100).map(lambda p: BatchSize(percent=p)),
    ),
    cross_zone=st.booleans(),
    prioritize=st.booleans(),
)
def test_plan_properties(
    specs: list[dict[str, Any]],
    strategy: Strategy,
    batch: BatchSize | None,
    cross_zone: bool,
    prioritize: bool,
) -> None:
    vms = [vm_json(i, **spec) for i, spec in enumerate(specs)]
    snap = snapshot(vms)
    policy = Policy(cross_zone=cross_zone, prioritize_unhealthy=prioritize)
    plan = build_plan(snap, strategy, batch=batch, policy=policy)
    targets = plan.targets
    # Every VM is either targeted exactly once or skipped with a reason; never both.
    assert len(targets) == len(set(targets))
    skipped = {s.instance_id for s in plan.skipped}
    assert set(targets) | skipped == {v.instance_id for v in snap.vms}
    assert not set(targets) & skipped
    for vm in snap.vms:
        if (
            vm.latest_model
            or vm.protected_from_scale_set_actions
            or vm.power_state == "deallocated"
        ):
            assert vm.instance_id in skipped
    # Batch size is respected.
    if batch is not None or strategy is Strategy.BATCH:
        limit = (batch or BatchSize(percent=policy.max_batch_percent)).resolve(len(snap.vms))
        assert all(len(w.instance_ids) <= limit for w in plan.waves)
    assert all(w.instance_ids for w in plan.waves)
    assert [w.index for w in plan.waves] == list(range(len(plan.waves)))
    by_id = snap.by_id

    def rank(value: int | str | None) -> tuple[int, int]:
        return (1, 0) if value is None else (0, int(value))

    # Domain order: each wave belongs to one domain; domains never go backwards.
    if strategy in (Strategy.UPDATE_DOMAIN, Strategy.FAULT_DOMAIN, Strategy.ZONE):
        attr = {
            Strategy.UPDATE_DOMAIN: "update_domain",
            Strategy.FAULT_DOMAIN: "fault_domain",
            Strategy.ZONE: "zone",
        }[strategy]
        keys = []
        for wave in plan.waves:
            values = {getattr(by_id[i], attr) for i in wave.instance_ids}
            assert len(values) == 1
            keys.append(rank(values.pop()))
        assert keys == sorted(keys)
    if strategy is Strategy.BATCH:
        worth = domain_worth(snap)
        previous: tuple[tuple[bool, str | None], tuple[int, int]] | None = None
        for wave in plan.waves:
            assert len(wave.instance_ids) <= worth
            if not cross_zone:
                assert len({by_id[i].zone for i in wave.instance_ids}) == 1
            # Within a zone (and the unhealthy-first group), update domains never go back.
            uds = [rank(by_id[i].update_domain) for i in wave.instance_ids]
            assert uds == sorted(uds)
            first = wave.label.startswith("unhealthy")
            zone = by_id[wave.instance_ids[0]].zone if not cross_zone else None
            if previous is not None and previous[0] == (first, zone):
                assert previous[1] <= uds[0]
            previous = ((first, zone), uds[-1])


def test_busy_vms_are_skipped_so_nothing_is_upgraded_twice() -> None:
    vms = [vm_json(0), vm_json(1, prov="updating"), vm_json(2, power="starting")]
    plan = build_plan(snapshot(vms), Strategy.UPDATE_DOMAIN)
    assert plan.targets == ("0",)
    assert {s.reason for s in plan.skipped} == {"busy (updating)", "busy (starting)"}


def test_one_wave_is_one_wave_in_the_summary_and_the_start_line() -> None:
    from vmssdash.core.events import PlanStarted

    plan = build_plan(snapshot(grid(8, uds=1)), Strategy.UPDATE_DOMAIN)
    assert len(plan.waves) == 1
    assert " in 1 wave (" in plan.summary()
    started = PlanStarted(0.0, plan.plan_id, "vmss-t", waves=1, vms=1)
    assert started.text().endswith(": 1 wave, 1 VM")


def test_a_vm_whose_instance_id_is_not_a_number_is_skipped_not_sent() -> None:
    """A malformed answer (instanceId "abc") must end as a skip with its reason, never as an
    id that the API refuses halfway through a run."""
    vm = classify(ScaleSetVM.model_validate(vm_json("abc")))
    reason = skip_reason(vm)
    assert reason is not None and "not a number" in reason
    plan = build_plan(snapshot([vm_json(1), vm_json("abc")]), Strategy.UPDATE_DOMAIN)
    assert plan.targets == ("1",)
