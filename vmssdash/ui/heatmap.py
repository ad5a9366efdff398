"""The heatmap: one cell per VM, one (wrapped) row per domain, on Textual's Line API.

A widget per VM stops scaling at a few hundred cells, and DataTable repaints itself
whole on every cell update. This widget keeps one cached ``Strip`` per screen line and,
when a snapshot arrives with the same layout, refreshes only the regions of the cells
whose facts changed (plus the cells that carried last refresh's change marker).

Layout: a label column (domain name and "done/total" progress) followed by cells two
columns wide: the state glyph, then a marker (``*`` marked, ``Δ`` changed since the
previous refresh). Colour is never the only signal: the glyph carries the state, text
styles carry cursor (reverse) and marks (bold underline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmssdash.core.snapshot import Group, Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmInfo, VmState
from vmssdash.ui.heatmap_news import CursorMoved, SelectionChanged

CELL_W = 2
#: The heatmap draws its own scroll bar in its last column: Textual's scroll bar widget
#: is a second widget on every line, cut and composited on every full repaint.
SCROLL_W = 1
BULK_REPAINT = 48
MARK = "*"
CHANGED = "Δ"
Matcher = Callable[[VmInfo], bool]


def state_class(state: VmState) -> str:
    return f"heatmap--{state.value}"


@dataclass(frozen=True, slots=True)
class Rows:
    """One grouping's rows, their VMs in screen order, and the layout's identity."""

    groups: list[Group]
    order: list[VmInfo]
    structure: tuple[tuple[str, tuple[str, ...]], ...]


def rows_of(snapshot: ScaleSetSnapshot, grouping: Grouping) -> Rows:
    groups = snapshot.groups(grouping)
    return Rows(
        groups,
        [vm for g in groups for vm in g.vms],
        tuple((g.label, tuple(v.instance_id for v in g.vms)) for g in groups),
    )


def prepare_rows(snapshot: ScaleSetSnapshot) -> dict[Grouping, Rows]:
    """Every grouping's rows: pure, so the poll worker runs it in a thread and the event
    loop only compares and paints (grouping 1,000 VMs costs ~1 ms per grouping)."""
    return {grouping: rows_of(snapshot, grouping) for grouping in Grouping}


@dataclass(frozen=True, slots=True)
class _Line:
    """One screen line: a placement-group heading or a slice of one group's cells."""

    group: int
    start: int
    stop: int
    first: int  # order index of the first cell on this line
    heading: str = ""

    @property
    def is_heading(self) -> bool:
        return self.group < 0


