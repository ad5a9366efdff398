"""How long the rest of a run will take, learned rather than assumed.

The first ETA assumed 60 s per wave until real waves were timed: it said ``5m 00s`` for
ten seconds of work, then stayed at ``1m 00s`` through a whole wave. A wave's duration
depends on the image, the VM size and the extensions, all of which are the scale set's
own, so this learns per scale set: from the waves of its earlier runs (their journals)
and from the waves of this run as they finish. Without either it says it does not know
yet, and it always gives a range, because VMs of one set do not all take equally long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vmssdash.core.journal import list_journals, read_records

#: How many of the most recent past waves are kept (old runs say less about today).
HISTORY = 30


@dataclass(frozen=True)
class Eta:
    """Seconds left: the likely value and a range (low ≤ seconds ≤ high)."""

    seconds: float
    low: float
    high: float


def past_wave_seconds(
    directory: Path, scale_set_id: str, *, exclude: Path | None = None
) -> list[float]:
    """Durations of the finished waves of earlier runs on this scale set, oldest first:
    the seconds ``wave-done`` records (older journals: the time between the records)."""
    runs = [
        replay
        for replay in list_journals(directory)
        if replay.plan.scale_set_id.lower() == scale_set_id.lower() and replay.path != exclude
    ]
    out: list[float] = []
    for replay in sorted(runs, key=lambda r: r.last_ts):
        started: dict[int, float] = {}
        for record in read_records(replay.path):
            wave = record.get("wave")
            if not isinstance(wave, int):
                continue
            if record.get("kind") == "wave-start":
                started[wave] = float(record.get("ts", 0.0))
            elif record.get("kind") == "wave-done" and wave in started:
                begun = started.pop(wave)
                seconds = record.get("seconds")  # on the run's own clock, when recorded
                if not isinstance(seconds, (int, float)):
                    seconds = float(record.get("ts", 0.0)) - begun
                if seconds > 0:
                    out.append(float(seconds))
    return out[-HISTORY:]


def _spread(samples: Sequence[float]) -> tuple[float, float, float]:
    """(low, typical, high) of wave durations: the middle value and, with enough samples,
    the 10th and 90th percentiles (the extremes while there are few)."""
    ordered = sorted(samples)
    n = len(ordered)
    mid = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    if n < 10:
        return ordered[0], mid, ordered[-1]
    return ordered[n // 10], mid, ordered[(9 * n) // 10]


@dataclass
class Estimator:
    """Per-wave durations of this scale set: past runs', then this run's as they finish."""

    past: list[float] = field(default_factory=list)
    current: list[float] = field(default_factory=list)

    @classmethod
    def for_scale_set(
        cls, directory: Path | None, scale_set_id: str, *, exclude: Path | None = None
    ) -> Estimator:
        if directory is None:
            return cls()
        return cls(past=past_wave_seconds(directory, scale_set_id, exclude=exclude))

    def add(self, seconds: float) -> None:
        self.current.append(seconds)

    def samples(self) -> list[float]:
        """This run's waves say most about this run (same image, same hour): once two
        have finished, only they count; before that the past fills in."""
        if len(self.current) >= 2:
            return list(self.current)
        return self.current + self.past

    def per_wave(self) -> tuple[float, float, float] | None:
        samples = self.samples()
        return _spread(samples) if samples else None

    def remaining(
        self,
        *,
        waves_left: int,
        in_wave_for: float | None = None,
        pauses: float = 0.0,
        bakes: float = 0.0,
    ) -> Eta | None:
        """What is left: ``waves_left`` waves not started, the wave in flight for
        ``in_wave_for`` seconds so far (None: none in flight), fixed waits (pauses
        between waves, bakes) on top. None while nothing has been learned yet."""
        spread = self.per_wave()
        if spread is None:
            return None if waves_left or in_wave_for is not None else Eta(bakes, bakes, bakes)
        low, mid, high = spread
        fixed = pauses + bakes
        values = []
        for per_wave in (low, mid, high):
            current = max(per_wave - in_wave_for, 0.0) if in_wave_for is not None else 0.0
            values.append(fixed + current + waves_left * per_wave)
        # A wave already running longer than the longest seen so far is not done yet.
        return Eta(values[1], values[0], max(values[2], values[1]))


def learned_wave_seconds(directory: Path | None, scale_set_id: str) -> float | None:
    """The typical wave of this scale set's earlier runs, for a plan's estimate (None:
    no earlier run to learn from, and the plan should say its estimate is a guess)."""
    spread = Estimator.for_scale_set(directory, scale_set_id).per_wave()
    return spread[1] if spread else None
