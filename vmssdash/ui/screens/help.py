"""The `?` screen: every key (as currently mapped), every glyph, the filter syntax.

Built from the live bindings, so a remapped key in ``settings.keymap`` shows here as it
is, not as the defaults were.
"""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from vmssdash.core.state import VmState

FILTER_HELP = (
    "Filter (/): space-separated terms, all must match; dims the rest.\n"
    "  state:stale  or a bare state (failed, updating, …)\n"
    "  ud:0,1  fd:2  zone:1  pg:<prefix>  id:17  or a bare number\n"
    "  any other word: part of the VM or computer name"
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q,f1", "dismiss", "Close", id="help.close"),
    ]

    def __init__(
        self, keys: list[tuple[str, str]], glyph_styles: dict[VmState, Style], where: str = ""
    ) -> None:
        super().__init__()
        self.keys = keys
        self.glyph_styles = glyph_styles
        self.where = where  # where the run journals (and exported records) are

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, what in self.keys:
            table.add_row(key, what)
        glyphs = Table.grid(padding=(0, 1))
        glyphs.add_column()
        glyphs.add_column()
        for state in VmState:
            glyphs.add_row(Text(state.glyph, self.glyph_styles.get(state, Style())), state.label)
        marks = Text(
            "Cell marker: * marked, Δ changed since the previous refresh; cursor is shown reversed."
        )
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("vmssdash help — esc closes", style="bold"))
            yield Static(table)
            yield Static(glyphs)
            yield Static(marks)
            yield Static(FILTER_HELP, markup=False)
            if self.where:
                yield Static(self.where, markup=False, id="help-where")
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
