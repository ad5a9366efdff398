"""Enter a new capacity and read the change in words; Enter (or the button) goes on to
the change's confirmation."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.core.changes import Scale

MAX_CAPACITY = 1000


class ScaleScreen(ModalScreen[Scale | None]):
    DEFAULT_CSS = """
    ScaleScreen { align: center middle; }
    ScaleScreen #scale-dialog { width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    ScaleScreen #scale-buttons { height: auto; align-horizontal: right; }
    ScaleScreen #scale-preview { height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="scale.cancel")]

    def __init__(self, scale_set: ScaleSet) -> None:
        super().__init__()
        self.scale_set = scale_set

    def compose(self) -> ComposeResult:
        with Vertical(id="scale-dialog"):
            yield Label(f"Scale {self.scale_set.name} (now {self.scale_set.capacity} VMs)")
            yield Input(str(self.scale_set.capacity), id="scale-capacity", type="integer")
            yield Static("", id="scale-preview", markup=False)
            with Horizontal(id="scale-buttons"):
                yield Button("Cancel", id="scale-cancel", variant="primary")
                yield Button("Scale…", id="scale-ok", variant="error", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#scale-capacity", Input).focus()

    def change(self) -> Scale | None:
        try:
            n = int(self.query_one("#scale-capacity", Input).value.strip())
        except ValueError:
            return None
        if not 0 <= n <= MAX_CAPACITY or n == self.scale_set.capacity:
            return None
        return Scale(self.scale_set, n)

    @on(Input.Changed, "#scale-capacity")
    def _changed(self) -> None:
        change = self.change()
        preview = self.query_one("#scale-preview", Static)
        value = self.query_one("#scale-capacity", Input).value.strip()
        if change is not None:
            preview.update(change.describe())
        elif value == str(self.scale_set.capacity):
            preview.update("No change.")
        else:
            preview.update(f"Enter a whole number from 0 to {MAX_CAPACITY}.")
        self.query_one("#scale-ok", Button).disabled = change is None

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#scale-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#scale-capacity")
    @on(Button.Pressed, "#scale-ok")
    def _ok(self) -> None:
        change = self.change()
        if change is not None:
            self.dismiss(change)
