"""SVG snapshots of the main screen against the simulator (fixed seed, clock, size).

Update with ``pytest tests/ui/test_app_snapshots.py --snapshot-update`` and look at every
changed SVG before committing it: an error screen records as happily as a good one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.test_app_sim import dashboard, running_sim
from vmssdash.ui.app import VmssDashApp


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    with running_sim("demo") as url:
        yield url


@pytest.fixture(scope="module")
def large_url() -> Iterator[str]:
    with running_sim("large") as url:
        yield url


def loaded(*keys: str) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, VmssDashApp)
        await app.refresh_snapshot()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_demo_main_screen(snap_compare: Any, demo_url: str) -> None:
    app = dashboard(demo_url, "vmss-web", identity="user@example.test")
    assert snap_compare(app, terminal_size=(100, 32), run_before=loaded("down", "right", "space"))


def test_demo_80x24(snap_compare: Any, demo_url: str) -> None:
    app = dashboard(demo_url, "vmss-web")
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded("s"))


def test_demo_colorblind_filtered(snap_compare: Any, demo_url: str) -> None:
    app = dashboard(demo_url, "vmss-web")
    app.theme = "okabe-ito"
    assert snap_compare(
        app, terminal_size=(100, 32), run_before=loaded("slash", *"ud:1,2", "enter", "g")
    )


def test_large_1000_vms(snap_compare: Any, large_url: str) -> None:
    app = dashboard(large_url, "vmss-large")
    assert snap_compare(app, terminal_size=(100, 32), run_before=loaded("end"))
