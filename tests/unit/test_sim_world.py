"""The simulated world without HTTP: clock, timed VM transitions, scaling, rolling upgrades."""

from __future__ import annotations

import pytest

from tests.factories import image_patch
from vmssdash.sim.app import create_app
from vmssdash.sim.clock import SimClock
from vmssdash.sim.errors import SimError
from vmssdash.sim.world import Operation, ScaleSet, Vm, World, parse_iso_duration


def make_world(scenario: str = "demo", **kw: object) -> World:
    world: World = create_app(scenario, manual_clock=True, **kw).state.world  # type: ignore[arg-type]
    return world


def tick(world: World, seconds: float) -> None:
    world.clock.advance(seconds)
    world.advance()


def vmss(world: World, name: str) -> ScaleSet:
    found = world.find_scale_set("00000000-0000-0000-0000-000000000000", "vmssdash-demo", name)
    assert found is not None
    return found


def stale(s: ScaleSet) -> list[Vm]:
    return [v for v in s.sorted_vms() if v.applied_gen != s.model_gen]


# --------------------------------------------------------------------------- clock


def test_manual_clock_moves_only_when_advanced() -> None:
    now = [100.0]
    clock = SimClock(manual=True, real=lambda: now[0])
    now[0] += 50
    assert clock.now() == 0.0
    assert clock.advance(7.5) == 7.5
    now[0] += 50
    assert clock.now() == 7.5


def test_running_clock_applies_speed_and_pauses() -> None:
    now = [0.0]
    clock = SimClock(speed=10, real=lambda: now[0])
    now[0] = 2.0
    assert clock.now() == pytest.approx(20.0)
    clock.pause()
    now[0] = 5.0
    assert clock.now() == pytest.approx(20.0)
    clock.resume()
    now[0] = 6.0
    assert clock.now() == pytest.approx(30.0)
    assert clock.real_seconds(100) == pytest.approx(10.0)


def test_iso_durations() -> None:
    assert parse_iso_duration("PT0S") == 0
    assert parse_iso_duration("PT1M30S") == 90
    assert parse_iso_duration("P1DT1H") == 90000
    with pytest.raises(SimError):
        parse_iso_duration("30")


# --------------------------------------------------------------------------- scenarios


def test_demo_scenario_shape() -> None:
    world = make_world()
    web = vmss(world, "vmss-web")
    assert len(web.vms) == 40 and web.upgrade_mode == "Manual"
    assert {v.ud for v in web.vms.values()} == set(range(5))
    assert {v.fd for v in web.vms.values()} == {0, 1, 2}
    assert len(stale(web)) == 8
    ids = sorted(web.vms)
    assert ids != list(range(40)), "instance ids should not be contiguous"
    zonal = vmss(world, "vmss-zonal")
    assert {v.zone for v in zonal.vms.values()} == {"1", "2", "3"}
    assert "/galleries/" in zonal.profile["storageProfile"]["imageReference"]["id"]
    assert vmss(world, "vmss-rolling").upgrade_mode == "Rolling"


def test_scenarios_are_deterministic_per_seed() -> None:
    a, b, c = make_world(seed=1), make_world(seed=1), make_world(seed=2)
    ids = [sorted(vmss(w, "vmss-web").vms) for w in (a, b, c)]
    assert ids[0] == ids[1] and ids[0] != ids[2]
    assert [v.vm_id for v in vmss(a, "vmss-web").sorted_vms()] == [
        v.vm_id for v in vmss(b, "vmss-web").sorted_vms()
    ]


def test_large_scenario_has_several_placement_groups() -> None:
    world = make_world("large")
    large = vmss(world, "vmss-large")
    assert len(large.vms) == 1000
    assert len({v.placement_group for v in large.vms.values()}) == 10


# --------------------------------------------------------------------------- VM actions


def test_restart_poweroff_deallocate_start_transitions() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    vm = s.sorted_vms()[0]
    op = world.start_action(s, "restart", [str(vm.instance_id)], explicit=True)
    assert (vm.provisioning, vm.power) == ("Updating", "starting")
    tick(world, 30)
    assert op.status == "Succeeded" and vm.power == "running"
    op = world.start_action(s, "poweroff", [str(vm.instance_id)], explicit=True)
    assert vm.power == "stopping"
    tick(world, 30)
    assert op.status == "Succeeded" and vm.power == "stopped" and vm.provisioning == "Succeeded"
    op = world.start_action(s, "deallocate", [str(vm.instance_id)], explicit=True)
    assert vm.power == "deallocating"
    tick(world, 30)
    assert vm.power == "deallocated"
    op = world.start_action(s, "start", [str(vm.instance_id)], explicit=True)
    assert vm.power == "starting"
    tick(world, 15)
    assert vm.power == "running" and vm.health == "initializing"
    tick(world, 15)
    assert vm.health == "healthy"


