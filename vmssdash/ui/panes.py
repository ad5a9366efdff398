"""The small panes around the heatmap: status header and legend (the VM details pane is
``details_pane``), and ``TextPane``, the wrapped-text widget they all are.

They render from plain data handed to them by the app (a snapshot, a ``VmInfo``, a
``HeaderInfo``) and hold no state of their own, so a refresh is a replacement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from vmssdash.core.observer import Freshness
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmState
from vmssdash.ui.heatmap_cells import BEHIND, OLD, left_behind, state_class


class TextPane(Widget):
    """A pane on the Line API that shows one Rich ``Text`` and repaints only its changed lines.

    These panes change on every snapshot (counts, the cursor VM's state, "refreshed N s
    ago"). Handing Textual a new ``Text`` from ``render()`` re-wraps and re-renders the whole
    pane through its content pipeline (~3 ms for the details pane); here each logical line
    keeps its rendered strips until its text changes, and only screen lines that differ
    are marked dirty, so a typical update costs a line or two.
    """

    COMPONENT_CLASSES = {state_class(s) for s in VmState} | {"pane--muted", "pane--key"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()
        self._logical: list[Text] = []
        self._wrapped: list[list[Strip]] = []
        self._strips: list[Strip] = []
        self._wrap_width = -1
        self._height = 0  # lines the layout gave us; blank-padded rather than shrunk
        self._style_memo: dict[str, Style] = {}

    def state_style(self, state: VmState) -> Style:
        return self.component_style(state_class(state))

    def component_style(self, name: str) -> Style:
        """A component class's style, kept until the styles change (the lookup walks the DOM)."""
        style = self._style_memo.get(name)
        if style is None:
            style = self._style_memo[name] = self.get_component_rich_style(name, partial=True)
        return style

    def build(self, width: int) -> Text:
        """The pane's text for a content ``width``: explicit newlines; long lines wrap."""
        raise NotImplementedError

    def render(self) -> Text:
        """The text on screen (for tests and tools; painting goes through ``render_line``)."""
        return self._text

    def _changed(self) -> None:
        """Rebuild; repaint the lines that differ; re-layout only when the pane must grow.

        A layout refresh re-arranges the whole screen (~8 ms with a 1,000-VM heatmap), so
        a pane that shrinks keeps its height with blank lines instead.
        """
        if not self.is_mounted:
            return
        width = self.content_region.width
        if width <= 0:
            self._wrap_width = -1  # laid out later: get_content_height builds then
            self.refresh(layout=True)
            return
        text = self.build(width)
        if text == self._text and self._strips:
            return
        self._text = text
        old = self._strips
        self._rewrap(width)
        if len(self._strips) > self._height:
            self.refresh(layout=True)
            return
        for y, strip in enumerate(self._strips):
            if y >= len(old) or strip is not old[y]:
                self.refresh(Region(0, y, width, 1))
        for y in range(len(self._strips), min(len(old), self._height)):
            self.refresh(Region(0, y, width, 1))

    def _rewrap(self, width: int) -> None:
        """Lines for ``width``, reusing the strips of logical lines whose text is unchanged."""
        logical = list(self._text.split("\n", allow_blank=True))
        same_width = width == self._wrap_width
        previous = dict(zip(map(_line_key, self._logical), self._wrapped, strict=True))
        wrapped: list[list[Strip]] = []
        for line in logical:
            strips = previous.get(_line_key(line)) if same_width else None
            wrapped.append(strips if strips is not None else self._render_logical(line, width))
        self._logical = logical
        self._wrapped = wrapped
        self._wrap_width = width
        self._strips = [strip for strips in wrapped for strip in strips]

    def _render_logical(self, line: Text, width: int) -> list[Strip]:
        console = self.app.console
        base = self._style_memo.get("")
        if base is None:
            base = self._style_memo[""] = self.rich_style
        pieces = [line] if line.cell_len <= width else line.wrap(console, width, overflow="fold")
        return [
            Strip(Segment.apply_style(piece.render(console), base)).crop_extend(0, width, base)
            for piece in pieces
        ]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self._wrap_width:
            self._text = self.build(width) if self.is_mounted else self._text
            self._rewrap(max(1, width))
            self._height = 0  # a new width may let the pane shrink
        self._height = max(self._height, len(self._strips))
        return self._height

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_region.width, self.rich_style)

    def notify_style_update(self) -> None:
        """A theme or class change restyles every line."""
        super().notify_style_update()
        self._style_memo.clear()
        self._wrap_width = -1
        self._logical = []
        self._wrapped = []
        self._strips = []
        if self.is_mounted:
            self.call_later(self._restyle)

    def _restyle(self) -> None:
        self._text = Text()
        self._changed()


