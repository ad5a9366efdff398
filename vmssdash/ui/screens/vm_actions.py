"""Pick an action for the marked VMs (or the VM under the cursor)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from vmssdash.core.changes import ACTIONS, ActionKind


class ActionMenu(ModalScreen[ActionKind | None]):
    """Returns the picked action; its confirmation (with the exact scope) comes next."""

    DEFAULT_CSS = """
    ActionMenu { align: center middle; }
    ActionMenu #action-dialog { width: 60; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    ActionMenu Button { width: 100%; margin: 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="actions.cancel"),
        *(Binding(a.key, f"pick('{a.name}')", a.verb, id=f"actions.{a.name}") for a in ACTIONS),
    ]

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog"):
            yield Label(f"Action on {self.scope}")
            yield Button("Cancel", id="action-cancel", variant="primary")
            for action in ACTIONS:
                yield Button(
                    f"{action.verb} ({action.key})",
                    id=f"action-{action.name}",
                    variant="error" if action.dangerous else "default",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#action-cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_pick(self, name: str) -> None:
        self.dismiss(next((a for a in ACTIONS if a.name == name), None))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id == "action-cancel":
            self.dismiss(None)
        elif button_id.startswith("action-"):
            self.action_pick(button_id.removeprefix("action-"))
