"""The heatmap widget on its own: layout, wrapping, partial repaint, mouse, glyphs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot

from tests.ui.fakeapi import make_api
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmState
from vmssdash.ui.heatmap import Heatmap
from vmssdash.ui.heatmap_cells import CHANGED, MARK
from vmssdash.ui.heatmap_layout import CELL_W


def snapshot_of(api: Any) -> ScaleSetSnapshot:
    return ScaleSetSnapshot.build(
        ScaleSet.from_json(api.scale_set), [ScaleSetVM.from_json(v) for v in api.vms]
    )


class HeatmapApp(App[None]):
    CSS_PATH = "../../vmssdash/ui/app.tcss"

    def compose(self) -> ComposeResult:
        yield Heatmap(id="heatmap")

    def on_mount(self) -> None:
        self.query_one(Heatmap).focus()


@asynccontextmanager
async def shown(api: Any, size: tuple[int, int]) -> AsyncIterator[tuple[Pilot[None], Heatmap]]:
    """A heatmap alone on screen, showing ``api``'s scale set."""
    app = HeatmapApp()
    async with app.run_test(size=size) as pilot:
        hm = app.query_one(Heatmap)
        hm.update_snapshot(snapshot_of(api), frozenset())
        await pilot.pause()
        yield pilot, hm


def line_texts(hm: Heatmap) -> list[str]:
    return [hm.render_line(y).text for y in range(hm.size.height)]