def _line_key(line: Text) -> tuple[str, tuple[object, ...]]:
    return line.plain, tuple(line.spans)


def counts_text(
    counts: Counter[VmState],
    styler: TextPane,
    *,
    zeros: bool,
    labels: bool = True,
    width: int | None = None,
) -> Text:
    """Glyph (+ label) + count per state; with ``width``, breaks lines between entries only.

    Built as one string plus spans (not piece by piece): the legend and the header redo
    this on every refresh.
    """
    muted = styler.component_style("pane--muted")
    sep = "  " if labels else " "
    parts: list[str] = []
    spans: list[Span] = []
    offset = line_len = 0
    for state in VmState:
        n = counts.get(state, 0)
        if not n and not zeros:
            continue
        rest = f" {state.label} {n}" if labels else str(n)
        entry_len = len(state.glyph) + len(rest)
        if line_len and width is not None and line_len + len(sep) + entry_len > width:
            gap, line_len = "\n", 0
        else:
            gap = sep if line_len else ""
            line_len += len(gap)
        parts.append(gap + state.glyph + rest)
        offset += len(gap)
        spans.append(Span(offset, offset + len(state.glyph), styler.state_style(state)))
        offset += len(state.glyph)
        if labels and not n:
            spans.append(Span(offset, offset + len(rest), muted))
        offset += len(rest)
        line_len += entry_len
    return Text("".join(parts), spans=spans)


def lines_needed(counts: Counter[VmState], *, zeros: bool, width: int) -> int:
    """How many lines ``counts_text(..., labels=True, width=width)`` would take."""
    lines, line_len = 1, 0
    for state in VmState:
        n = counts.get(state, 0)
        if not n and not zeros:
            continue
        entry_len = len(state.glyph) + len(f" {state.label} {n}")
        if line_len and line_len + 2 + entry_len > width:
            lines, line_len = lines + 1, entry_len
        else:
            line_len += entry_len + (2 if line_len else 0)
    return lines


#: Counts older than this (seconds) show as a warning.
COUNTS_STALE_AFTER = 10.0


@dataclass
class HeaderInfo:
    snapshot: ScaleSetSnapshot | None = None
    #: The observer's ages, read budget and wait (None before it is known).
    freshness: Freshness | None = None
    #: Azure's aggregate VM count per status code (the cheap instance view).
    summary: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    read_only: bool = False
    identity: str = ""
    error: str | None = None
    marked: int = 0
    grouping: Grouping = Grouping.UPDATE_DOMAIN
    filter_text: str = ""
    #: How many VMs the filter in effect shows (None without a filter).
    filter_matches: int | None = None
    busy: list[str] = field(default_factory=list)


