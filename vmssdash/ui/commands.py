"""The command palette: every key active on the screen it was opened from, once each,
with what it does (the footer's word is short; the palette has room)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.screen import Screen

#: Longer help for the palette than the footer's one word, by binding id.
PALETTE_HELP = {
    "orch.model": "model: edit the image and capacity",
    "orch.plan": "upgrade: plan and run waves (marked VMs or whole set)",
    "orch.actions": "restart, start, power off, deallocate, reimage, delete",
    "app.upgrade": "upgrade the marked VMs, one update domain per wave",
}

#: Textual lists Quit and Keys itself.
_SKIPPED = {"quit", "leave", "help"}


def binding_commands(app: App[Any], screen: Screen[Any]) -> Iterable[SystemCommand]:
    """One palette entry per enabled binding with a description."""
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        name = binding.action.split("(", 1)[0]
        key = binding.id or binding.action
        if name in _SKIPPED or not binding.description or not active.enabled or key in seen:
            continue
        seen.add(key)
        yield SystemCommand(
            binding.description,
            f"key {app.get_key_display(binding)} · {PALETTE_HELP.get(key, key)}",
            _runner(app, binding.action, active.node),
        )


def _runner(app: App[Any], action: str, owner: DOMNode) -> Callable[[], Any]:
    async def run() -> None:
        await app.run_action(action, owner)

    return run
