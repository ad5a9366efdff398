"""The footer, choosing which keys stay visible as the terminal narrows.

Textual's ``Footer`` lays its keys out left to right and cuts whatever passes the right
edge, so at 110 columns "? Help" was cut and Quit fell off. This one drops keys in
reverse order of ``PRIORITY`` until the rest fit, and keeps the survivors in their usual
order: ``? Help`` and ``q Quit`` always stay, then the filter, marking, plan, upgrade and
model keys. Every key stays bound; help (``?``) and the palette (``ctrl+p``) list them all.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer

#: Actions, most important first; keys not listed go first when space runs out.
PRIORITY = (
    "help",
    "leave",  # quit (asks first during a run)
    "quit",
    "filter",
    "toggle_mark",
    "plan",
    "upgrade",
    "edit_model",
    "mark_domain",
    "mark_stale",
    "vm_actions",
)
ALWAYS = 3  # help and quit never leave
PALETTE_W = 14  # "│ ^p palette " on the right


def _rank(binding: Binding) -> int:
    return PRIORITY.index(binding.action) if binding.action in PRIORITY else len(PRIORITY)


class DashFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._laid_out_for = -1

    def shown_bindings(self) -> list[Binding]:
        """The bindings the footer shows, one per action, in the footer's order (the
        order ``Footer.compose`` yields its keys in)."""
        by_action: dict[str, Binding] = {}
        for _node, binding, _enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action.setdefault(binding.action, binding)
        return list(by_action.values())

    def key_width(self, binding: Binding) -> int:
        """Columns of one key in the footer: " k " then "description "."""
        return cell_len(self.app.get_key_display(binding)) + 3 + cell_len(binding.description)

    def compose(self) -> Iterator[Widget]:
        widgets = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if not w.has_class("-command-palette")]
        bindings = self.shown_bindings()
        width = self._laid_out_for = self.app.size.width
        if len(keys) != len(bindings):  # grouped keys: no one-to-one map, show all
            yield from widgets
            return
        budget = width - (PALETTE_W if palette else 0)
        kept = list(bindings)
        for binding in sorted(bindings, key=_rank, reverse=True):
            if sum(map(self.key_width, kept)) <= budget or _rank(binding) < ALWAYS:
                break
            kept.remove(binding)
        yield from (key for key, binding in zip(keys, bindings, strict=True) if binding in kept)
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        if self.app.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
