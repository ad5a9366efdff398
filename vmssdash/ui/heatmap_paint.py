"""How the heatmap paints a line: the styles per component class and per cell, made once
per theme and shared (so equal neighbouring cells merge into one segment by identity),
and the segments of one virtual line. The widget owns the Line API, cache and scrolling."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from vmssdash.core.snapshot import Group
from vmssdash.core.state import VmState
from vmssdash.ui.heatmap_cells import NOT_BEHIND, Matcher, cell_text, state_class
from vmssdash.ui.heatmap_layout import Layout, Piece

#: (state, changed, dim, marked, cursor, behind, old reading)
CellKey = tuple[VmState, bool, bool, bool, bool, bool, bool]
#: (changed, dim, marked, cursor, old reading)
StyleFlags = tuple[bool, bool, bool, bool, bool]


class Painter:
    """Styles and cells cached until the theme (``clear``) or the cell width changes."""

    def __init__(
        self,
        component_style: Callable[[str, bool], Style],
        widget_style: Callable[[], Style],
    ) -> None:
        self._component_style = component_style
        self._widget_style = widget_style
        self._styles: dict[str, Style] = {}
        self._cell_styles: dict[tuple[VmState, bool, bool, bool, bool, bool], Style] = {}
        self._cells: dict[CellKey, tuple[str, Style]] = {}
        self._base_style: Style | None = None

    def clear(self) -> None:
        """Forget every style (the theme or the widget's CSS changed)."""
        self._styles.clear()
        self._cell_styles.clear()
        self._cells.clear()
        self._base_style = None

    def clear_cells(self) -> None:
        """Forget the cell texts (dense and roomy cells differ in width)."""
        self._cells.clear()

    def style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            partial = name not in ("heatmap--label",)
            style = self._component_style(name, partial)
            self._styles[name] = style
        return style

    def _cell_style(self, state: VmState, flags: StyleFlags) -> Style:
        """Combined style per (state, changed, dim, marked, cursor, old), computed once."""
        key = (state, *flags)
        style = self._cell_styles.get(key)
        if style is None:
            changed, dim, marked, cursor, old = flags
            style = self.base() + self.style(state_class(state))
            if changed:
                style += self.style("heatmap--changed")
            if old:
                style += self.style("heatmap--old")
            if dim:
                style += self.style("heatmap--dim")
            if marked:
                style += self.style("heatmap--marked")
            if cursor:
                style += self.style("heatmap--cursor")
            self._cell_styles[key] = style
        return style

    def base(self) -> Style:
        """The widget's own style; ``rich_style`` walks the DOM, so keep it per theme."""
        if self._base_style is None:
            self._base_style = self._widget_style()
        return self._base_style

    def cell(self, key: CellKey, wide: bool) -> tuple[str, Style]:
        """Text and style of one cell per (state, changed, dim, marked, cursor, behind,
        old), made once.

        A filtered-out cell shows ``-`` instead of its glyph (dimming alone vanishes
        without colour). The style objects are shared, so a run of equal cells is
        recognised by identity and merged into one segment (fewer segments: cheaper for
        every Textual stage that follows: filters, cropping, compositing).
        """
        cell = self._cells.get(key)
        if cell is None:
            state, changed, dim, marked, cursor, behind, old = key
            glyph = cell_text(
                state,
                changed=changed,
                dim=dim,
                marked=marked,
                behind=behind,
                old=old,
                wide=wide,
            )
            style = self._cell_style(state, (changed, dim, marked, cursor, old))
            cell = self._cells[key] = (glyph, style)
        return cell

    def line_segments(
        self,
        layout: Layout,
        groups: list[Group],
        y: int,
        *,
        label: Callable[[Group], str],
        marked: AbstractSet[str],
        changed: AbstractSet[str],
        old: AbstractSet[str],
        matcher: Matcher | None,
        cursor: int,
    ) -> tuple[list[Segment], int]:
        """One virtual line's segments and their cell length (``cursor`` -1: not drawn;
        ``old``: the VMs whose reading is older than the freshness target)."""
        segments: list[Segment] = []
        length = 0
        base = self.base()
        for piece in layout.lines[y]:
            if piece.x > length:
                segments.append(Segment(" " * (piece.x - length), base))
            if piece.is_heading:
                segments.append(Segment(piece.heading, base + self.style("heatmap--heading")))
                length = piece.x + cell_len(piece.heading)
            else:
                length = self._cells_segments(
                    layout,
                    groups[piece.group],
                    piece,
                    segments,
                    label,
                    marked,
                    changed,
                    old,
                    matcher,
                    cursor,
                )
        return segments, length

    def _cells_segments(
        self,
        layout: Layout,
        group: Group,
        piece: Piece,
        segments: list[Segment],
        label: Callable[[Group], str],
        marked: AbstractSet[str],
        changed: AbstractSet[str],
        old: AbstractSet[str],
        matcher: Matcher | None,
        cursor: int,
    ) -> int:
        """Append one row slice (label, then cells); returns the column after it."""
        text = label(group).ljust(layout.label_w) if piece.start == 0 else " " * layout.label_w
        segments.append(Segment(text, self.style("heatmap--label")))
        cells = self._cells
        make = self.cell
        wide = layout.cell_w > 1
        run: list[str] = []
        run_style: Style | None = None
        index = piece.first
        for vm in group.vms[piece.start : piece.stop]:
            iid = vm.instance_id
            key = (
                vm.state,
                iid in changed,
                matcher is not None and not matcher(vm),
                iid in marked,
                index == cursor,
                vm.latest_model is False and vm.state not in NOT_BEHIND,
                iid in old,
            )
            text, style = cells.get(key) or make(key, wide)
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
        return piece.x + layout.label_w + layout.cell_w * (piece.stop - piece.start)
