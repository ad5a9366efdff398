"""The `?` screen: every key (as currently mapped), every glyph, how to read the row
labels, header counts and cell markers, the two pauses, the filter syntax.

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
    "Filter (/): space-separated terms, all must match; others show -.\n"
    "  state:stale  or a bare state (failed, updating, …)\n"
    "  ud:0,1  fd:2  zone:1  pg:<prefix>  id:17  or a bare number\n"
    "  any other word: part of the VM or computer name\n"
    "  Enter keeps it (refused, with the reason, if it does not parse);\n"
    "  esc clears it."
)

READING_HELP = (
    "Reading the screen\n"
    "  Row label  UD 0 ●6/8: 6 of the row's 8 VMs are up to date\n"
    "             (● = latest model, running, healthy).\n"
    "  Header     ✖1 ○3 ●36: VMs per state (glyphs below).\n"
    "             ~2 left on old model (□1 !1): VMs on an old model\n"
    "             that another state hides (deallocated, stopped,\n"
    "             protected, unhealthy, failed). Plans skip deallocated\n"
    "             and protected VMs: after a run, these stay behind.\n"
    "  Cell       the state glyph, then * marked, Δ changed since the\n"
    "             last refresh, ~ on an old model (as above), · read\n"
    "             longer ago than the header's target (such a cell is\n"
    "             faint, in the dense layout too); - means filtered\n"
    "             out. Cursor reversed, marks underlined.\n"
    "  D          dense layout (one column per VM, no marker column,\n"
    "             placement groups side by side) or roomy."
)

PAUSE_HELP = (
    "Two pauses\n"
    "  p  pauses the live refresh: the screen stops updating;\n"
    "     nothing in Azure stops.\n"
    "  z  pauses (and resumes) the running upgrade plan before its\n"
    "     next wave; VMs already sent keep upgrading. X aborts it."
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
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("vmssdash help — esc closes", style="bold"))
            # How to read the screen first: the keys are also in the footer and palette.
            yield Static(READING_HELP, markup=False)
            yield Static(glyphs)
            yield Static(table)
            yield Static(PAUSE_HELP, markup=False)
            yield Static(FILTER_HELP, markup=False)
            if self.where:
                yield Static(self.where, markup=False, id="help-where")
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
