"""The fleet screen against the simulator: sort, filter, remember, Enter opens the heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import DataTable

from tests.integration.auth_helpers import scrub_environment
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.fleet import FleetApp, FleetScreen
from vmssdash.ui.picker import load_remembered


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


async def _wait_for(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _names(screen: FleetScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def _fleet_screen(app: FleetApp, pilot: Any) -> FleetScreen:
    await _wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), "the fleet screen")
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    await _wait_for(pilot, lambda: screen.fleet is not None, "the fleet")
    return screen


async def test_fleet_sorts_filters_and_enter_opens_the_heatmap(make_sim: Any) -> None:
    sim = make_sim("fleet")
    app = FleetApp(lambda: ArmClient(sim.base_url))
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await _fleet_screen(app, pilot)
        assert len(_names(screen)) == 60
        assert _names(screen) == sorted(_names(screen))

        # `o` steps through the columns; to `stale`, then `O` puts the stalest first.
        while screen.sort_key != "stale":
            await pilot.press("o")
        await pilot.press("O")
        names = _names(screen)
        assert names[:2] == ["vmss-web", "vmss-zonal"]  # 8 and 3 stale VMs
        assert "sorted by stale ▼" in str(screen.query_one("#fleet-title").render())

        await pilot.press("slash", *"is:stale contoso-prod")
        shown = screen.shown
        assert shown and all(r.stale and r.subscription_name == "contoso-prod" for r in shown)
        assert len(_names(screen)) == len(shown) < 60
        await pilot.press("escape")  # clears the filter and hands the keys back
        assert len(_names(screen)) == 60

        await pilot.press("slash", *"vmss-zonal", "enter", "enter")
        await _wait_for(pilot, lambda: app.return_value is not None, "a choice")
    chosen = app.return_value
    assert chosen == sim.resource_id("vmss-zonal")
    assert load_remembered().resource_id == chosen

    # What the CLI does next with the choice: the dashboard on that set, its heatmap drawn.
    dashboard = VmssDashApp(ScaleSetApi(ArmClient(sim.base_url), chosen), live=False)
    async with dashboard.run_test(size=(120, 36)):
        snapshot = await dashboard.refresh_snapshot()
        assert snapshot.scale_set.name == "vmss-zonal"
        drawn = dashboard.heatmap.snapshot
        assert drawn is not None and len(drawn.vms) == 15


async def test_fleet_starts_on_the_remembered_set_and_escape_leaves(make_sim: Any) -> None:
    sim = make_sim("demo")
    first = FleetApp(lambda: ArmClient(sim.base_url))
    async with first.run_test(size=(160, 40)) as pilot:
        await _fleet_screen(first, pilot)
        await pilot.press("down", "down", "enter")  # past vmss-flex and vmss-rolling
    assert first.return_value == sim.resource_id("vmss-web")

    again = FleetApp(lambda: ArmClient(sim.base_url))
    async with again.run_test(size=(160, 40)) as pilot:
        screen = await _fleet_screen(again, pilot)
        assert screen.highlighted_key() == sim.resource_id("vmss-web")
        await pilot.press("escape")
    assert again.return_value is None


def _forbid_resource_graph(base_url: str) -> None:
    httpx.post(f"{base_url}/_sim/resource-graph", json={"mode": "forbidden"}).raise_for_status()


async def test_fleet_says_when_resource_graph_is_forbidden(make_sim: Any) -> None:
    sim = make_sim("demo")
    _forbid_resource_graph(sim.base_url)
    app = FleetApp(lambda: ArmClient(sim.base_url))
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await _fleet_screen(app, pilot)
        status = str(screen.query_one("#fleet-status").render())
        assert "from ARM lists" in status
        assert "Resource Graph is forbidden" in status
        assert _names(screen) == ["vmss-flex", "vmss-rolling", "vmss-web", "vmss-zonal"]
