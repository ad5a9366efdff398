"""How other modules add keys, palette commands, panes and a dispatch path to the app.

The app stays one class; features written elsewhere (the model pane, plan screen and
orchestrated actions of issue 6) describe themselves as an ``Extension`` instead of
editing ``app.py``:

- ``actions``: each ``ActionSpec`` becomes a ``Binding`` with its ``id`` (so it shows in
  the footer and can be remapped through ``settings.keymap``) and a command-palette
  entry; ``writes=True`` hides and blocks it in read-only mode.
- ``panes``: widgets composed into the side column under the VM details.
- ``dispatch_upgrade``: replaces the app's simple "manualupgrade the confirmed VMs" path.
- ``on_snapshot``: called on the UI thread with every new snapshot.

The app loads ``vmssdash.ui.actions.extensions()`` when that module exists, or takes an
explicit list: ``VmssDashApp(api, extensions=[...])``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.widget import Widget

    from vmssdash.core.snapshot import ScaleSetSnapshot
    from vmssdash.ui.app import VmssDashApp


@dataclass(frozen=True)
class ActionSpec:
    """One user action: ``run(app)`` is called on the UI thread (may return an awaitable)."""

    id: str
    keys: str
    description: str
    run: Callable[[VmssDashApp], Any]
    show: bool = True
    writes: bool = False
    palette_help: str = ""


@dataclass(frozen=True)
class Extension:
    name: str
    actions: Sequence[ActionSpec] = ()
    panes: Callable[[VmssDashApp], Iterable[Widget]] | None = None
    dispatch_upgrade: Callable[[VmssDashApp, tuple[str, ...]], None] | None = None
    on_snapshot: Callable[[VmssDashApp, ScaleSetSnapshot], None] | None = None
    #: What the extension is busy with ("upgrading: wave 2/5"), or None: the header shows
    #: it and the app refuses to start a second upgrade meanwhile.
    busy: Callable[[VmssDashApp], str | None] | None = None


def discover_extensions() -> list[Extension]:
    """Extensions from ``vmssdash.ui.actions.extensions()``, if that module exists."""
    try:
        module = importlib.import_module("vmssdash.ui.actions")
    except ModuleNotFoundError as exc:
        if exc.name == "vmssdash.ui.actions":
            return []
        raise
    factory = getattr(module, "extensions", None)
    if factory is None:
        return []
    return list(factory())
