"""Device-code sign-in inside the TUI: the code and URL in a modal, with Cancel.

msal blocks a worker thread while it waits for the user; the provider's relay calls us
from that thread, so everything here goes through ``call_from_thread``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from vmssdash.azure.auth import DeviceCodePrompt


class DeviceCodeScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DeviceCodeScreen { align: center middle; }
    DeviceCodeScreen > Vertical {
        width: 72; height: auto; padding: 1 2; border: thick $accent; background: $surface;
    }
    DeviceCodeScreen #signin-code { text-style: bold; color: $accent; margin: 1 0; }
    DeviceCodeScreen #signin-message { color: $text-muted; margin-bottom: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel sign-in", id="signin.cancel"),
    ]
    AUTO_FOCUS = "#signin-cancel"

    def __init__(self, prompt: DeviceCodePrompt, on_cancel: Callable[[], None]) -> None:
        super().__init__()
        self.prompt = prompt
        self._on_cancel = on_cancel

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Sign in to Azure", id="signin-title")
            yield Static(
                f"Open {self.prompt.verification_uri} and enter the code:", id="signin-uri"
            )
            yield Static(self.prompt.user_code, id="signin-code")
            yield Static(self.prompt.message, id="signin-message")
            yield Button("Cancel", id="signin-cancel", variant="default")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "signin-cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        self._on_cancel()
        self.dismiss(None)


def attach_device_code_prompts(app: App[Any], provider: Any) -> Callable[[], None]:
    """Show ``provider``'s device-code prompts in ``app``; returns a function that detaches.

    Works with any provider from ``build_token_provider`` (those without interactive
    sign-in have no relay and this is a no-op).
    """
    relay = getattr(provider, "device_code_relay", None)
    if relay is None:
        return lambda: None
    cancel = getattr(provider, "cancel", None)

    def on_cancel() -> None:
        if callable(cancel):
            cancel()

    def show(prompt: DeviceCodePrompt) -> None:
        try:
            app.call_from_thread(app.push_screen, DeviceCodeScreen(prompt, on_cancel))
        except RuntimeError:  # the app is gone: fall back to the terminal
            relay.fallback(prompt)

    def close_if_open() -> None:
        if isinstance(app.screen, DeviceCodeScreen):
            app.screen.dismiss(None)

    def finished(success: bool) -> None:
        with contextlib.suppress(RuntimeError):
            app.call_from_thread(close_if_open)

    relay.handler, relay.finished = show, finished

    def detach() -> None:
        relay.handler, relay.finished = None, None

    return detach
