"""A simulator harness for the orchestrator tests and benchmark (owner: ORCH).

The simulator runs with a manual clock; the ARM client and the orchestrator get a
``sleep`` that advances that clock instead of waiting, so a 40-VM upgrade takes well
under a second of wall time. Every ``start_action`` on the world is recorded, so tests
can check what was dispatched, in what order, and that no two overlapped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from tests.factories import image_patch
from tests.plugins.sim import scale_set_id
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.sim.app import create_app

BASE = "http://sim.test"


@dataclass
class Call:
    action: str
    ids: list[str]
    at: float
    overlapped: bool


@dataclass
class SimHarness:
    scenario: str = "demo"
    seed: int = 0
    poll_interval: float = 5.0
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = create_app(
            self.scenario,
            manual_clock=True,
            base_url=BASE,
            seed=self.seed,
            faults="off",
            **self.kwargs,
        )
        self.world: Any = self.app.state.world
        self.calls: list[Call] = []
        original = self.world.start_action

        def recording(vmss: Any, action: str, ids: Any, *, explicit: bool) -> Any:
            busy = any(
                not op.done and op.scale_set is vmss and op.kind == "manualupgrade"
                for op in self.world.operations.values()
            )
            self.calls.append(Call(action, [str(i) for i in (ids or [])], self.world.now, busy))
            return original(vmss, action, ids, explicit=explicit)

        self.world.start_action = recording
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)
        self.client = ArmClient(
            BASE,
            transport=httpx.ASGITransport(app=self.app),
            sleep=self.sleep,
            clock=self.clock,
            poll_interval=self.poll_interval,
        )

    def clock(self) -> float:
        return float(self.world.now)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self.http.post("/_sim/clock/advance", json={"seconds": seconds})

    def api(self, name: str) -> ScaleSetApi:
        return ScaleSetApi(self.client, scale_set_id(name))

    def sim_set(self, name: str) -> Any:
        for vmss in self.world.scale_sets.values():
            if vmss.name == name:
                return vmss
        raise KeyError(name)

    def latest_ids(self, name: str) -> set[str]:
        vmss = self.sim_set(name)
        return {str(i) for i, vm in vmss.vms.items() if vm.applied_gen == vmss.model_gen}

    def upgrade_calls(self) -> list[Call]:
        """The ``manualupgrade`` dispatches, in order."""
        return [c for c in self.calls if c.action == "manualupgrade"]

    def upgrades_per_vm(self) -> dict[str, int]:
        return dict(Counter(i for call in self.upgrade_calls() for i in call.ids))

    async def set_version(self, name: str, version: str) -> None:
        api = self.api(name)
        scale_set = await api.get()
        ref = scale_set.raw["properties"]["virtualMachineProfile"]["storageProfile"][
            "imageReference"
        ]
        platform = {k: ref[k] for k in ("publisher", "offer", "sku")}
        await api.update_model(image_patch(**platform, version=version), etag=scale_set.etag)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
