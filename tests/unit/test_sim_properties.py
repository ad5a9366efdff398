"""Random interleavings of requests and clock steps never break the world's invariants."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vmssdash.sim.app import create_app
from vmssdash.sim.errors import SimError
from vmssdash.sim.world import World

ACTIONS = ["manualupgrade", "restart", "start", "poweroff", "deallocate", "reimage", "delete"]
VERSIONS = ["24.04.202612010", "24.04.202611150", "24.04.202611990-bad", "24.04.202611991-fail"]

step = st.one_of(
    st.tuples(st.just("tick"), st.floats(min_value=0.1, max_value=40)),
    st.tuples(
        st.just("action"), st.sampled_from(ACTIONS), st.lists(st.integers(0, 30), max_size=4)
    ),
    st.tuples(st.just("image"), st.sampled_from(VERSIONS)),
    st.tuples(st.just("capacity"), st.integers(0, 16)),
    st.tuples(st.just("mode"), st.sampled_from(["Manual", "Automatic", "Rolling"])),
    st.tuples(st.just("rolling"), st.booleans()),
)


def apply(world: World, op: tuple[Any, ...]) -> None:
    s = next(iter(world.scale_sets.values()))
    kind = op[0]
    if kind == "tick":
        world.clock.advance(op[1])
        world.advance()
        return
    try:
        if kind == "action":
            ids = [str(i) for i in op[2]] or None
            world.start_action(s, op[1], ids, explicit=ids is not None)
        elif kind == "image":
            patch = {"storageProfile": {"imageReference": {"version": op[1]}}}
            world.update_model(s, {"properties": {"virtualMachineProfile": patch}}, replace=False)
        elif kind == "capacity":
            world.update_model(s, {"sku": {"capacity": op[1]}}, replace=False)
        elif kind == "mode":
            world.update_model(s, {"properties": {"upgradePolicy": {"mode": op[1]}}}, replace=False)
        elif op[1]:
            world.begin_os_rolling_upgrade(s)
        else:
            world.cancel_rolling_upgrade(s)
    except SimError as err:
        assert err.status in (400, 409), err


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(st.lists(step, max_size=25))
@example([("action", "delete", [1])])
@example([("action", "manualupgrade", [1, 2]), ("tick", 3.0), ("capacity", 4), ("tick", 1.0)])
@example([("image", "24.04.202611990-bad"), ("mode", "Rolling"), ("rolling", True), ("tick", 9.0)])
def test_world_invariants_hold(steps: list[tuple[Any, ...]]) -> None:
    world: World = create_app("small", manual_clock=True).state.world
    for op in steps:
        apply(world, op)
        s = next(iter(world.scale_sets.values()))
        for vm in s.vms.values():
            assert vm.provisioning in ("Succeeded", "Updating", "Creating", "Deleting", "Failed")
            assert (vm.power is None) == (vm.provisioning == "Creating" and vm.power is None)
            assert 0 <= vm.ud < s.ud_count and 0 <= vm.fd < s.fd_count
        if s.rolling is not None:
            ru = s.rolling
            assert ru.successful + ru.failed + ru.in_progress + ru.pending <= max(
                ru.total, 0
            ) + len(s.vms)
    # Let everything settle: nothing is left running, every operation has ended.
    world.clock.advance(5000)
    world.advance()
    s = next(iter(world.scale_sets.values()))
    assert world.pending_events == 0
    assert all(op.done for op in world.operations.values())
    assert all(vm.busy is None for vm in s.vms.values())
    assert len(s.vms) == s.sku["capacity"]
    assert s.provisioning_state == "Succeeded"
    assert s.rolling is None or not s.rolling.running