def test_reimage_applies_latest_model_and_bumps_etag() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    vm = stale(s)[0]
    etag = vm.etag
    world.start_action(s, "reimage", [str(vm.instance_id)], explicit=True)
    tick(world, 60)
    assert vm.applied_gen == s.model_gen and vm.etag == etag + 1


def test_delete_instances_requires_ids_and_removes_vms() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    with pytest.raises(SimError) as info:
        world.start_action(s, "delete", None, explicit=False)
    assert info.value.status == 400
    victim = s.sorted_vms()[0].instance_id
    world.start_action(s, "delete", [str(victim)], explicit=True)
    assert s.vms[victim].provisioning == "Deleting"
    assert s.sku["capacity"] == 9
    tick(world, 30)
    assert victim not in s.vms and len(s.vms) == 9
    assert s.sku["capacity"] == 9


def test_concurrent_actions_conflict_until_the_first_ends() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    ids = [str(v.instance_id) for v in stale(s)]
    world.start_action(s, "manualupgrade", ids[:1], explicit=True)
    with pytest.raises(SimError) as info:
        world.start_action(s, "manualupgrade", ids[1:2], explicit=True)
    assert info.value.status == 409
    tick(world, 60)
    world.start_action(s, "manualupgrade", ids[1:2], explicit=True)


def test_protected_vm_refuses_explicit_actions_and_is_skipped_by_star() -> None:
    world = make_world()
    s = vmss(world, "vmss-web")
    protected = next(v for v in s.vms.values() if v.protect_from_scale_set_actions)
    with pytest.raises(SimError) as info:
        world.start_action(s, "restart", [str(protected.instance_id)], explicit=True)
    assert info.value.status == 409 and info.value.code == "OperationNotAllowed"
    world.start_action(s, "restart", ["*"], explicit=False)
    assert protected.busy is None
    assert sum(1 for v in s.vms.values() if v.busy) == 39


def upgrade_first_vm(version: str) -> tuple[World, ScaleSet, Vm, Operation]:
    """vmss-small's model moved to ``version`` and its first VM sent to upgrade."""
    world = make_world("small")
    s = vmss(world, "vmss-small")
    patch = image_patch(version=version)
    world.update_model(s, patch, replace=False)
    vm = s.sorted_vms()[0]
    op = world.start_action(s, "manualupgrade", [str(vm.instance_id)], explicit=True)
    return world, s, vm, op


def test_fail_image_fails_the_operation_and_the_vm() -> None:
    world, s, vm, op = upgrade_first_vm("24.04.202611991-fail")
    tick(world, 60)
    assert op.status == "Failed"
    assert op.error is not None and op.error["code"] == "OSProvisioningTimedOut"
    assert vm.provisioning == "Failed" and vm.failure_code == "OSProvisioningTimedOut"
    assert vm.applied_gen != s.model_gen


def test_bad_image_comes_back_unhealthy_after_warm_up() -> None:
    world, s, vm, op = upgrade_first_vm("24.04.202611990-bad")
    tick(world, 26)
    assert op.status == "Succeeded" and vm.applied_gen == s.model_gen
    tick(world, 30)
    assert vm.health == "unhealthy"


def test_upgrade_fault_injection_is_seeded() -> None:
    outcomes = []
    for _ in range(2):
        world = make_world("small", faults="upgrade-fail=0.5", seed=7)
        s = vmss(world, "vmss-small")
        world.start_action(s, "manualupgrade", ["*"], explicit=True)
        tick(world, 60)
        outcomes.append([v.provisioning for v in s.sorted_vms()])
    assert outcomes[0] == outcomes[1]
    assert "Failed" in outcomes[0] and "Succeeded" in outcomes[0]


# --------------------------------------------------------------------------- model & capacity


