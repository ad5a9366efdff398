"""What the orchestrator tells the outside world, as plain dataclasses.

The orchestrator must not know who listens (the TUI, the headless CLI, a test), so it
emits these values through one callback. Every event renders itself as one activity-log
line via ``text()``; the UI wraps them in Textual messages, the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vmssdash.core.words import count, vms


class RunState(Enum):
    """Mirrors ``rollingUpgrades/latest`` running-status codes, plus the idle/paused states."""

    IDLE = "idle"
    RUNNING = "rolling forward"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAULTED = "faulted"
    CANCELLED = "cancelled"
    HALTED = "halted"
    """A progressive run stopped by a breach (a wave's VM or a bake's watch)."""

    @property
    def is_terminal(self) -> bool:
        return self in (RunState.COMPLETED, RunState.FAULTED, RunState.CANCELLED, RunState.HALTED)


@dataclass(frozen=True)
class OrchestratorEvent:
    """Base class; ``at`` is the orchestrator's clock reading when it happened."""

    at: float

    def text(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class PlanStarted(OrchestratorEvent):
    plan_id: str
    scale_set: str
    waves: int
    vms: int
    resumed: bool = False

    def text(self) -> str:
        verb = "Resuming" if self.resumed else "Starting"
        return (
            f"{verb} plan {self.plan_id[:8]} on {self.scale_set}: "
            f"{count(self.waves, 'wave')}, {vms(self.vms)}"
        )


@dataclass(frozen=True)
class StateChanged(OrchestratorEvent):
    state: RunState
    reason: str = ""

    def text(self) -> str:
        return f"Run {self.state.value}{_tail(self.reason)}"


@dataclass(frozen=True)
class WaveStarted(OrchestratorEvent):
    index: int
    total: int
    label: str
    instance_ids: tuple[str, ...]

    def text(self) -> str:
        return (
            f"Wave {self.index + 1}/{self.total} ({self.label}): upgrading "
            f"{len(self.instance_ids)} VMs [{', '.join(self.instance_ids)}]"
        )


@dataclass(frozen=True)
class OperationDispatched(OrchestratorEvent):
    wave: int
    instance_ids: tuple[str, ...]
    operation: str = ""

    def text(self) -> str:
        return f"manualupgrade accepted for {len(self.instance_ids)} VMs"


@dataclass(frozen=True)
class OperationFinished(OrchestratorEvent):
    wave: int
    status: str
    error: str = ""

    def text(self) -> str:
        return f"manualupgrade {self.status}{_tail(self.error)}"


@dataclass(frozen=True)
class VmSettled(OrchestratorEvent):
    """A targeted VM reached a final verdict for this run."""

    instance_id: str
    ok: bool
    reason: str = ""

    def text(self) -> str:
        verdict = "upgraded, running and healthy" if self.ok else f"NOT OK ({self.reason})"
        return f"VM {self.instance_id}: {verdict}"


@dataclass(frozen=True)
class WaveFinished(OrchestratorEvent):
    index: int
    total: int
    ok: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float

    def text(self) -> str:
        bad = f", {len(self.failed)} unhealthy [{', '.join(self.failed)}]" if self.failed else ""
        return (
            f"Wave {self.index + 1}/{self.total} finished in {self.seconds:.0f} s: "
            f"{len(self.ok)} ok{bad}"
        )


@dataclass(frozen=True)
class Waiting(OrchestratorEvent):
    """Pause between waves; interruptible."""

    seconds: float
    before_wave: int

    def text(self) -> str:
        return f"Pausing {self.seconds:.0f} s before wave {self.before_wave + 1}"


@dataclass(frozen=True)
class Progress(OrchestratorEvent):
    waves_done: int
    waves_total: int
    vms_done: int
    vms_total: int
    vms_failed: int
    eta_seconds: float | None
    current_wave: int | None = None
    detail: str = ""
    eta_low: float | None = None
    eta_high: float | None = None

    @property
    def fraction(self) -> float:
        return self.vms_done / self.vms_total if self.vms_total else 1.0

    @property
    def eta_text(self) -> str:
        """``2m 10s (1m 50s–2m 40s)``; ``?`` until something has been learned."""
        if self.eta_seconds is None:
            return "?"
        low, high = self.eta_low, self.eta_high
        if low is None or high is None or round(low) == round(high):
            return format_seconds(self.eta_seconds)
        return f"{format_seconds(self.eta_seconds)} ({format_seconds(low)}–{format_seconds(high)})"

    def text(self) -> str:
        eta = f", ETA {self.eta_text}" if self.eta_seconds is not None else ""
        return (
            f"{self.waves_done}/{self.waves_total} waves, {self.vms_done}/{self.vms_total} VMs"
            f"{eta}" + (f" ({self.detail})" if self.detail else "")
        )


@dataclass(frozen=True)
class Note(OrchestratorEvent):
    """Anything else worth a line in the activity log (warnings, skips, resume decisions)."""

    message: str
    level: str = "info"

    def text(self) -> str:
        return self.message


@dataclass(frozen=True)
class RollingStatusEvent(OrchestratorEvent):
    """A fresh reading of the server-side ``rollingUpgrades/latest``."""

    code: str
    successful: int
    failed: int
    in_progress: int
    pending: int
    error: str = ""

    def text(self) -> str:
        return (
            f"Rolling upgrade {self.code}: {self.successful} done, {self.in_progress} in "
            f"progress, {self.pending} pending, {self.failed} failed{_tail(self.error)}"
        )


@dataclass(frozen=True)
class RunFinished(OrchestratorEvent):
    state: RunState
    reason: str
    upgraded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    not_done: tuple[str, ...] = ()

    def text(self) -> str:
        return (
            f"Run {self.state.value}{_tail(self.reason)} ({len(self.upgraded)} upgraded, "
            f"{len(self.failed)} unhealthy, {len(self.not_done)} not done)"
        )


def _tail(detail: str) -> str:
    """``": detail"``, or nothing when there is no detail."""
    return f": {detail}" if detail else ""


def format_seconds(seconds: float | None) -> str:
    """``1h 02m``, ``3m 20s``, ``45s``: short enough for a status bar."""
    if seconds is None:
        return "?"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
