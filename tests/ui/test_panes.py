"""The Line-API panes repaint only what changed; the activity log never marks rows
outside itself (which would repaint the footer under it)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from tests.ui.fakeapi import make_api
from tests.ui.test_heatmap import snapshot_of
from vmssdash.core.state import VmState
from vmssdash.ui.activity import ActivityLog
from vmssdash.ui.details_pane import DetailsPane
from vmssdash.ui.panes import Legend


class PanesApp(App[None]):
    CSS_PATH = "../../vmssdash/ui/app.tcss"

    def compose(self) -> ComposeResult:
        yield DetailsPane(id="details")
        yield Legend(id="legend")
        yield ActivityLog(id="activity")


def spy_refresh(widget: Any) -> tuple[list[Region], list[bool]]:
    """Record the regions a widget marks dirty, and whether each call asked for layout."""
    regions: list[Region] = []
    layouts: list[bool] = []
    original = widget.refresh

    def spy(*regions_: Region, **kw: Any) -> Any:
        regions.extend(regions_ or [widget.scrollable_content_region.reset_offset])
        layouts.append(bool(kw.get("layout")))
        return original(*regions_, **kw)

    widget.refresh = spy
    return regions, layouts


async def test_details_repaint_only_the_lines_that_differ() -> None:
    api = make_api(40)
    app = PanesApp()
    async with app.run_test(size=(60, 40)) as pilot:
        details = app.query_one(DetailsPane)
        details.show(snapshot_of(api).by_id["2"], "image-a")
        await pilot.pause()
        before = [details.render_line(y).text for y in range(details.size.height)]
        regions, layouts = spy_refresh(details)
        api.set_vm(2, prov="updating")
        details.show(snapshot_of(api).by_id["2"], "image-a")
        await pilot.pause()
        after = [details.render_line(y).text for y in range(details.size.height)]
        differing = {y for y, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
        assert differing, "the VM's state line must change"
        assert not any(layouts)
        assert {r.y for r in regions} == differing
        assert all(r.height == 1 for r in regions)
        # The same VM object again (the heatmap's CursorMoved after the app's own update).
        regions.clear()
        details.show(details.vm, "image-a")
        assert regions == []


async def test_legend_keeps_its_height_when_it_needs_fewer_lines() -> None:
    app = PanesApp()
    async with app.run_test(size=(60, 40)) as pilot:
        legend = app.query_one(Legend)
        many = Counter({state: 3 for state in VmState})
        legend.show(many)
        await pilot.pause()
        tall = legend.size.height
        assert tall >= 2
        _, layouts = spy_refresh(legend)
        legend.show(Counter({VmState.UP_TO_DATE: 40}))
        await pilot.pause()
        assert not any(layouts)  # shrinking pads with blank lines instead of re-laying out
        assert legend.size.height == tall
        assert "up to date 40" in legend.render_line(0).text


async def test_activity_log_marks_only_rows_inside_itself() -> None:
    app = PanesApp()
    async with app.run_test(size=(60, 40)) as pilot:
        log = app.query_one(ActivityLog)
        log.write_lines([f"line {i}" for i in range(50)])
        await pilot.pause()
        assert log.scroll_offset.y > 0
        regions, _ = spy_refresh(log)
        log.write_lines(["one more"])
        await pilot.pause()
        assert regions
        height = log.scrollable_content_region.height
        assert all(r.y >= 0 and r.bottom <= height for r in regions)
        assert log.lines[-1] == "one more"