def test_scale_out_places_round_robin_and_scale_in_removes_newest() -> None:
    world = make_world()
    s = vmss(world, "vmss-web")
    before = set(s.vms)
    op = world.update_model(s, {"sku": {"capacity": 45}}, replace=False)
    new = [s.vms[i] for i in sorted(set(s.vms) - before)]
    assert len(new) == 5 and all(v.provisioning == "Creating" and v.power is None for v in new)
    assert new[0].instance_id > max(before)
    uds = [sum(1 for v in s.vms.values() if v.ud == u) for u in range(5)]
    assert max(uds) - min(uds) <= 1
    fds = [sum(1 for v in s.vms.values() if v.fd == f) for f in range(3)]
    assert max(fds) - min(fds) <= 1
    tick(world, 60)
    assert op.status == "Succeeded"
    assert all(v.provisioning == "Succeeded" and v.power == "running" for v in new)
    assert all(v.applied_gen == s.model_gen for v in new)
    op = world.update_model(s, {"sku": {"capacity": 40}}, replace=False)
    tick(world, 60)
    assert op.status == "Succeeded" and len(s.vms) == 40
    assert set(s.vms) == before  # the five newest went first
    assert any(v.protect_from_scale_in for v in s.vms.values())


def test_zonal_scale_out_balances_zones() -> None:
    world = make_world()
    s = vmss(world, "vmss-zonal")
    world.update_model(s, {"sku": {"capacity": 21}}, replace=False)
    zones = [sum(1 for v in s.vms.values() if v.zone == z) for z in ("1", "2", "3")]
    assert zones == [7, 7, 7]


def test_model_change_marks_stale_and_bumps_etag_once() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    etag, gen = s.etag, s.model_gen
    patch = image_patch(version="24.04.202612010")
    world.update_model(s, patch, replace=False)
    assert s.etag == etag + 1 and s.model_gen == gen + 1
    assert len(stale(s)) == 10
    tick(world, 10)
    # A no-op PATCH bumps the etag but leaves the VMs current.
    world.update_model(s, {"tags": {"a": "b"}}, replace=False)
    assert s.model_gen == gen + 1


def test_automatic_mode_upgrades_everything_after_a_model_change() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    world.update_model(s, {"properties": {"upgradePolicy": {"mode": "Automatic"}}}, replace=False)
    tick(world, 5)
    patch = image_patch(version="24.04.202612010")
    world.update_model(s, patch, replace=False)
    assert all(v.provisioning == "Updating" for v in s.vms.values())
    tick(world, 60)
    assert not stale(s)


def test_upgrade_mode_casing_is_canonicalised_and_bad_policy_rejected() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    world.update_model(s, {"properties": {"upgradePolicy": {"mode": "rolling"}}}, replace=False)
    assert s.upgrade_mode == "Rolling"
    tick(world, 5)
    bad = {
        "properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 0}}}
    }
    with pytest.raises(SimError) as info:
        world.update_model(s, bad, replace=False)
    assert info.value.status == 400 and info.value.code == "InvalidParameter"


# --------------------------------------------------------------------------- rolling


def _rolling_patch(version: str) -> dict[str, object]:
    return image_patch(version=version)


def test_rolling_upgrade_runs_in_batches_within_update_domains() -> None:
    world = make_world()
    s = vmss(world, "vmss-rolling")
    world.update_model(s, _rolling_patch("24.04.202612010"), replace=False)
    ru = s.rolling
    assert ru is not None and ru.running
    assert ru.total == 10
    seen_batches: list[set[int]] = []
    for _ in range(200):
        busy = {v.instance_id for v in s.vms.values() if v.busy}
        if busy and (not seen_batches or seen_batches[-1] != busy):
            seen_batches.append(busy)
        if not ru.running:
            break
        tick(world, 1)
    assert ru.code == "Completed" and ru.successful == 10 and ru.failed == 0
    for batch in seen_batches:
        assert len(batch) <= 2
        assert len({s.vms[i].ud for i in batch}) == 1
    assert not stale(s)


def test_rolling_upgrade_pauses_between_batches() -> None:
    world = make_world()
    s = vmss(world, "vmss-rolling")
    world.update_model(
        s,
        {
            "properties": {
                "upgradePolicy": {"rollingUpgradePolicy": {"pauseTimeBetweenBatches": "PT1M"}}
            }
        },
        replace=False,
    )
    tick(world, 5)
    world.update_model(s, _rolling_patch("24.04.202612010"), replace=False)
    ru = s.rolling
    assert ru is not None
    while ru.successful < 2:
        tick(world, 0.5)
    finished = world.now
    assert ru.in_progress == 0
    while world.now < finished + 59:
        tick(world, 1)
        assert ru.in_progress == 0, "still pausing"
    tick(world, 2)
    assert ru.in_progress > 0