class Heatmap(ScrollView, can_focus=True):
    """Every VM of a snapshot as a glyph; cursor, marks, filter dimming, change markers."""

    COMPONENT_CLASSES = {
        *(state_class(s) for s in VmState),
        "heatmap--label",
        "heatmap--heading",
        "heatmap--cursor",
        "heatmap--marked",
        "heatmap--changed",
        "heatmap--dim",
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
            "shift+left", "mark_range('left')", "Mark range ←", show=False, id="heatmap.range-left"
        ),
        Binding(
            "shift+right",
            "mark_range('right')",
            "Mark range →",
            show=False,
            id="heatmap.range-right",
        ),
        Binding("shift+up", "mark_range('up')", "Mark range ↑", show=False, id="heatmap.range-up"),
        Binding(
            "shift+down", "mark_range('down')", "Mark range ↓", show=False, id="heatmap.range-down"
        ),
        Binding("space", "toggle_mark", "Mark", id="heatmap.mark"),
        Binding("u", "mark_domain", "Mark row", id="heatmap.mark-domain"),
        Binding("s", "mark_stale", "Mark stale", id="heatmap.mark-stale"),
        Binding("escape,ctrl+backslash", "clear_marks", "Clear", show=False, id="heatmap.clear"),
    ]

    cursor: var[int] = var(0, always_update=False)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.snapshot: ScaleSetSnapshot | None = None
        self.grouping = Grouping.UPDATE_DOMAIN
        self.marked: set[str] = set()
        self.changed: frozenset[str] = frozenset()
        self.matcher: Matcher | None = None
        self._groups: list[Group] = []
        self._prepared: Mapping[Grouping, Rows] | None = None
        self._structure: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self._lines: list[_Line] = []
        self._order: list[VmInfo] = []
        self._index: dict[str, int] = {}
        self._where: list[tuple[int, int]] = []
        self._group_first_line: list[int] = []
        self._group_offset: list[int] = []
        self._label_w = 0
        self._per_line = 1
        self._several_pgs = False
        self._label_dims = (4, 1)
        self._layout_width = -1
        # Finished screen lines by virtual line index, with whether the scroll thumb is
        # drawn on them; valid for one (scroll_x, width), kept in _cache_for.
        self._cache: dict[int, tuple[bool, Strip]] = {}
        self._cache_for: tuple[int, int] = (-1, -1)
        self._styles: dict[str, Style] = {}
        self._cell_styles: dict[tuple[VmState, bool, bool, bool, bool], Style] = {}
        self._cells: dict[tuple[VmState, bool, bool, bool, bool], tuple[str, Style]] = {}
        self._base_style: Style | None = None
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
        return len(self._lines)

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
        repaint = changed | previous_changed
        if len(repaint) > BULK_REPAINT:
            # Past a few dozen cells one full repaint beats merging hundreds of regions.
            self._cache.clear()
            self.refresh()
        else:
            for iid in repaint:
                self._refresh_vm(iid)
        if self.cursor_vm is not None and self.cursor_vm.instance_id in changed:
            self.post_message(CursorMoved(self.cursor_vm))

    def _rows(self, snapshot: ScaleSetSnapshot, grouping: Grouping) -> Rows:
        prepared = self._prepared.get(grouping) if self._prepared is not None else None
        return prepared if prepared is not None else rows_of(snapshot, grouping)

    def set_grouping(self, grouping: Grouping) -> None:
        self.grouping = grouping
        if self.snapshot is not None:
            current = self._rows(self.snapshot, grouping)
            self._groups = current.groups
            self._structure = current.structure
            self._relayout()

    def set_filter(self, matcher: Matcher | None) -> None:
        self.matcher = matcher
        self._cache.clear()
        self.refresh()

    def matches(self, vm: VmInfo) -> bool:
        return self.matcher is None or self.matcher(vm)

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
        y, _ = self._where[self.cursor]
        return self._groups[self._lines[y].group]

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
        """Shift+arrow (k9s's range mark): move, and mark every VM from the old cursor to
        the new one in screen order (hidden-by-filter VMs excepted)."""
        if not self._order:
            return
        before = self.cursor
        move = {
            "left": self.action_cursor_left,
            "right": self.action_cursor_right,
            "up": self.action_cursor_up,
            "down": self.action_cursor_down,
        }.get(direction)
        if move is None:
            return
        move()
        lo, hi = sorted((before, self.cursor))
        self.marked |= {vm.instance_id for vm in self._order[lo : hi + 1] if self.matches(vm)}
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
        y, col = self._where[new]
        self.scroll_to_region(
            Region(self._label_w + col * CELL_W, y, CELL_W, 1), animate=False, immediate=True
        )
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
        y, col = self._where[self.cursor]
        y += step
        while 0 <= y < len(self._lines) and self._lines[y].is_heading:
            y += step
        if not 0 <= y < len(self._lines):
            return
        line = self._lines[y]
        self.cursor = line.first + min(col, line.stop - line.start - 1)

    # ------------------------------------------------------------------ layout

    def _width(self) -> int:
        """Columns for the label and the cells (the scroll bar column excepted)."""
        width = self.scrollable_content_region.width if self.is_mounted else 0
        return max(1, width - SCROLL_W) if width else 80

    def _row_name(self, group: Group) -> str:
        """The row name; the placement group is in the heading line above, not repeated."""
        if group.placement_group and self._several_pgs:
            prefix = group.placement_group[:8] + " "
            if group.label.startswith(prefix):
                return group.label[len(prefix) :]
        return group.label

    def _label_text(self, group: Group) -> str:
        done = sum(1 for vm in group.vms if vm.latest_model is not False)
        name_w, digits = self._label_dims
        return f"{self._row_name(group):<{name_w}} {done:>{digits}}/{len(group.vms):<{digits}} "

    def _relayout(self) -> None:
        width = self._width()
        self._layout_width = width
        groups = self._groups
        several_pgs = self._several_pgs = len({g.placement_group for g in groups}) > 1
        self._label_dims = (
            max((len(self._row_name(g)) for g in groups), default=4),
            len(str(max((len(g.vms) for g in groups), default=1))),
        )
        self._label_w = max((len(self._label_text(g)) for g in groups), default=0)
        self._per_line = max(1, (width - self._label_w) // CELL_W)
        lines: list[_Line] = []
        order: list[VmInfo] = []
        where: list[tuple[int, int]] = []
        group_first: list[int] = []
        group_offset: list[int] = []
        current_pg: object = object()
        for gi, group in enumerate(groups):
            if several_pgs and group.placement_group != current_pg:
                current_pg = group.placement_group
                lines.append(
                    _Line(-1, 0, 0, len(order), f"placement group {group.placement_group or '?'}")
                )
            group_first.append(len(lines))
            group_offset.append(len(order))
            for start in range(0, max(1, len(group.vms)), self._per_line):
                stop = min(len(group.vms), start + self._per_line)
                y = len(lines)
                lines.append(_Line(gi, start, stop, len(order)))
                for col, vm in enumerate(group.vms[start:stop]):
                    where.append((y, col))
                    order.append(vm)
        self._lines = lines
        self._order = order
        self._where = where
        self._group_first_line = group_first
        self._group_offset = group_offset
        self._index = {vm.instance_id: i for i, vm in enumerate(order)}
        self._cache.clear()
        self.virtual_size = Size(self._label_w + self._per_line * CELL_W, len(lines))
        keep = self._index.get(self._cursor_id) if self._cursor_id is not None else None
        target = keep if keep is not None else min(self.cursor, max(0, len(order) - 1))
        self.set_reactive(Heatmap.cursor, target)
        if order:
            self._cursor_id = order[target].instance_id
            self.post_message(CursorMoved(order[target]))
        else:
            self.post_message(CursorMoved(None))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.snapshot is not None and self._width() != self._layout_width:
            self._relayout()

    def cell_at(self, x: int, y: int) -> int | None:
        """Order index of the cell at virtual coordinates, if any."""
        if not 0 <= y < len(self._lines) or x < self._label_w:
            return None
        line = self._lines[y]
        if line.is_heading:
            return None
        col = (x - self._label_w) // CELL_W
        if col >= line.stop - line.start:
            return None
        return line.first + col

    def region_of(self, index: int) -> Region:
        """Virtual region of one cell (for tests and mouse hit checks)."""
        y, col = self._where[index]
        return Region(self._label_w + col * CELL_W, y, CELL_W, 1)

    # ------------------------------------------------------------------ repaint

    def _refresh_index(self, index: int) -> None:
        if not 0 <= index < len(self._where):
            return
        y, col = self._where[index]
        self._cache.pop(y, None)
        scroll_x, scroll_y = self.scroll_offset
        self.refresh(Region(self._label_w + col * CELL_W - scroll_x, y - scroll_y, CELL_W, 1))

    def _refresh_vm(self, instance_id: str) -> None:
        index = self._index.get(instance_id)
        if index is None:
            return
        self._refresh_index(index)
        # The row label carries "done/total" progress, so it may have changed too.
        y = self._group_first_line[self._lines[self._where[index][0]].group]
        self._cache.pop(y, None)
        scroll_x, scroll_y = self.scroll_offset
        self.refresh(Region(-scroll_x, y - scroll_y, self._label_w, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cell_styles.clear()
        self._cells.clear()
        self._base_style = None
        self._cache.clear()

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._refresh_index(self.cursor)

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        self._refresh_index(self.cursor)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            partial = name not in ("heatmap--label",)
            style = self.get_component_rich_style(name, partial=partial)
            self._styles[name] = style
        return style

    def _cell_style(self, state: VmState, flags: tuple[bool, bool, bool, bool]) -> Style:
        """Combined style per (state, changed, dim, marked, cursor), computed once."""
        key = (state, *flags)
        style = self._cell_styles.get(key)
        if style is None:
            changed, dim, marked, cursor = flags
            style = self._base() + self._style(state_class(state))
            if changed:
                style += self._style("heatmap--changed")
            if dim:
                style += self._style("heatmap--dim")
            if marked:
                style += self._style("heatmap--marked")
            if cursor:
                style += self._style("heatmap--cursor")
            self._cell_styles[key] = style
        return style

    def _base(self) -> Style:
        """The widget's own style; ``rich_style`` walks the DOM, so keep it per theme."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def _cell(self, key: tuple[VmState, bool, bool, bool, bool]) -> tuple[str, Style]:
        """Text and style of one cell per (state, changed, dim, marked, cursor), made once.

        The style objects are shared, so a run of equal cells is recognised by identity
        and merged into one segment (fewer segments: cheaper for every Textual stage that
        follows: filters, cropping, compositing).
        """
        cell = self._cells.get(key)
        if cell is None:
            state, changed, dim, marked, cursor = key
            suffix = MARK if marked else CHANGED if changed else " "
            style = self._cell_style(state, (changed, dim, marked, cursor))
            cell = self._cells[key] = (state.glyph + suffix, style)
        return cell

    def _line_segments(self, y: int) -> tuple[list[Segment], int]:
        """One virtual line's segments and their cell length."""
        line = self._lines[y]
        base = self._base()
        if line.is_heading:
            return [Segment(line.heading, base + self._style("heatmap--heading"))], cell_len(
                line.heading
            )
        group = self._groups[line.group]
        if line.start == 0:
            label = self._label_text(group).ljust(self._label_w)
        else:
            label = " " * self._label_w
        segments = [Segment(label, self._style("heatmap--label"))]
        marked = self.marked
        changed = self.changed
        matcher = self.matcher
        cursor = self.cursor if self.has_focus else -1
        cells = self._cells
        make = self._cell
        run: list[str] = []
        run_style: Style | None = None
        index = line.first
        for vm in group.vms[line.start : line.stop]:
            iid = vm.instance_id
            key = (
                vm.state,
                iid in changed,
                matcher is not None and not matcher(vm),
                iid in marked,
                index == cursor,
            )
            text, style = cells.get(key) or make(key)
            if style is not run_style:
                if run:
                    segments.append(Segment("".join(run), run_style))
                run = [text]
                run_style = style
            else:
                run.append(text)
            index += 1
        if run:
            segments.append(Segment("".join(run), run_style))
        return segments, self._label_w + CELL_W * (line.stop - line.start)

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
        base = self._base()
        bar = self._scroll_segment(thumb, on_thumb)
        if 0 <= index < len(self._lines):
            segments, length = self._line_segments(index)
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
        total = len(self._lines)
        if height <= 0 or total <= height:
            return None
        size = max(1, round(height * height / total))
        top = round(self.scroll_offset.y * (height - size) / (total - height))
        return top, top + size

    def _scroll_segment(self, thumb: tuple[int, int] | None, on_thumb: bool) -> Segment:
        if thumb is None:
            return Segment(" " * SCROLL_W, self._base())
        return Segment(
            " " * SCROLL_W,
            self._style("heatmap--scrollbar-thumb" if on_thumb else "heatmap--scrollbar"),
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
            if 0 <= y < len(self._lines) and not self._lines[y].is_heading and x < self._label_w:
                self.cursor = self._lines[y].first
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
