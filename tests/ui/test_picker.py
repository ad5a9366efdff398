"""The picker against the simulator over loopback: filter, choose, remember, go back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.factories import SUB
from tests.integration.auth_helpers import scrub_environment
from vmssdash.azure.client import ArmClient
from vmssdash.ui.picker import PickerApp, PickerScreen, load_remembered

RG = "vmssdash-demo"


def rid(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


def _app(base_url: str, **kwargs: Any) -> PickerApp:
    return PickerApp(lambda: ArmClient(base_url, poll_interval=0.01), **kwargs)


async def _wait_for(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _table_rows(screen: PickerScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_single_subscription_lists_scale_sets_filters_and_remembers(
    sim_base_url: str, tmp_path: Path
) -> None:
    app = _app(sim_base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await _wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), "picker")
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        await _wait_for(pilot, lambda: screen.stage == "scale-sets", "scale sets")
        rows = {r[0]: r for r in _table_rows(screen)}
        assert {"vmss-web", "vmss-zonal", "vmss-rolling"} <= set(rows)
        assert rows["vmss-web"][1:] == [RG, "westeurope", "40", "Manual"]
        assert rows["vmss-rolling"][4] == "Rolling"

        await pilot.press(*"roll")
        assert [r[0] for r in _table_rows(screen)] == ["vmss-rolling"]
        await pilot.press("enter")
        await _wait_for(pilot, lambda: app.return_value is not None, "exit")
    assert app.return_value == rid("vmss-rolling")
    remembered = load_remembered()
    assert remembered.resource_id == rid("vmss-rolling")
    assert remembered.subscription == SUB

    # Next time the remembered scale set is already highlighted: Enter picks it.
    again = _app(sim_base_url)
    async with again.run_test(size=(120, 30)) as pilot:
        await _wait_for(
            pilot,
            lambda: isinstance(again.screen, PickerScreen) and again.screen.stage == "scale-sets",
            "scale sets",
        )
        assert isinstance(again.screen, PickerScreen)
        assert again.screen.highlighted_key() == rid("vmss-rolling")
        await pilot.press("down", "up", "enter")
    assert again.return_value == rid("vmss-rolling")


async def test_several_subscriptions_then_back_and_cancel(make_sim: Any) -> None:
    from vmssdash.sim.world import Subscription

    sim = make_sim("demo")
    other = "11111111-1111-1111-1111-111111111111"
    sim.world.add_subscription(
        Subscription(id=other, display_name="Another team", tenant_id=sim.world.tenant_id)
    )
    app = _app(sim.base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await _wait_for(
            pilot,
            lambda: isinstance(app.screen, PickerScreen) and app.screen.stage == "subscriptions",
            "subscriptions",
        )
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        assert sorted(r[0] for r in _table_rows(screen)) == ["Another team", "vmssdash simulator"]
        await pilot.press(*"simul", "enter")
        await _wait_for(pilot, lambda: screen.stage == "scale-sets", "scale sets")
        assert screen.subscription == SUB
        assert len(_table_rows(screen)) >= 3
        await pilot.press("escape")
        await _wait_for(pilot, lambda: screen.stage == "subscriptions", "back to subscriptions")
        await pilot.press("escape")
        await _wait_for(pilot, lambda: not app.is_running, "exit")
    assert app.return_value is None
