"""Cells whose reading is older than the freshness target look it (issue 11, item 3).

The app runs against the simulator with one driven clock (``SimTime``: the ARM client's
clock and sleep move the simulator's manual clock), so readings age without wall time.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style

from tests.plugins.sim import SimTime
from tests.ui.test_app_sim import dashboard
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.heatmap_cells import OLD, left_behind
from vmssdash.ui.panes import Legend


def legend_text(app: VmssDashApp) -> str:
    return app.query_one(Legend).render().plain


def cells(app: VmssDashApp) -> dict[str, tuple[str, Style]]:
    """Every VM's cell as drawn: its text and the style of its glyph."""
    heatmap = app.heatmap
    scroll_x, scroll_y = heatmap.scroll_offset
    order = [vm.instance_id for group in heatmap.groups for vm in group.vms]
    drawn = {}
    for index, iid in enumerate(order):
        region = heatmap.region_of(index)
        x = region.x - scroll_x
        strip = heatmap.render_line(region.y - scroll_y).crop(x, x + region.width)
        segments = list(strip)
        style = segments[0].style
        assert style is not None
        drawn[iid] = ("".join(s.text for s in segments), style)
    return drawn


def assert_drawn_old(app: VmssDashApp, old: set[str], fresh: dict[str, tuple[str, Style]]) -> None:
    """``old`` faint, with ``·`` where the marker column is free; every other cell
    exactly as ``fresh`` drew it."""
    snapshot = app.snapshot
    assert snapshot is not None
    drawn = cells(app)
    for iid, (text, style) in drawn.items():
        if iid in old:
            assert style.dim, (iid, text, style)
            vm = snapshot.by_id[iid]
            if not (left_behind(vm) or iid in app.heatmap.changed or iid in app.heatmap.marked):
                assert text[1:] == OLD, (iid, text)
        else:
            assert (text, style) == fresh[iid], iid


async def test_cells_read_longer_ago_than_the_target_are_drawn_faint_with_a_dot(
    make_sim: Any,
) -> None:
    sim = make_sim("demo")
    time = SimTime(sim)
    time.now = 100.0
    app = dashboard(sim.base_url, "vmss-web", client_kw={"clock": time.clock, "sleep": time.sleep})
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        snap = await app.refresh_snapshot()  # no change markers left
        await pilot.pause()
        fresh = cells(app)
        assert not any(style.dim for _, style in fresh.values())
        assert not any(text[1:] == OLD for text, _ in fresh.values())
        assert f"{OLD} read" not in legend_text(app)

        # A moment later three VMs are read again, one by one (as a run reads its wave;
        # the others, still young, are not worth a list yet).
        await time.sleep(0.1)
        few = [vm.instance_id for vm in snap.vms[2:5]]
        await app.observer.read_vms(few, newer_than=time.now, reason="test")
        assert "per-VM views" in app.observer.decisions[-1]
        await app.workers.wait_for_complete()
        await pilot.pause()
        target = app.observer.cells_target()
        # Just past the target: every cell but those three is older than it.
        await time.sleep(target - 0.05)
        app.show_state()
        await pilot.pause()
        everyone = set(snap.by_id)
        assert app.heatmap.old == everyone - set(few)
        assert_drawn_old(app, everyone - set(few), fresh)
        assert (
            f"{OLD} read > {target:.0f} s ago or before a change {len(everyone) - 3}"
            in legend_text(app)
        )

        # Nothing read since (as while reads wait for budget): every cell is old, in the
        # dense layout too, where the faint glyph alone says it (no marker column).
        await time.sleep(1)
        app.show_state()
        await pilot.pause()
        assert_drawn_old(app, everyone, fresh)
        await pilot.press("D")
        await pilot.pause()
        assert all(style.dim and len(text) == 1 for text, style in cells(app).values())
        await pilot.press("D")

        # A read makes them fresh again, drawn exactly as before they aged.
        await app.refresh_snapshot()
        await pilot.pause()
        assert app.heatmap.old == frozenset()
        assert cells(app) == fresh
        assert f"{OLD} read" not in legend_text(app)
