"""The activity log: Textual's ``Log`` without a screen re-layout per written line.

``Log`` tracks its line count in ``virtual_size``, which Textual declares as a layout
reactive: every write re-arranged the whole screen, ~8 ms with a 1,000-VM heatmap on it,
on every refresh that logged a transition. This log's height comes from CSS, never from
its content, so a new line only needs a repaint and updated scrollbars; a layout pass
still happens when a scrollbar appears or disappears (``show_*_scrollbar`` are layout
reactives themselves).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Log


class ActivityLog(Log):
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted:
            self._scroll_update(size)
