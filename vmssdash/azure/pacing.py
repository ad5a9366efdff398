"""The time and request budget one ARM client runs on, as one typed value.

The client owns the clock, the sleep and the throttle budget; everything that waits or
decides how often to read (the observer, the orchestrator, change runs) receives this value
explicitly instead of reaching into the client, so tests hand the app and the simulator one
virtual clock and mypy sees every call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vmssdash.azure.throttle import ThrottleBudget

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Pacing:
    clock: Clock
    sleep: Sleep
    budget: ThrottleBudget
