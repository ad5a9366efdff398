"""A dispatch that fails, or is refused, never sends a VM twice (issues 12 and 13).

Before every dispatch, the retry after 409 included, the targets are read again and those
already on the latest model or busy are dropped. A 5xx on a dispatch pauses the run with
the reason and leaves the plan open in the journal; resume sends only what Azure never
accepted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.orch_harness import SimHarness
from tests.integration.wrapped_api import Wrapped
from vmssdash.azure.errors import ArmError, ConflictError
from vmssdash.core.events import RunState
from vmssdash.core.journal import find_unfinished, read_records
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import BatchSize, Plan, Strategy, build_plan

GOOD = "24.04.202611150"


async def _plan(h: SimHarness, name: str, count: int) -> Plan:
    from vmssdash.core.snapshot import ScaleSetSnapshot

    api = h.api(name)
    snap = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    return build_plan(snap, Strategy.BATCH, batch=BatchSize(count=count))


class ServerErrorApi(Wrapped):
    """The first dispatch answers 500, after Azure took it (``accepted``) or before."""

    def __init__(self, api: Any, *, accepted: bool) -> None:
        super().__init__(api)
        self.accepted = accepted
        self.failed = False

    async def begin_manual_upgrade(self, ids: Any) -> Any:
        if not self.failed:
            self.failed = True
            if self.accepted:
                await self.api.begin_manual_upgrade(ids)
            raise ArmError("Encountered internal server error.", status=500)
        return await self.api.begin_manual_upgrade(ids)


@pytest.mark.parametrize("accepted", [True, False], ids=["taken-by-azure", "never-taken"])
async def test_a_5xx_on_dispatch_pauses_and_resume_sends_only_what_was_not_taken(
    tmp_path: Path, accepted: bool
) -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(h, "vmss-small", 3)
        api = ServerErrorApi(h.api("vmss-small"), accepted=accepted)
        orch = Orchestrator(api, plan, journal_dir=tmp_path)
        run = asyncio.ensure_future(orch.run())
        for _ in range(10_000):
            if orch.state is RunState.PAUSED or run.done():
                break
            await asyncio.sleep(0)
        assert orch.state is RunState.PAUSED, orch.reason
        assert "dispatch of wave 1 failed" in orch.reason and "internal server error" in orch.reason
        # The plan stays open: a crash now would resume it, not forget it.
        assert orch.journal is not None
        assert not any(r["kind"] == "finished" for r in read_records(orch.journal.path))
        assert find_unfinished(tmp_path, plan.scale_set_id) is not None
        if accepted:
            await h.sleep(3.0)  # Azure is upgrading the wave meanwhile
        orch.resume()
        result = await run
        assert result.state is RunState.COMPLETED, result.reason
        assert h.upgrades_per_vm() == dict.fromkeys(plan.targets, 1)
        # Wave 1 went to Azure once: by the failed call, or by the one after resume.
        assert h.upgrade_calls()[0].ids == list(plan.waves[0].instance_ids)


class OthersUpgradeApi(Wrapped):
    """The first dispatch is refused with 409 because someone else is upgrading one VM of
    the wave; that VM is on the latest model by the retry."""

    def __init__(self, api: Any, h: SimHarness) -> None:
        super().__init__(api)
        self.h = h
        self.refused = False
        self.taken: str | None = None

    async def begin_manual_upgrade(self, ids: Any) -> Any:
        if not self.refused:
            self.refused = True
            self.taken = next(iter(ids))
            await self.api.begin_manual_upgrade([self.taken])  # the other engineer's call
            raise ConflictError("another operation is in progress", status=409)
        return await self.api.begin_manual_upgrade(ids)


async def test_the_retry_after_409_drops_vms_already_upgraded_or_busy() -> None:
    async with SimHarness("small") as h:
        await h.set_version("vmss-small", GOOD)
        plan = await _plan(h, "vmss-small", 3)
        api = OthersUpgradeApi(h.api("vmss-small"), h)
        result = await Orchestrator(api, plan, conflict_retries=10).run()
        assert result.state is RunState.COMPLETED, result.reason
        assert api.taken is not None
        # Retries refused with 409 while the other upgrade runs take nothing; of the calls
        # Azure took, the wave's went out once, without the VM the other call upgraded.
        taken = [c.ids for c in h.upgrade_calls() if not c.overlapped]
        wave = list(plan.waves[0].instance_ids)
        assert taken[0] == [api.taken]
        assert taken[1] == [i for i in wave if i != api.taken]
        assert Counter(i for ids in taken for i in ids) == Counter(plan.targets)
