"""The activity log: Textual's ``Log`` without a screen re-layout per written line.

``Log`` tracks its line count in ``virtual_size``, which Textual declares as a layout
reactive: every write re-arranged the whole screen, ~8 ms with a 1,000-VM heatmap on it,
on every refresh that logged a transition. This log's height comes from CSS, never from
its content, so a new line only needs a repaint and updated scrollbars; a layout pass
still happens when a scrollbar appears or disappears (``show_*_scrollbar`` are layout
reactives themselves).

``Log`` does not wrap: a long line was cut at the pane's edge, mid-word ("…more than
the 2"). Lines are wrapped at word boundaries to the width at the time they are written,
continuation lines indented under the text after the timestamp.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Self

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Log

#: Narrower than this, wrapping would make more noise than it removes.
MIN_WRAP = 24


class ActivityLog(Log):
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted:
            self._scroll_update(size)

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None) -> Self:
        # One column is kept for the vertical scroll bar, which appears once lines overflow.
        width = self.scrollable_content_region.width - 1 if self.is_mounted else 0
        if width < MIN_WRAP:
            return super().write_lines(lines, scroll_end)
        wrapped: list[str] = []
        for line in lines:
            if len(line) <= width:
                wrapped.append(line)
                continue
            stamp = line.partition(" ")[0]
            indent = " " * (len(stamp) + 1) if len(stamp) < width // 3 else ""
            wrapped.extend(textwrap.wrap(line, width, subsequent_indent=indent) or [line])
        return super().write_lines(wrapped, scroll_end)

    def refresh_lines(self, y_start: int, line_count: int = 1) -> None:
        """Repaint only the written lines that are on screen.

        ``Log`` marks new lines dirty before it scrolls to them, at rows below its own
        region; the compositor repaints whatever sits there too (the footer, on every
        refresh that logged a line). The scroll that follows repaints them anyway.
        """
        top = round(self.scroll_offset.y)
        start = max(y_start, top)
        stop = min(y_start + line_count, top + self.scrollable_content_region.height)
        if start < stop:
            super().refresh_lines(start, stop - start)