def test_rolling_upgrade_faults_on_unhealthy_batch() -> None:
    world = make_world()
    s = vmss(world, "vmss-rolling")
    world.update_model(s, _rolling_patch("24.04.202611990-bad"), replace=False)
    tick(world, 120)
    ru = s.rolling
    assert ru is not None and ru.code == "Faulted"
    assert ru.error is not None
    assert ru.error["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert ru.pending == 8


def test_os_rolling_upgrade_cancel() -> None:
    world = make_world()
    s = vmss(world, "vmss-rolling")
    op = world.begin_os_rolling_upgrade(s)
    assert s.rolling is not None and s.rolling.total == 4
    with pytest.raises(SimError):
        world.begin_os_rolling_upgrade(s)
    tick(world, 1)
    cancel = world.cancel_rolling_upgrade(s)
    assert cancel.status == "Succeeded"
    assert op.status == "Succeeded" and s.rolling.code == "Cancelled"
    assert s.rolling.last_action == "Cancel"
    with pytest.raises(SimError) as info:
        world.cancel_rolling_upgrade(s)
    assert info.value.status == 409


def test_scale_in_preempts_an_upgrade_on_the_victims() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    patch = image_patch(version="24.04.202612010")
    world.update_model(s, patch, replace=False)
    tick(world, 5)
    upgrade = world.start_action(s, "manualupgrade", ["*"], explicit=True)
    tick(world, 2)
    world.update_model(s, {"sku": {"capacity": 9}}, replace=False)
    victim = next(v for v in s.vms.values() if v.provisioning == "Deleting")
    tick(world, 60)
    assert victim.instance_id not in s.vms and len(s.vms) == 9
    assert upgrade.status == "Failed"
    assert upgrade.error is not None and upgrade.error["code"] == "OperationPreempted"
    assert world.pending_events == 0


def test_deleting_the_scale_set_removes_it_after_its_vms() -> None:
    world = make_world("small")
    s = vmss(world, "vmss-small")
    world.start_action(s, "restart", None, explicit=False)
    op = world.delete_scale_set(s)
    assert s.provisioning_state == "Deleting"
    with pytest.raises(SimError):
        world.start_action(s, "restart", None, explicit=False)
    tick(world, 60)
    assert op.status == "Succeeded"
    assert s.key not in world.scale_sets


@pytest.mark.parametrize(
    "uri",
    [
        "http://acct.blob.core.windows.net/vhds/x.vhd",
        "https://acct.blob.core.windows.net/x",
        "nope",
    ],
)
def test_bad_vhd_uri_is_invalid_parameter(uri: str) -> None:
    world = make_world("images")
    s = vmss(world, "vmss-vhd")
    body = {
        "properties": {
            "virtualMachineProfile": {"storageProfile": {"osDisk": {"image": {"uri": uri}}}}
        }
    }
    with pytest.raises(SimError) as info:
        world.update_model(s, body, replace=False)
    assert info.value.status == 400 and info.value.target == "osDisk.image.uri"


def test_star_skips_protected_vms_even_in_an_explicit_list() -> None:
    world = make_world()
    s = vmss(world, "vmss-web")
    op = world.start_action(s, "manualupgrade", ["*"], explicit=True)
    protected = next(v for v in s.vms.values() if v.protect_from_scale_set_actions)
    assert protected.busy is None and op.status == "InProgress"


def test_rolling_upgrade_can_prioritise_unhealthy_instances() -> None:
    world = make_world()
    s = vmss(world, "vmss-rolling")
    policy = {"rollingUpgradePolicy": {"prioritizeUnhealthyInstances": True}}
    world.update_model(s, {"properties": {"upgradePolicy": policy}}, replace=False)
    tick(world, 5)
    sick = max(s.vms.values(), key=lambda v: (v.ud, v.instance_id))
    sick.health = "unhealthy"
    world.update_model(s, _rolling_patch("24.04.202612010"), replace=False)
    tick(world, 0.1)
    assert sick.busy == "upgrade"
