"""Client events: what the activity log shows about the wire.

The client reports requests, retries, throttling and long-running-operation progress as
plain frozen dataclasses through a callback, so the UI can show *why* things are slow
without the client knowing anything about the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientEvent:
    """One thing worth telling the user about.

    ``kind`` is one of ``"request" | "retry" | "throttle" | "lro" | "error"``.
    """

    kind: str
    message: str
    method: str | None = None
    url: str | None = None
    status: int | None = None
    wait: float | None = None
    request_id: str | None = None


EventSink = Callable[[ClientEvent], None]


def ignore_events(event: ClientEvent) -> None:
    """The default sink: the client must work without anyone listening."""
