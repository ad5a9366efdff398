"""Pilot tests of the app against the simulator over a real loopback socket.

The simulator runs on a manual clock: tests move time with ``POST /_sim/clock/advance``
and wait on conditions with bounded loops, never on wall time.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.factories import SUB
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.state import VmState
from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.details_pane import DetailsPane
from vmssdash.ui.screens.confirm import ConfirmScreen


def rid(name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/vmssdash-demo/providers/"
        f"Microsoft.Compute/virtualMachineScaleSets/{name}"
    )


@contextmanager
def running_sim(scenario: str = "demo", **kw: Any) -> Iterator[str]:
    kw.setdefault("manual_clock", True)
    kw.setdefault("seed", 0)
    with serve_in_thread(create_app(scenario, **kw)) as server:
        yield server.base_url


def dashboard(
    base_url: str, name: str, *, client_kw: dict[str, Any] | None = None, **kw: Any
) -> VmssDashApp:
    """The app on a fresh client; the app closes the client when it exits. The client's
    clock (the observer's) stands still unless a test passes its own."""
    client_kw = {"clock": lambda: 100.0, **(client_kw or {})}
    client = ArmClient(base_url, poll_interval=0.05, **client_kw)
    state = Path(tempfile.mkdtemp(prefix="vmssdash-test-"))
    kw.setdefault("journal_dir", state / "journal")
    kw.setdefault("lock_dir", state / "locks")
    return VmssDashApp(
        ScaleSetApi(client, rid(name)),
        clock=lambda: 100.0,
        timestamp=lambda: "12:00:00",
        live=False,
        run_poll_interval=0.05,
        **kw,
    )


async def advance(base_url: str, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/_sim/clock/advance", json={"seconds": seconds})
        response.raise_for_status()


async def test_issue2_mark_ud0_upgrade_and_watch_it_reach_the_latest_model(make_sim: Any) -> None:
    base_url = make_sim("demo").base_url
    app = dashboard(base_url, "vmss-web")
    async with app.run_test(size=(100, 32)) as pilot:
        snap = await app.refresh_snapshot()
        ud0 = {vm.instance_id for vm in snap.vms if vm.update_domain == 0}
        stale0 = {i for i in ud0 if snap.by_id[i].latest_model is False}
        assert stale0, "the demo scenario should have stale VMs in UD 0"
        await pilot.press("home", "u")
        assert app.heatmap.marked == ud0
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        await pilot.pause()
        seen = {i: [snap.by_id[i].state] for i in stale0}
        for _ in range(120):
            await advance(base_url, 5)
            snap = await app.refresh_snapshot()
            for iid in stale0:
                state = snap.by_id[iid].state
                if seen[iid][-1] is not state:
                    seen[iid].append(state)
            if not app.dispatching and all(snap.by_id[i].latest_model for i in ud0):
                break
            await pilot.pause()
        else:
            raise AssertionError(f"UD 0 never reached the latest model: {seen}")
        assert all(snap.by_id[i].latest_model is True for i in ud0)
        for iid, states in seen.items():
            assert states[0] is VmState.STALE, (iid, states)
            assert VmState.UPDATING in states, (iid, states)
        log = "\n".join(str(line) for line in app.activity.lines)
        assert re.search(r"upgrade of (VM \d+|\d+ VMs) in 1 wave requested", log)
        assert "upgrade: Run completed" in log
        assert app.heatmap.marked == set()


async def test_navigation_details_and_filter_on_the_demo_set(make_sim: Any) -> None:
    base_url = make_sim("demo").base_url
    app = dashboard(base_url, "vmss-web")
    async with app.run_test(size=(100, 32)) as pilot:
        snap = await app.refresh_snapshot()
        await pilot.press("down", "right")
        await pilot.pause()
        vm = app.heatmap.cursor_vm
        assert vm is not None and vm.update_domain == 1
        details = app.query_one(DetailsPane).render().plain
        assert f"instance  {vm.instance_id}" in details
        assert vm.computer_name and vm.computer_name in details
        await pilot.press("slash", *"stale", "enter")
        stale = {v.instance_id for v in snap.vms if v.state is VmState.STALE}
        assert {v.instance_id for v in snap.vms if app.heatmap.matches(v)} == stale
        await pilot.press("s")
        assert app.heatmap.marked == {v.instance_id for v in snap.vms if v.latest_model is False}


async def test_large_set_renders_with_placement_groups(make_sim: Any) -> None:
    base_url = make_sim("large").base_url
    app = dashboard(base_url, "vmss-large")
    async with app.run_test(size=(100, 32)) as pilot:
        snap = await app.refresh_snapshot()
        await pilot.pause()
        assert len(snap.vms) == 1000
        assert sum(len(g.vms) for g in app.heatmap.groups) == 1000
        assert len(snap.placement_groups) > 1
        assert app.api.client.request_count <= 2 + -(-1000 // 50)  # GET, aggregate, paged list


async def test_unreachable_endpoint_shows_error_and_keeps_running(make_sim: Any) -> None:
    sim = make_sim("demo")
    base_url = sim.base_url
    app = dashboard(base_url, "vmss-web")
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
    # Stop the server: a new app on the same endpoint must show the error.
    sim.server.stop()

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    app = dashboard(base_url, "vmss-web", client_kw={"sleep": no_wait})
    async with app.run_test(size=(100, 32)) as pilot:
        while app._polling:
            await pilot.pause()
        await pilot.pause()
        assert app.snapshot is None
        assert app.last_error
        log = "\n".join(str(line) for line in app.activity.lines)
        assert "refresh failed" in log
