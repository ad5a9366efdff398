"""The heatmap: one cell per VM, one (wrapped) row per domain, on Textual's Line API.

A widget per VM stops scaling at a few hundred cells, and DataTable repaints itself
whole on every cell update. This widget keeps one cached ``Strip`` per screen line and,
when a snapshot arrives with the same layout, refreshes only the regions of the cells
whose facts changed (plus the cells that carried last refresh's change marker).

Two layouts, switched with ``D``. Roomy: a label column (domain name and "●done/total",
the VMs up to date of all) followed by cells two columns wide: the state glyph, then a
marker (``*`` marked, ``Δ`` changed since the previous refresh, ``~`` still on the old
model although not shown as stale: deallocated, stopped, protected, unhealthy, failed;
``·`` read longer ago than the freshness target).
Dense: one column per cell (no marker column) and, with several placement groups, their
blocks side by side, so 1,000 VMs fit one screen. Colour is never the only signal: the
glyph carries the state (``-`` filtered out), text styles carry cursor (reverse), marks
(bold underline) and old readings (faint, in both layouts).

What a row and a cell show is in ``heatmap_cells``, how a line is painted (styles and
segments) in ``heatmap_paint``, the geometry in ``heatmap_layout``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.cells import cell_len
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmssdash.core.snapshot import Group, Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmInfo, VmState
from vmssdash.ui.heatmap_cells import (
    Matcher,
    Rows,
    label_text,
    row_name,
    rows_of,
    state_class,
)
from vmssdash.ui.heatmap_layout import Layout, build_layout
from vmssdash.ui.heatmap_news import CursorMoved, SelectionChanged
from vmssdash.ui.heatmap_paint import Painter

#: The heatmap draws its own scroll bar in its last column: Textual's scroll bar widget
#: is a second widget on every line, cut and composited on every full repaint.
SCROLL_W = 1
BULK_REPAINT = 48


class Heatmap(ScrollView, can_focus=True):
    """Every VM of a snapshot as a glyph; cursor, marks, filter, change markers."""

    COMPONENT_CLASSES = {
        *(state_class(s) for s in VmState),
        "heatmap--label",
        "heatmap--heading",
        "heatmap--cursor",
        "heatmap--marked",
        "heatmap--changed",
        "heatmap--dim",
        "heatmap--old",
        "heatmap--scrollbar",
        "heatmap--scrollbar-thumb",
    }

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="heatmap.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="heatmap.down"),
        Binding("left,h", "cursor_left", "Left", show=False, id="heatmap.left"),
        Binding("right,l", "cursor_right", "Right", show=False, id="heatmap.right"),
        Binding("home", "cursor_first", "First", show=False, id="heatmap.first"),
        Binding("end", "cursor_last", "Last", show=False, id="heatmap.last"),
        Binding(
            "shift+left",
            "mark_range('left')",
            "Move and mark ←",
            show=False,
            id="heatmap.range-left",
        ),
        Binding(
            "shift+right",
            "mark_range('right')",
            "Move and mark →",
            show=False,
            id="heatmap.range-right",
        ),
        Binding(
            "shift+up", "mark_range('up')", "Move and mark ↑", show=False, id="heatmap.range-up"
        ),
        Binding(
            "shift+down",
            "mark_range('down')",
            "Move and mark ↓",
            show=False,
            id="heatmap.range-down",
        ),
        Binding("space", "toggle_mark", "Mark", id="heatmap.mark"),
        Binding("u", "mark_domain", "Mark row", id="heatmap.mark-domain"),
        Binding("s", "mark_stale", "Mark stale", id="heatmap.mark-stale"),
        Binding("escape,ctrl+backslash", "clear_marks", "Clear", show=False, id="heatmap.clear"),
        Binding("D", "toggle_dense", "Dense/roomy", show=False, id="heatmap.dense"),
    ]

    cursor: var[int] = var(0, always_update=False)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.snapshot: ScaleSetSnapshot | None = None
        self.grouping = Grouping.UPDATE_DOMAIN
        self.dense = False
        self.marked: set[str] = set()
        self.changed: frozenset[str] = frozenset()
        #: The VMs whose reading is older than the freshness target (``set_old``).
        self.old: frozenset[str] = frozenset()
        self.matcher: Matcher | None = None
        #: The text of the filter in effect ("" for none): what the header shows.
        self.filter_text = ""
        self._match_key: tuple[int, int] = (0, 0)
        self._matches = 0
        self._groups: list[Group] = []
        self._prepared: Mapping[Grouping, Rows] | None = None
        self._structure: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self._layout = Layout()
        self._order: list[VmInfo] = []
        self._index: dict[str, int] = {}
        self._several_pgs = False
        self._label_dims = (4, 1)
        self._layout_width = -1
        self._layout_height = -1
        # Finished screen lines by virtual line index, with whether the scroll thumb is
        # drawn on them; valid for one (scroll_x, width), kept in _cache_for.
        self._cache: dict[int, tuple[bool, Strip]] = {}
        self._cache_for: tuple[int, int] = (-1, -1)
        self.painter = Painter(
            lambda name, partial: self.get_component_rich_style(name, partial=partial),
            lambda: self.rich_style,
        )
        self._cursor_id: str | None = None
        self._dragging = False
        self.lines_rendered = 0

    # ------------------------------------------------------------------ data in

    @property
    def cursor_vm(self) -> VmInfo | None:
        if not self._order:
            return None
        return self._order[min(self.cursor, len(self._order) - 1)]

    @property
    def groups(self) -> list[Group]:
        return self._groups

    @property
    def line_count(self) -> int:
        return len(self._layout.lines)

    @property
    def layout_info(self) -> Layout:
        """The current geometry (tests, and the mouse)."""
        return self._layout

    def update_snapshot(
        self,
        snapshot: ScaleSetSnapshot,
        changed: frozenset[str],
        rows: Mapping[Grouping, Rows] | None = None,
    ) -> None:
        """Show a new snapshot, repainting only changed cells when the layout holds.

        ``rows`` (from ``prepare_rows``, made off the loop) saves grouping the VMs here.
        """
        previous_changed = self.changed
        self.snapshot = snapshot
        self.changed = changed
        self._prepared = rows
        present = snapshot.by_id
        if self.marked and self.marked - present.keys():
            self.marked &= present.keys()
            self.post_message(SelectionChanged(frozenset(self.marked)))
        current = self._rows(snapshot, self.grouping)
        self._groups = current.groups
        if current.structure != self._structure or self._layout_width != self._width():
            self._structure = current.structure
            self._relayout()
            return
        self._order = current.order
        self._repaint(changed | previous_changed)
        if self.cursor_vm is not None and self.cursor_vm.instance_id in changed:
            self.post_message(CursorMoved(self.cursor_vm))

    def _rows(self, snapshot: ScaleSetSnapshot, grouping: Grouping) -> Rows:
        prepared = self._prepared.get(grouping) if self._prepared is not None else None
        return prepared if prepared is not None else rows_of(snapshot, grouping)

    def set_old(self, ids: frozenset[str]) -> None:
        """Draw these VMs' cells as read too long ago (faint, ``·`` in the marker column)."""
        if ids != self.old:
            flipped = ids ^ self.old
            self.old = ids
            self._repaint(flipped)

    def set_grouping(self, grouping: Grouping) -> None:
        self.grouping = grouping
        if self.snapshot is not None:
            current = self._rows(self.snapshot, grouping)
            self._groups = current.groups
            self._structure = current.structure
            self._relayout()

    def set_dense(self, dense: bool) -> None:
        self.dense = dense
        self.painter.clear_cells()  # one column per cell: no marker column
        if self.snapshot is not None:
            self._relayout()

    def action_toggle_dense(self) -> None:
        self.set_dense(not self.dense)

    def set_filter(self, matcher: Matcher | None, text: str = "") -> None:
        self.matcher = matcher
        self.filter_text = text if matcher is not None else ""
        self._cache.clear()
        self.refresh()

    def matches(self, vm: VmInfo) -> bool:
        return self.matcher is None or self.matcher(vm)

    def match_count(self) -> int | None:
        """How many VMs the filter shows (None without one), counted once per snapshot."""
        if self.matcher is None or self.snapshot is None:
            return None
        key = (id(self.snapshot), id(self.matcher))
        if key != self._match_key:
            self._match_key = key
            self._matches = sum(1 for vm in self.snapshot.vms if self.matcher(vm))
        return self._matches

    # ------------------------------------------------------------------ marks

    def set_marks(self, ids: Iterable[str]) -> None:
        self.marked = set(ids)
        self._marks_changed()

    def _marks_changed(self) -> None:
        self._cache.clear()
        self.refresh()
        self.post_message(SelectionChanged(frozenset(self.marked)))

    def action_toggle_mark(self) -> None:
        vm = self.cursor_vm
        if vm is None:
            return
        self.marked.symmetric_difference_update({vm.instance_id})
        self._refresh_vm(vm.instance_id)
        self.post_message(SelectionChanged(frozenset(self.marked)))

    def domain_of_cursor(self) -> Group | None:
        if not self._order:
            return None
        return self._groups[self._layout.group_of(self.cursor)]

    def action_mark_domain(self) -> None:
        """Mark the whole row under the cursor, or unmark it when it is all marked."""
        group = self.domain_of_cursor()
        if group is None:
            return
        ids = {vm.instance_id for vm in group.vms if self.matches(vm)}
        if ids <= self.marked:
            self.marked -= ids
        else:
            self.marked |= ids
        self._marks_changed()

    def action_mark_stale(self) -> None:
        if self.snapshot is None:
            return
        self.marked |= {
            vm.instance_id
            for vm in self.snapshot.vms
            if vm.latest_model is False and self.matches(vm)
        }
        self._marks_changed()

    def action_mark_range(self, direction: str) -> None:
        """Shift+arrow (k9s's range mark): move, and mark the VM left and the VM reached,
        so the marks follow the path the cursor took (filtered-out VMs excepted)."""
        if not self._order:
            return
        move = {
            "left": self.action_cursor_left,
            "right": self.action_cursor_right,
            "up": self.action_cursor_up,
            "down": self.action_cursor_down,
        }.get(direction)
        if move is None:
            return
        before = self._order[self.cursor]
        move()
        after = self._order[self.cursor]
        self.marked |= {vm.instance_id for vm in (before, after) if self.matches(vm)}
        self._marks_changed()

    def action_clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self._marks_changed()

    # ------------------------------------------------------------------ cursor

    def move_to(self, instance_id: str) -> bool:
        index = self._index.get(instance_id)
        if index is None:
            return False
        self.cursor = index
        return True

    def validate_cursor(self, value: int) -> int:
        if not self._order:
            return 0
        return max(0, min(value, len(self._order) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        if not self._order:
            return
        old = min(old, len(self._order) - 1)
        self._refresh_index(old)
        self._refresh_index(new)
        vm = self._order[new]
        self._cursor_id = vm.instance_id
        self.scroll_to_region(self.region_of(new), animate=False, immediate=True)
        self.post_message(CursorMoved(vm))

    def action_cursor_left(self) -> None:
        self.cursor -= 1

    def action_cursor_right(self) -> None:
        self.cursor += 1

    def action_cursor_first(self) -> None:
        self.cursor = 0

    def action_cursor_last(self) -> None:
        self.cursor = len(self._order) - 1

    def action_cursor_up(self) -> None:
        self._vertical(-1)

    def action_cursor_down(self) -> None:
        self._vertical(+1)

    def _vertical(self, step: int) -> None:
        if not self._order:
            return
        target = self._layout.vertical(self.cursor, step)
        if target is not None:
            self.cursor = target

    # ------------------------------------------------------------------ layout

    def _width(self) -> int:
        """Columns for the label and the cells (the scroll bar column excepted)."""
        width = self.scrollable_content_region.width if self.is_mounted else 0
        return max(1, width - SCROLL_W) if width else 80

    def _height(self) -> int:
        return self.scrollable_content_region.height if self.is_mounted else 0

    def _row_name(self, group: Group) -> str:
        return row_name(group, self._several_pgs)

    def _label_text(self, group: Group) -> str:
        name_w, digits = self._label_dims
        return label_text(group, self._row_name(group), name_w, digits)

    def _relayout(self) -> None:
        width = self._width()
        self._layout_width = width
        self._layout_height = self._height()
        groups = self._groups
        several_pgs = self._several_pgs = len({g.placement_group for g in groups}) > 1
        self._label_dims = (
            max((len(self._row_name(g)) for g in groups), default=4),
            len(str(max((len(g.vms) for g in groups), default=1))),
        )
        label_w = max((cell_len(self._label_text(g)) for g in groups), default=0)
        layout = self._layout = build_layout(
            groups,
            width=width,
            height=self._height(),
            label_w=label_w,
            several_pgs=several_pgs,
            dense=self.dense,
        )
        order = [vm for g in groups for vm in g.vms]
        self._order = order
        self._index = {vm.instance_id: i for i, vm in enumerate(order)}
        self._cache.clear()
        self.virtual_size = Size(layout.width, len(layout.lines))
        keep = self._index.get(self._cursor_id) if self._cursor_id is not None else None
        target = keep if keep is not None else min(self.cursor, max(0, len(order) - 1))
        self.set_reactive(Heatmap.cursor, target)
        if order:
            self._cursor_id = order[target].instance_id
            self.post_message(CursorMoved(order[target]))
            self.call_after_refresh(self._scroll_to_cursor)
        else:
            self.post_message(CursorMoved(None))
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        if self._order:
            self.scroll_to_region(self.region_of(self.cursor), animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        if self.snapshot is None:
            return
        if self._width() != self._layout_width or (
            self.dense and self._height() != self._layout_height
        ):
            self._relayout()

    def cell_at(self, x: int, y: int) -> int | None:
        """Order index of the cell at virtual coordinates, if any."""
        return self._layout.cell_at(x, y)

    def region_of(self, index: int) -> Region:
        """Virtual region of one cell (for tests and mouse hit checks)."""
        y, x = self._layout.where[index]
        return Region(x, y, self._layout.cell_w, 1)

    # ------------------------------------------------------------------ repaint

    def _repaint(self, ids: frozenset[str]) -> None:
        if len(ids) > BULK_REPAINT:
            # Past a few dozen cells one full repaint beats merging hundreds of regions.
            self._cache.clear()
            self.refresh()
        else:
            for iid in ids:
                self._refresh_vm(iid)

    def _refresh_index(self, index: int) -> None:
        if not 0 <= index < len(self._layout.where):
            return
        y, x = self._layout.where[index]
        self._cache.pop(y, None)
        scroll_x, scroll_y = self.scroll_offset
        self.refresh(Region(x - scroll_x, y - scroll_y, self._layout.cell_w, 1))

    def _refresh_vm(self, instance_id: str) -> None:
        index = self._index.get(instance_id)
        if index is None:
            return
        self._refresh_index(index)
        # The row label carries "●done/total" progress, so it may have changed too.
        layout = self._layout
        y, x = layout.label_at[layout.group_of(index)]
        self._cache.pop(y, None)
        scroll_x, scroll_y = self.scroll_offset
        self.refresh(Region(x - scroll_x, y - scroll_y, layout.label_w, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.painter.clear()
        self._cache.clear()

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._refresh_index(self.cursor)

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        self._refresh_index(self.cursor)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        region = self.scrollable_content_region
        width = region.width
        if (scroll_x, width) != self._cache_for:
            self._cache.clear()
            self._cache_for = (scroll_x, width)
        index = y + scroll_y
        thumb = self._thumb(region.height)
        on_thumb = thumb is not None and thumb[0] <= y < thumb[1]
        cached = self._cache.get(index)
        if cached is not None and cached[0] is on_thumb:
            return cached[1]
        cells_w = max(0, width - SCROLL_W)
        base = self.painter.base()
        bar = self._scroll_segment(thumb, on_thumb)
        if 0 <= index < len(self._layout.lines):
            segments, length = self.painter.line_segments(
                self._layout,
                self._groups,
                index,
                label=self._label_text,
                marked=self.marked,
                changed=self.changed,
                old=self.old,
                matcher=self.matcher,
                cursor=self.cursor if self.has_focus else -1,
            )
            self.lines_rendered += 1
        else:
            segments, length = [], 0
        if scroll_x == 0 and length <= cells_w:
            # The usual case, one Strip per line: pad, then the scroll bar.
            if length < cells_w:
                segments.append(Segment(" " * (cells_w - length), base))
            segments.append(bar)
            strip = Strip(segments, width)
        else:
            cells = Strip(segments, length).crop_extend(scroll_x, scroll_x + cells_w, base)
            strip = Strip([*cells, bar], width)
        self._cache[index] = (on_thumb, strip)
        return strip

    def _thumb(self, height: int) -> tuple[int, int] | None:
        """Screen rows [top, bottom) of the scroll bar's thumb; None when all lines fit."""
        total = len(self._layout.lines)
        if height <= 0 or total <= height:
            return None
        size = max(1, round(height * height / total))
        top = round(self.scroll_offset.y * (height - size) / (total - height))
        return top, top + size

    def _scroll_segment(self, thumb: tuple[int, int] | None, on_thumb: bool) -> Segment:
        if thumb is None:
            return Segment(" " * SCROLL_W, self.painter.base())
        return Segment(
            " " * SCROLL_W,
            self.painter.style("heatmap--scrollbar-thumb" if on_thumb else "heatmap--scrollbar"),
        )

    # ------------------------------------------------------------------ mouse

    def _scroll_bar_row(self, event: events.MouseEvent) -> int | None:
        """The row under the pointer when it is on the scroll bar column."""
        offset = event.get_content_offset(self)
        if offset is None or self._thumb(self.scrollable_content_region.height) is None:
            return None
        if offset.x < self.scrollable_content_region.width - SCROLL_W:
            return None
        return offset.y

    def _scroll_to_row(self, row: int) -> None:
        height = self.scrollable_content_region.height
        fraction = min(1.0, max(0.0, row / max(1, height - 1)))
        self.scroll_to(y=round(fraction * self.max_scroll_y), animate=False)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Press on the scroll bar jumps there; dragging keeps scrolling."""
        row = self._scroll_bar_row(event)
        if row is not None:
            self._dragging = True
            self.capture_mouse()
            self._scroll_to_row(row)
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            event.stop()

    def on_click(self, event: events.Click) -> None:
        """Click moves the cursor; a click on the cursor (or ctrl+click) toggles the mark."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        scroll_x, scroll_y = self.scroll_offset
        x, y = offset.x + scroll_x, offset.y + scroll_y
        index = self.cell_at(x, y)
        if index is None:
            row = self._layout.label_piece_at(x, y)
            if row is not None:
                self.cursor = row.first
                self.action_mark_domain()
            return
        if index == self.cursor or event.ctrl:
            self.cursor = index
            self.action_toggle_mark()
        else:
            self.cursor = index

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._scroll_to_row(event.get_content_offset_capture(self).y)
            return
        offset = event.get_content_offset(self)
        scroll_x, scroll_y = self.scroll_offset
        index = None if offset is None else self.cell_at(offset.x + scroll_x, offset.y + scroll_y)
        if index is None:
            self.tooltip = None
            return
        vm = self._order[index]
        extra = f" ({vm.failure_code})" if vm.failure_code else ""
        self.tooltip = f"{vm.name} #{vm.instance_id}: {vm.state.label}{extra}"
