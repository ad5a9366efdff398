"""SVG snapshots of the main screen against the simulator (fixed seed, clock, size).

Update with ``pytest tests/ui/test_app_snapshots.py --snapshot-update`` and look at every
changed SVG before committing it: an error screen records as happily as a good one.

Issue 17 asks for the dense 1,000-VM layout, the filter, VMs left on an old model after
a run, the row labels and the model pane at 80x24 and 160x48, with and without colour.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.segment import Segment, Segments
from textual.pilot import Pilot

from tests.ui.test_app_sim import dashboard, running_sim
from vmssdash.core.state import VmState
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.model_pane import ModelPane


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    with running_sim("demo") as url:
        yield url


@pytest.fixture(scope="module")
def large_url() -> Iterator[str]:
    with running_sim("large") as url:
        yield url


def no_color(app: VmssDashApp) -> VmssDashApp:
    """The screenshot as a NO_COLOR terminal shows the app: no colour at all, bold, dim,
    italic, underline and reverse kept. (Textual applies its NO_COLOR filter on the way
    to the terminal, which SVG screenshots skip, so the snapshot drops colours itself.)"""

    def export_screenshot(*, title: str | None = None, simplify: bool = False) -> str:
        width, height = app.size
        options: dict[str, Any] = {
            "width": width,
            "height": height,
            "file": io.StringIO(),
            "force_terminal": True,
            "color_system": "truecolor",
            "legacy_windows": False,
            "safe_box": False,
        }
        update = app.screen._compositor.render_update(
            full=True, screen_stack=app._background_screens, simplify=simplify
        )
        console = Console(**options)
        plain = list(Segment.remove_color(console.render(update)))
        recorder = Console(record=True, **options)
        recorder.print(Segments(plain), end="")
        return recorder.export_svg(title=title or app.title)

    app.export_screenshot = export_screenshot  # type: ignore[method-assign]
    return app


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


def after_a_run(base_url: str, *keys: str) -> Any:
    """A new image version, then every stale VM upgraded (as a finished plan leaves the
    set): the deallocated and the protected VM stay on the old model."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, VmssDashApp)
        snap = await app.refresh_snapshot()
        ref = {"imageReference": {"version": "24.04.202611150"}}
        patch = {"properties": {"virtualMachineProfile": {"storageProfile": ref}}}
        async with httpx.AsyncClient(base_url=base_url) as http:
            # The PATCH is followed to its end on the simulator's (manual) clock.
            patched = asyncio.ensure_future(
                app.api.update_model(patch, etag=snap.scale_set.etag, base=snap.scale_set)
            )
            while not patched.done():
                await http.post("/_sim/clock/advance", json={"seconds": 5})
                await asyncio.wait({patched}, timeout=0.05)
            patched.result()
            snap = await app.refresh_snapshot()
            ids = [vm.instance_id for vm in snap.vms if vm.state is VmState.STALE]
            operation = await app.api.begin_manual_upgrade(ids)
            for _ in range(60):
                await http.post("/_sim/clock/advance", json={"seconds": 10})
                await operation.poll()
                if operation.done:
                    break
            await http.post("/_sim/clock/advance", json={"seconds": 120})  # health settles
        await app.refresh_snapshot()
        await app.refresh_snapshot()  # no change markers left
        app.activity.clear()  # its lines carry request latencies (wall time)
        app.log_activity("run finished: every stale VM upgraded")
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


def with_model_pane() -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, VmssDashApp)
        snap = await app.refresh_snapshot()
        pane = ModelPane(app.api, snap.scale_set)
        await app.push_screen(pane)
        for _ in range(500):
            if pane.known_versions:
                break
            await pilot.pause(0.01)
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


def test_demo_filter_80x24_no_color(snap_compare: Any, demo_url: str) -> None:
    app = no_color(dashboard(demo_url, "vmss-web"))
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=loaded("slash", *"state:stale", "enter")
    )


def test_demo_bad_filter_refused_160x48_no_color(snap_compare: Any) -> None:
    keys = ("slash", *"ud:1", "enter", "slash", "end", *"x", "enter")
    with running_sim("demo") as url:  # its own: "reads left" depends on earlier reads
        app = no_color(dashboard(url, "vmss-web"))
        assert snap_compare(app, terminal_size=(160, 48), run_before=loaded(*keys))


def test_after_a_run_80x24_no_color(snap_compare: Any) -> None:
    with running_sim("demo") as url:
        app = no_color(dashboard(url, "vmss-web"))
        assert snap_compare(app, terminal_size=(80, 24), run_before=after_a_run(url))


def test_after_a_run_160x48(snap_compare: Any) -> None:
    with running_sim("demo") as url:
        app = dashboard(url, "vmss-web")
        assert snap_compare(app, terminal_size=(160, 48), run_before=after_a_run(url, "D"))


def test_large_1000_vms(snap_compare: Any, large_url: str) -> None:
    app = dashboard(large_url, "vmss-large")
    assert snap_compare(app, terminal_size=(100, 32), run_before=loaded("end"))


def test_large_dense_160x48(snap_compare: Any, large_url: str) -> None:
    app = dashboard(large_url, "vmss-large")
    keys = ("D", "down", "down", "space", "shift+right", "shift+right")
    assert snap_compare(app, terminal_size=(160, 48), run_before=loaded(*keys))


def test_large_dense_160x48_no_color(snap_compare: Any, large_url: str) -> None:
    app = no_color(dashboard(large_url, "vmss-large"))
    keys = ("D", "slash", *"ud:2", "enter", "end")
    assert snap_compare(app, terminal_size=(160, 48), run_before=loaded(*keys))


def test_large_dense_80x24_no_color(snap_compare: Any, large_url: str) -> None:
    app = no_color(dashboard(large_url, "vmss-large"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded("D", "down", "space"))


def test_old_cells_80x24_no_color(snap_compare: Any) -> None:
    """Every cell read 20 s ago, past the target: faint, ``·``, counted in the legend."""
    now = [100.0]
    with running_sim("demo") as url:
        app = no_color(dashboard(url, "vmss-web", client_kw={"clock": lambda: now[0]}))

        async def run_before(pilot: Pilot[None]) -> None:
            await loaded()(pilot)
            now[0] += 20
            app.show_state()
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_model_pane_80x24(snap_compare: Any, demo_url: str) -> None:
    app = dashboard(demo_url, "vmss-web")
    assert snap_compare(app, terminal_size=(80, 24), run_before=with_model_pane())


def test_model_pane_160x48_no_color(snap_compare: Any, demo_url: str) -> None:
    app = no_color(dashboard(demo_url, "vmss-web"))
    assert snap_compare(app, terminal_size=(160, 48), run_before=with_model_pane())