async def test_rows_wrap_when_a_domain_is_wider_than_the_screen() -> None:
    api = make_api(200, uds=2)
    async with shown(api, (60, 40)) as (_pilot, hm):
        per_line = (hm.scrollable_content_region.width - hm.layout_info.label_w) // CELL_W
        assert per_line > 10
        lines_per_ud = -(-100 // per_line)
        assert hm.line_count == 2 * lines_per_ud
        texts = line_texts(hm)
        assert texts[0].startswith("UD 0")
        assert texts[1].startswith(" " * hm.layout_info.label_w)  # continuation line: no label
        assert texts[lines_per_ud].startswith("UD 1")
        # Down from the last line of UD 0 lands on UD 1's first line, same column.
        hm.cursor = per_line * (lines_per_ud - 1)
        hm.action_cursor_down()
        assert hm.cursor_vm is not None and hm.cursor_vm.update_domain == 1


async def test_placement_groups_get_headings() -> None:
    api = make_api(60, uds=3, pgs=2)
    async with shown(api, (80, 20)) as (_pilot, hm):
        texts = [t.rstrip() for t in line_texts(hm)]
        headings = [t for t in texts if t.startswith("placement group")]
        assert headings == ["placement group pg00-0000-0000", "placement group pg01-0000-0000"]
        # Cursor movement skips the heading line.
        hm.cursor = 0
        for _ in range(3):
            hm.action_cursor_down()
        assert hm.cursor_vm is not None and hm.cursor_vm.placement_group == "pg01-0000-0000"


async def test_one_changed_vm_repaints_only_its_cell_and_label() -> None:
    api = make_api(1000, uds=5)
    async with shown(api, (100, 40)) as (pilot, hm):
        regions: list[Region] = []
        original = hm.refresh

        def spy(*regions_: Region, **kw: Any) -> Any:
            regions.extend(regions_)
            if not regions_:
                regions.append(Region(0, 0, 10**6, 10**6))
            return original(*regions_, **kw)

        hm.refresh = spy  # type: ignore[method-assign]
        rendered_before = hm.lines_rendered
        api.set_vm(3, prov="updating")
        hm.update_snapshot(snapshot_of(api), frozenset({"3"}))
        await pilot.pause()
        assert len(regions) == 2
        cell, label = regions
        assert (cell.width, cell.height) == (CELL_W, 1)
        assert label.x == 0 and label.width == hm.layout_info.label_w
        assert hm.lines_rendered - rendered_before <= 2
        # The cell shows the new glyph with the change marker...
        index = hm._index["3"]
        y, x = hm.layout_info.where[index]
        assert hm.render_line(y).text[x : x + 2] == VmState.UPDATING.glyph + CHANGED
        # ...for one refresh only: the next snapshot repaints it without the marker.
        regions.clear()
        hm.update_snapshot(snapshot_of(api), frozenset())
        await pilot.pause()
        assert len(regions) == 2
        assert hm.render_line(y).text[x : x + 2] == VmState.UPDATING.glyph + " "


async def test_marks_show_as_text_and_survive_regrouping() -> None:
    api = make_api(40)
    app = HeatmapApp()
    async with app.run_test(size=(80, 20)) as pilot:
        hm = app.query_one(Heatmap)
        hm.update_snapshot(snapshot_of(api), frozenset())
        hm.action_mark_stale()
        await pilot.pause()
        stale = {vm.instance_id for vm in hm.snapshot.vms if vm.latest_model is False}  # type: ignore[union-attr]
        assert hm.marked == stale
        assert MARK in hm.render_line(0).text
        hm.set_grouping(Grouping.FAULT_DOMAIN)
        await pilot.pause()
        assert hm.marked == stale
        assert sum(t.count(MARK) for t in line_texts(hm)) == len(stale)


async def test_click_moves_cursor_and_click_again_marks() -> None:
    api = make_api(40)
    async with shown(api, (80, 20)) as (pilot, hm):
        region = hm.region_of(hm._index["11"])  # UD 1, third cell
        offset = (region.x + hm.gutter.left, region.y + hm.gutter.top)
        await pilot.click(Heatmap, offset=offset)
        assert hm.cursor_vm is not None and hm.cursor_vm.instance_id == "11"
        assert hm.marked == set()
        await pilot.click(Heatmap, offset=offset)
        assert hm.marked == {"11"}
        # Clicking a row label marks the whole row.
        await pilot.click(Heatmap, offset=(hm.gutter.left, region.y + hm.gutter.top + 1))
        assert {str(i) for i in range(2, 40, 5)} <= hm.marked


async def test_every_state_has_a_distinct_glyph() -> None:
    glyphs = [s.glyph for s in VmState]
    assert len(set(glyphs)) == len(glyphs)
    assert all(len(g) == 1 for g in glyphs)


def scroll_column_styles(hm: Heatmap) -> list[str]:
    """The style of the heatmap's last column (its own scroll bar) on each screen row."""
    return [
        str(list(hm.render_line(y))[-1].style) for y in range(hm.scrollable_content_region.height)
    ]


async def test_own_scroll_bar_tracks_scrolling_and_mouse_drags_it() -> None:
    api = make_api(1000, uds=5)
    async with shown(api, (60, 20)) as (pilot, hm):
        height = hm.scrollable_content_region.height
        assert hm.line_count > height
        thumb = hm.painter.style("heatmap--scrollbar-thumb")
        track = hm.painter.style("heatmap--scrollbar")
        assert thumb != track
        top = scroll_column_styles(hm)
        assert top[0] == str(thumb) and top[-1] == str(track)
        # The cells stop one column short of the bar.
        assert (
            hm.layout_info.per_line
            == (hm.scrollable_content_region.width - 1 - hm.layout_info.label_w) // CELL_W
        )
        hm.action_cursor_last()
        await pilot.pause()
        assert hm.scroll_offset.y == hm.max_scroll_y > 0
        bottom = scroll_column_styles(hm)
        assert bottom[0] == str(track) and bottom[-1] == str(thumb)
        # Press on the bar's top row scrolls back to the top; dragging down scrolls down.
        x = hm.gutter.left + hm.scrollable_content_region.width - 1
        await pilot.mouse_down(Heatmap, offset=(x, hm.gutter.top))
        await pilot.pause()
        assert hm.scroll_offset.y == 0
        await pilot.hover(Heatmap, offset=(x, hm.gutter.top + height - 1))
        await pilot.mouse_up(Heatmap, offset=(x, hm.gutter.top + height - 1))
        await pilot.pause()
        assert hm.scroll_offset.y == hm.max_scroll_y


async def test_no_scroll_thumb_when_every_line_fits() -> None:
    api = make_api(40)
    async with shown(api, (80, 20)) as (_pilot, hm):
        assert set(scroll_column_styles(hm)) == {str(hm.painter.base())}
