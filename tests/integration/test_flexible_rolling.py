"""Rolling-mode Flexible sets: the server's rolling upgrade, started, watched and cancelled.

Since general availability (Nov 2024) a Flexible set may use the Rolling policy. It has no
update domains, so the simulator's batches go zone by zone and fault domain by fault
domain; its members are VMs read by name through the VM API.
"""

from __future__ import annotations

from typing import Any

from tests.integration.orch_harness import SimHarness
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.events import OrchestratorEvent, RunState
from vmssdash.core.rolling_runner import RollingRunner

FLEX = "vmss-flex"
API = "?api-version=2024-07-01"


async def to_rolling(api: ScaleSetApi, *, batch_percent: int = 34) -> None:
    """Switch the set to the Rolling policy through ARM, as a user would."""
    scale_set = await api.get()
    policy = {"mode": "Rolling", "rollingUpgradePolicy": {"maxBatchInstancePercent": batch_percent}}
    await api.update_model({"properties": {"upgradePolicy": policy}}, etag=scale_set.etag)


def stale_members(vmss: Any) -> set[int]:
    return {i for i, vm in vmss.vms.items() if vm.applied_gen != vmss.model_gen}


async def test_sim_rolls_a_flexible_set_zone_by_zone_and_by_name() -> None:
    async with SimHarness("demo") as h:
        api = h.api(FLEX)
        await to_rolling(api)
        vmss = h.sim_set(FLEX)
        stale = stale_members(vmss)
        assert stale and vmss.flexible
        start = await h.http.post(f"{vmss.id}/osRollingUpgrade{API}")
        assert start.status_code == 202
        assert vmss.rolling is not None
        batches = [[vmss.vms[i] for i in batch] for batch in vmss.rolling.batches]
        # One batch per zone x fault domain (each group is under the batch size): a
        # Flexible set has no update domains to batch by.
        groups = {(vm.zone, vm.fd) for i, vm in vmss.vms.items() if i in stale}
        assert len(batches) == len(groups)
        assert all(len({(vm.zone, vm.fd) for vm in batch}) == 1 for batch in batches)
        assert {vm.instance_id for batch in batches for vm in batch} == stale
        for _ in range(200):
            latest = (await h.http.get(f"{vmss.id}/rollingUpgrades/latest{API}")).json()
            if latest["properties"]["runningStatus"]["code"] != "RollingForward":
                break
            await h.sleep(15)
        assert latest["properties"]["runningStatus"]["code"] == "Completed"
        assert latest["properties"]["progress"]["successfulInstanceCount"] == len(stale)
        await api.get()
        members = await api.list_vms()
    assert len(members) == len(vmss.vms)
    assert all(vm.instance_id == vm.name and vm.name.startswith(f"{FLEX}_") for vm in members)
    assert all(vm.properties.latest_model_applied is True for vm in members)


async def test_rolling_runner_watches_a_flexible_set_to_the_end() -> None:
    async with SimHarness("demo") as h:
        await to_rolling(h.api(FLEX))
        vmss = h.sim_set(FLEX)
        assert stale_members(vmss)
        events: list[OrchestratorEvent] = []
        result = await RollingRunner(h.api(FLEX), on_event=events.append).run()
        assert result.state is RunState.COMPLETED, result.reason
        assert any(type(e).__name__ == "RollingStatusEvent" for e in events)
        assert not h.upgrade_calls()  # the server upgraded them, not manualupgrade
        assert not stale_members(vmss)
        assert any(op.kind == "osRollingUpgrade" for op in h.world.operations.values())


async def test_rolling_runner_cancels_a_flexible_sets_upgrade() -> None:
    async with SimHarness("demo") as h:
        await to_rolling(h.api(FLEX), batch_percent=10)
        vmss = h.sim_set(FLEX)
        events: list[OrchestratorEvent] = []
        runner: RollingRunner

        def on_event(event: OrchestratorEvent) -> None:
            events.append(event)
            if type(event).__name__ == "RollingStatusEvent" and event.code == "RollingForward":  # type: ignore[attr-defined]
                runner.abort()

        runner = RollingRunner(h.api(FLEX), on_event=on_event)
        result = await runner.run()
        assert result.state is RunState.CANCELLED, result.reason
        assert any(op.kind == "rollingUpgradeCancel" for op in h.world.operations.values())
        assert vmss.rolling is not None and vmss.rolling.code == "Cancelled"
        assert stale_members(vmss)  # cancelled before every batch ran
