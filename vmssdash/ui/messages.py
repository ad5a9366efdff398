"""Messages are the app's state transitions: workers post them, handlers apply them.

Workers never touch widgets; everything they learn arrives here as one of these, so
tests can assert on the flow with ``run_test(message_hook=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from vmssdash.core.changes import Change, ChangeEvent, Outcome
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from vmssdash.azure.events import ClientEvent
    from vmssdash.ui.heatmap_cells import Rows


@dataclass
class SnapshotReceived(Message):
    """A refresh succeeded; ``changed`` holds ids whose facts differ from the last one."""

    snapshot: ScaleSetSnapshot
    changed: frozenset[str]
    generation: int
    #: The heatmap's rows per grouping, prepared off the loop (``heatmap.prepare_rows``).
    rows: Mapping[Grouping, Rows] | None = None
    #: The activity log's lines for this refresh, also prepared off the loop
    #: (``core.transitions.describe_transitions``); ``None``: the handler makes them.
    transitions: Sequence[str] | None = None


@dataclass
class SnapshotFailed(Message):
    """A refresh failed; the last good snapshot stays on screen."""

    error: str
    generation: int


@dataclass
class ClientEventReceived(Message):
    """A request, retry, throttle wait or operation update reported by the ARM client."""

    event: ClientEvent


@dataclass
class SubmitRequested(Message):
    """A dialog asks the App to confirm and send a change (``App.submit``)."""

    change: Change
    on_done: Callable[[ChangeFinished], None] | None = None


@dataclass
class ChangeEventReceived(Message):
    """A change being sent reported: accepted by Azure, a run started, a run's event."""

    event: ChangeEvent


@dataclass
class ChangeFinished(Message):
    """A submitted change ended: its ``outcome``, or the ``error`` it raised."""

    token: int
    change: Change
    outcome: Outcome | None
    error: Exception | None = None
