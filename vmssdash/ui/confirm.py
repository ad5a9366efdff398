"""The one confirmation dialog every change request goes through.

Cancel has the focus when it opens, so a stray Enter never dispatches anything; with
``require_text`` the confirm button stays disabled until the user types that text.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("n", "cancel", "No", show=False, id="confirm.no"),
        Binding("y", "confirm", "Yes", show=False, id="confirm.yes"),
    ]

    def __init__(
        self,
        title: str,
        body: str,
        *,
        confirm_label: str = "Confirm",
        require_text: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.require_text = require_text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self.title_text, id="confirm-title")
            with VerticalScroll(id="confirm-scroll"):  # a long body scrolls at 80x24
                yield Static(self.body, id="confirm-body", markup=False)
            if self.require_text is not None:
                yield Label(f"Type {self.require_text!r} to confirm:")
                yield Input(placeholder=self.require_text, id="confirm-input")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error",
                    disabled=self.require_text is not None,
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#confirm-input")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.require_text

    @on(Input.Submitted, "#confirm-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.require_text:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.require_text is None or self.query_one("#confirm", Button).disabled is False:
            self.dismiss(True)
