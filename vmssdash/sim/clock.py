"""The simulator's clock: simulated seconds that run at a speed factor, or only on demand.

Everything in the simulated world is timed in simulated seconds since the clock's epoch.
A running clock maps real elapsed time through ``speed`` (a 20 s upgrade takes 2 s at
speed 10); a manual clock stands still until someone calls ``advance``, which is what
makes tests deterministic. Pausing freezes a running clock without losing its offset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: Epoch of manual clocks: a fixed instant so recorded timestamps repeat run to run.
MANUAL_EPOCH = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


class SimClock:
    """Simulated time in seconds since ``epoch``; monotonic, thread-safe."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        manual: bool = False,
        epoch: datetime | None = None,
        real: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self._lock = threading.Lock()
        self._real = real
        self._speed = speed
        self._manual = manual
        self._paused = manual
        self._offset = 0.0  # simulated seconds accumulated before the current run
        self._anchor = real()  # real time when the current run started
        self.epoch = epoch or (MANUAL_EPOCH if manual else datetime.now(UTC))

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def manual(self) -> bool:
        return self._manual

    @property
    def paused(self) -> bool:
        return self._paused

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._paused:
            return self._offset
        return self._offset + (self._real() - self._anchor) * self._speed

    def datetime_at(self, t: float) -> datetime:
        return self.epoch + timedelta(seconds=t)

    def advance(self, seconds: float) -> float:
        """Jump forward; works on running and manual clocks alike. Returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset = self._now_locked() + seconds
            self._anchor = self._real()
            return self._offset

    def pause(self) -> None:
        with self._lock:
            if not self._paused:
                self._offset = self._now_locked()
                self._paused = True

    def resume(self) -> None:
        """Let time run at ``speed``; a manual clock becomes a running one."""
        with self._lock:
            if self._paused:
                self._anchor = self._real()
                self._paused = False
                self._manual = False

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        with self._lock:
            self._offset = self._now_locked()
            self._anchor = self._real()
            self._speed = speed

    def real_seconds(self, simulated: float) -> float:
        """How long a client should wait for ``simulated`` seconds to pass (Retry-After).

        Always scaled by ``speed``, even while paused or manual: a test that drives a
        manual clock at speed 500 gets Retry-After values it can afford to honour."""
        return simulated / self._speed
