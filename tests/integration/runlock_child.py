"""One headless whole-set upgrade of a scale set through ``core.changes.UpgradePlan``,
as a separate process: ``test_runlock`` runs two of these on one simulator.

Usage: ``python -m tests.integration.runlock_child BASE_URL SET_ID LOCK_DIR JOURNAL_DIR
[hold]``. With ``hold`` it prints ``running`` once its run holds the lock and waits for
a line on stdin before going on. Exit 0 when the run ends, 3 when the lock refused it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.changes import ChangeEvent, RunContext, RunStarted, UpgradePlan
from vmssdash.core.observer import Observer
from vmssdash.core.plan import Strategy, build_plan
from vmssdash.core.runlock import RunLock, RunLockHeldError
from vmssdash.core.snapshot import ScaleSetSnapshot


async def main(base_url: str, set_id: str, lock_dir: Path, journal: Path, hold: bool) -> int:
    now = [0.0]
    async with httpx.AsyncClient(base_url=base_url) as http:

        async def sleep(seconds: float) -> None:
            now[0] += seconds
            await http.post("/_sim/clock/advance", json={"seconds": seconds})

        client = ArmClient(base_url, sleep=sleep, clock=lambda: now[0], poll_interval=1.0)
        api = ScaleSetApi(client, set_id)
        snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
        change = UpgradePlan(build_plan(snapshot, Strategy.UPDATE_DOMAIN), snapshot.image)
        ctx = RunContext(api, api.pacing, Observer(api), journal, RunLock(lock_dir, api.path), 1.0)

        def emit(event: ChangeEvent) -> None:
            if hold and isinstance(event, RunStarted):
                print("running", flush=True)
                sys.stdin.readline()  # blocks the run, lock held, until the test says go

        try:
            outcome = await change.run(ctx, emit)
        except RunLockHeldError as exc:
            print(f"refused: {exc}", flush=True)
            return 3
        finally:
            await client.aclose()
        print(f"done: {outcome.detail}", flush=True)
        return 0


if __name__ == "__main__":
    base, set_id, lock_dir, journal = sys.argv[1:5]
    hold = sys.argv[5:] == ["hold"]
    sys.exit(asyncio.run(main(base, set_id, Path(lock_dir), Path(journal), hold)))
