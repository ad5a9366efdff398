"""Rehearsal: the real set is read with GETs only, copied into the embedded simulator,
and the plan runs there; the copy can be saved and served from a file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from tests.integration.orch_harness import BASE, SimHarness
from tests.plugins.sim import scale_set_id
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.events import RunState
from vmssdash.core.steps import parse_steps
from vmssdash.rehearsal import read_source, rehearse, scenario_of, with_version
from vmssdash.sim import scenario_file
from vmssdash.sim.app import create_app

BAD_LATE = "24.04.202611989-bad-late"
GOOD = "24.04.202611150"
SET = "vmss-web"


class Recording(httpx.AsyncBaseTransport):
    """Every request that reached the source, by method."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.methods: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.methods[request.method] += 1
        return await self.inner.handle_async_request(request)


async def _read(h: SimHarness) -> tuple[object, Recording]:
    wire = Recording(httpx.ASGITransport(app=h.app))
    async with ArmClient(BASE, transport=wire, read_only=True) as client:
        snapshot = await read_source(ScaleSetApi(client, scale_set_id(SET)))
    return snapshot, wire


async def test_rehearsal_halts_in_the_bake_and_sends_only_reads_to_the_source() -> None:
    async with SimHarness("demo") as h:
        await h.set_version(SET, BAD_LATE)
        h.calls.clear()
        snapshot, wire = await _read(h)
        scenario = scenario_of(snapshot)  # type: ignore[arg-type]
        rehearsal = await rehearse(scenario, parse_steps("canary 1, bake PT2M, ud"))
        assert set(wire.methods) == {"GET"}
        assert h.calls == []  # the source saw no action at all
        assert rehearsal.result.state is RunState.HALTED
        assert "bake PT2M after wave 1 (canary)" in rehearsal.result.reason
        assert len(rehearsal.result.upgraded) == 1
        assert rehearsal.requests["POST"] == 1  # one manualupgrade: the canary
        text = "\n".join(rehearsal.lines())
        assert "wave 1 (canary): 1 VMs" in text and "then bake PT2M" in text
        assert "API calls it took" in text and "Simulated duration" in text


async def test_a_good_image_rehearses_to_the_end_on_the_same_topology(tmp_path: Path) -> None:
    async with SimHarness("demo") as h:
        await h.set_version(SET, GOOD)
        snapshot, _ = await _read(h)
        scenario = scenario_of(snapshot)  # type: ignore[arg-type]
        rehearsal = await rehearse(scenario, parse_steps("canary 1, bake PT2M, ud"))
        assert rehearsal.result.state is RunState.COMPLETED, rehearsal.result.reason
        assert sorted(rehearsal.result.upgraded, key=int) == sorted(rehearsal.plan.targets, key=int)
        assert rehearsal.seconds >= 120
        # Saved, the copy serves the same VMs in the same domains.
        path = tmp_path / "rehearsal.json"
        scenario_file.save(scenario, path)
        app = create_app(scenario_file.load(path), manual_clock=True, base_url=BASE)
        async with ArmClient(BASE, transport=httpx.ASGITransport(app=app)) as client:
            copy = await read_source(ScaleSetApi(client, scale_set_id(SET)))
        layout = {
            (v.instance_id, v.update_domain, v.fault_domain, v.latest_model) for v in copy.vms
        }
        source = {
            (v.instance_id, v.update_domain, v.fault_domain, v.latest_model)
            for v in snapshot.vms  # type: ignore[attr-defined]
        }
        assert layout == source


async def test_an_image_change_can_be_rehearsed_before_it_is_made() -> None:
    async with SimHarness("small") as h:
        wire = Recording(httpx.ASGITransport(app=h.app))
        async with ArmClient(BASE, transport=wire, read_only=True) as client:
            snapshot = await read_source(ScaleSetApi(client, scale_set_id("vmss-small")))
        scenario = with_version(scenario_of(snapshot), "24.04.202612010")
        assert all(not vm.latest for vm in scenario.sets[0].vms)
        rehearsal = await rehearse(scenario, parse_steps("canary 1, bake PT1M, batch 50%, ud"))
        assert rehearsal.result.state is RunState.COMPLETED, rehearsal.result.reason
        assert len(rehearsal.plan.targets) == 10
        assert set(wire.methods) == {"GET"} and h.upgrade_calls() == []
