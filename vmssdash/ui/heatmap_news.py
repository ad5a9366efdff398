"""What the heatmap tells the App: the cursor moved, the marks changed.

Apart from ``ui.messages`` (which names the heatmap's prepared rows) so the two modules
do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from vmssdash.core.state import VmInfo


@dataclass
class CursorMoved(Message):
    """The heatmap cursor is on a new VM (None when the heatmap is empty)."""

    vm: VmInfo | None


@dataclass
class SelectionChanged(Message):
    """The set of marked instance ids changed."""

    selected: frozenset[str]
