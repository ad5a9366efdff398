"""Where each heatmap cell sits: the pure geometry behind ``Heatmap`` (no Textual).

Rows are domains (within placement groups), wrapped when wider than the screen. The
roomy layout stacks placement groups, each under a heading line, with two columns per
cell; the dense layout takes one column per cell and puts the placement groups' blocks
side by side, as many as make the fewest lines. One function maps (order index) ↔
(line, column), so the cursor, marks, mouse and partial repaints agree on both layouts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from vmssdash.core.snapshot import Group

CELL_W = 2
DENSE_CELL_W = 1
#: Columns between placement-group blocks side by side (dense layout).
BLOCK_GAP = 2


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of one screen line: a placement-group heading, or a slice of one group's
    cells, starting at virtual column ``x``."""

    group: int  # -1 for a heading
    start: int
    stop: int
    first: int  # order index of the first cell of the slice
    x: int = 0
    heading: str = ""

    @property
    def is_heading(self) -> bool:
        return self.group < 0


@dataclass(slots=True)
class Layout:
    lines: list[tuple[Piece, ...]] = field(default_factory=list)
    #: (line, virtual column) of every cell, by order index.
    where: list[tuple[int, int]] = field(default_factory=list)
    #: (line, virtual column) of every group's label.
    label_at: list[tuple[int, int]] = field(default_factory=list)
    #: Order index of every group's first cell.
    group_offset: list[int] = field(default_factory=list)
    label_w: int = 0
    cell_w: int = CELL_W
    per_line: int = 1
    block_w: int = 0
    width: int = 0

    def group_of(self, index: int) -> int:
        return bisect_right(self.group_offset, index) - 1

    def piece_at(self, x: int, y: int) -> Piece | None:
        if not 0 <= y < len(self.lines):
            return None
        for piece in self.lines[y]:
            if piece.x <= x < piece.x + self.block_w:
                return piece
        return None

    def cell_at(self, x: int, y: int) -> int | None:
        """Order index of the cell at virtual coordinates, if any."""
        piece = self.piece_at(x, y)
        if piece is None or piece.is_heading or x < piece.x + self.label_w:
            return None
        col = (x - piece.x - self.label_w) // self.cell_w
        return piece.first + col if col < piece.stop - piece.start else None

    def label_piece_at(self, x: int, y: int) -> Piece | None:
        """The row whose label column is at virtual coordinates, if any."""
        piece = self.piece_at(x, y)
        if piece is None or piece.is_heading or x >= piece.x + self.label_w:
            return None
        return piece

    def vertical(self, index: int, step: int) -> int | None:
        """The cell one row up (-1) or down (+1) from ``index`` in the same block column,
        keeping the column where the row is long enough; None at the edge."""
        y, x = self.where[index]
        block_x = x - (x % (self.block_w + BLOCK_GAP)) if self.block_w else 0
        col = (x - block_x - self.label_w) // self.cell_w
        y += step
        while 0 <= y < len(self.lines):
            piece = self.piece_at(block_x, y)
            if piece is not None and not piece.is_heading:
                return piece.first + min(col, piece.stop - piece.start - 1)
            y += step
        return None


def _blocks(groups: Sequence[Group], several_pgs: bool) -> list[list[int]]:
    """Group indices per placement group (one block when there is only one)."""
    if not several_pgs:
        return [list(range(len(groups)))]
    blocks: list[list[int]] = []
    current: object = object()
    for gi, group in enumerate(groups):
        if group.placement_group != current:
            current = group.placement_group
            blocks.append([])
        blocks[-1].append(gi)
    return blocks


def _block_lines(groups: Sequence[Group], block: list[int], per_line: int, heading: bool) -> int:
    return int(heading) + sum(-(-max(1, len(groups[gi].vms)) // per_line) for gi in block)


def _columns(
    groups: Sequence[Group],
    blocks: list[list[int]],
    size: tuple[int, int],
    label_w: int,
    heading: bool,
) -> int:
    """How many blocks side by side: among the arrangements that fit the height, the one
    whose rows do not wrap, with the fewest lines; when none fits, the fewest lines."""
    width, height = size
    longest = max((len(g.vms) for g in groups), default=1)
    best: tuple[bool, bool, int, int] | None = None
    for columns in range(1, len(blocks) + 1):
        block_w = (width - BLOCK_GAP * (columns - 1)) // columns
        per_line = block_w - label_w
        if per_line < 1:
            break
        lines = sum(
            max(_block_lines(groups, b, per_line, heading) for b in blocks[i : i + columns])
            for i in range(0, len(blocks), columns)
        )
        fits = lines <= height
        score = (not fits, fits and per_line < longest, lines, columns)
        if best is None or score < best:
            best = score
    return 1 if best is None else best[3]


def build_layout(
    groups: Sequence[Group],
    *,
    width: int,
    height: int,
    label_w: int,
    several_pgs: bool,
    dense: bool,
) -> Layout:
    """Lines and cell positions for ``groups`` in ``width`` columns (``height`` lines
    visible: the dense layout arranges placement groups to fit it)."""
    cell_w = DENSE_CELL_W if dense else CELL_W
    blocks = _blocks(groups, several_pgs)
    columns = _columns(groups, blocks, (width, height), label_w, several_pgs) if dense else 1
    block_w = max(label_w + cell_w, (width - BLOCK_GAP * (columns - 1)) // columns)
    per_line = max(1, (block_w - label_w) // cell_w)
    if not dense:
        block_w = label_w + per_line * cell_w
    layout = Layout(label_w=label_w, cell_w=cell_w, per_line=per_line, block_w=block_w)
    rows: list[list[Piece]] = []
    order = 0
    for band in range(0, len(blocks), columns):
        top = len(rows)
        for bi, block in enumerate(blocks[band : band + columns]):
            x = bi * (block_w + BLOCK_GAP)
            y = top
            for gi in block:
                group = groups[gi]
                if several_pgs and gi == block[0]:
                    name = f"placement group {group.placement_group or '?'}"
                    if len(name) > block_w:
                        name = name[: block_w - 1] + "…"
                    _line(rows, y).append(Piece(-1, 0, 0, order, x, name))
                    y += 1
                layout.label_at.append((y, x))
                layout.group_offset.append(order)
                for start in range(0, max(1, len(group.vms)), per_line):
                    stop = min(len(group.vms), start + per_line)
                    _line(rows, y).append(Piece(gi, start, stop, order, x))
                    for col in range(stop - start):
                        layout.where.append((y, x + label_w + col * cell_w))
                    order += stop - start
                    y += 1
    layout.lines = [tuple(r) for r in rows]
    layout.width = (columns - 1) * (block_w + BLOCK_GAP) + label_w + per_line * cell_w
    return layout


def _line(rows: list[list[Piece]], y: int) -> list[Piece]:
    while len(rows) <= y:
        rows.append([])
    return rows[y]
