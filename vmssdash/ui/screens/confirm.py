"""The one confirmation dialog every change goes through.

Cancel has the focus when it opens, so a stray Enter never sends anything. With
``require_text`` (a large change) the text box has the focus instead, every printable
key is typed into it, and the confirm button stays disabled until the name matches.
There is no key that confirms: only Enter on the confirm button (or in a matching text
box) or a click.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from vmssdash.core.changes import Change


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("n", "cancel", "No", show=False, id="confirm.no"),
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

    @classmethod
    def for_change(cls, change: Change) -> ConfirmScreen:
        """The change's own words; its scale set's name typed when it is large."""
        return cls(
            change.title,
            change.describe(),
            confirm_label=change.confirm_label,
            require_text=change.scale_set_name if change.is_large else None,
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self.title_text, id="confirm-title")
            with VerticalScroll(id="confirm-scroll"):
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
        yield Footer()

    def on_mount(self) -> None:
        target = "#confirm-input" if self.require_text is not None else "#cancel"
        self.query_one(target).focus()

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
    def _confirm(self) -> None:
        if not self.query_one("#confirm", Button).disabled:
            self.dismiss(True)