class StatusHeader(TextPane):
    """Scale set facts, counts by state, freshness, budget, flags. Always visible."""

    DEFAULT_CSS = "StatusHeader { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info = HeaderInfo()
        self._behind: tuple[int, Counter[VmState]] = (0, Counter())

    def behind(self, snap: ScaleSetSnapshot) -> Counter[VmState]:
        """States of the VMs left on an old model that their cells do not call stale,
        counted once per snapshot (the header is rebuilt every second for its age)."""
        if self._behind[0] != id(snap):
            self._behind = (id(snap), Counter(vm.state for vm in snap.vms if left_behind(vm)))
        return self._behind[1]

    def show(self, info: HeaderInfo) -> None:
        self.info = info
        self._changed()

    def build(self, width: int) -> Text:
        info = self.info
        key = self.component_style("pane--key")
        muted = self.component_style("pane--muted")
        snap = info.snapshot
        line1 = Text(no_wrap=False, overflow="fold")
        if snap is None:
            line1.append("vmssdash", key)
            line1.append("  loading scale set…", muted)
        else:
            ss = snap.scale_set
            line1.append(ss.name, key)
            orchestration = ss.properties.orchestration_mode or "Uniform"
            line1.append(f" · {ss.location} · {orchestration} · {ss.upgrade_mode}")
            line1.append(f" · image {snap.image}")
            line1.append(f" · capacity {ss.capacity}")
        line3 = Text()
        if snap is not None:
            line3.append_text(counts_text(snap.counts(), self, zeros=False, labels=False))
            behind = self.behind(snap)
            if behind:
                line3.append(f" · {BEHIND}{behind.total()} left on old model (")
                line3.append_text(counts_text(behind, self, zeros=False, labels=False))
                line3.append(")")
            line3.append(" · ")
        self._freshness(line3, info)
        line3.append(f" · rows by {info.grouping.value}")
        if info.marked:
            line3.append(f" · marked {info.marked}", key)
        if info.filter_text:
            shown = "" if info.filter_matches is None else f" shows {info.filter_matches}"
            line3.append(f" · filter {info.filter_text!r}{shown}")
        for item in info.busy:
            line3.append(f" · {item}", key)
        if info.paused:
            line3.append(" · ")
            line3.append("PAUSED", Style(bold=True, reverse=True))
        if info.read_only:
            line3.append(" · ")
            line3.append("READ-ONLY", Style(bold=True))
        if info.identity:
            line3.append(f" · {info.identity}", muted)
        if info.error:
            line3.append(" · ")
            line3.append(f"refresh failed: {info.error}", self.state_style(VmState.FAILED))
        return Text("\n").join([line1, line3])

    def _freshness(self, line: Text, info: HeaderInfo) -> None:
        """``Azure 1000 VMs, 200 updating · counts 2s · cells 41s · reads HighCost 30 min
        31% used`` (the policy window most spent, by anyone), and the wait for read budget
        as a countdown where the eye already is."""
        fresh = info.freshness
        warn = self.state_style(VmState.FAILED)
        if info.summary:
            total = sum(info.summary.values())
            busy = [
                f"{n} {code.split('/', 1)[-1]}"
                for code, n in sorted(info.summary.items())
                if code != "ProvisioningState/succeeded"
            ]
            line.append(f"Azure {total} VMs" + (", " + ", ".join(busy) if busy else "") + " · ")
        if fresh is None or (fresh.counts_age is None and fresh.cells_age is None):
            line.append("not read yet", self.component_style("pane--muted"))
        else:
            if fresh.counts_age is not None:
                old = info.error is not None or fresh.counts_age > COUNTS_STALE_AFTER
                line.append(f"counts {fresh.counts_age:.0f}s", warn if old else Style())
            if fresh.cells_age is not None:
                line.append(" · " if fresh.counts_age is not None else "")
                old = info.error is not None or fresh.cells_age > fresh.cells_target
                line.append(f"cells {fresh.cells_age:.0f}s", warn if old else Style())
            high = fresh.budget_used > fresh.budget_share
            line.append(" · ")
            line.append(
                f"reads {fresh.budget_label} {fresh.budget_used:.0%} used",
                warn if high else Style(),
            )
        if fresh is not None and fresh.waiting_for >= 1:
            line.append(" · ")
            line.append(
                f"waiting for read budget: {fresh.waiting_for:.0f} s",
                Style(bold=True, reverse=True),
            )


class Legend(TextPane):
    """Every state's glyph and label with its count (zero counts muted), and how many
    cells show a reading older than the freshness target, when any do."""

    DEFAULT_CSS = "Legend { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.counts: Counter[VmState] = Counter()
        #: (cells read longer ago than the target, the target in whole seconds)
        self.old: tuple[int, int] = (0, 0)

    def show(self, counts: Counter[VmState]) -> None:
        if counts == self.counts and self._strips:
            return
        self.counts = counts
        self._changed()

    def show_old(self, count: int, target: float) -> None:
        old = (count, round(target) if count else 0)
        if old != self.old:
            self.old = old
            self._changed()

    def build(self, width: int) -> Text:
        """All states when two lines hold them; otherwise only the states present."""
        width = max(1, width)
        zeros = lines_needed(self.counts, zeros=True, width=width) <= 2
        text = counts_text(self.counts, self, zeros=zeros, width=width)
        count, target = self.old
        if count:
            entry = f" read > {target} s ago or before a change {count}"
            last = len(text.plain.rsplit("\n", 1)[-1])
            if last:
                text.append("\n" if last + 3 + len(entry) > width else "  ")
            text.append(OLD, Style(dim=True))
            text.append(entry)
        return text
