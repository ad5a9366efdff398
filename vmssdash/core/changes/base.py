"""What every change shares: its scope, its words, the one "large" rule, how it runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from vmssdash.azure.lro import Operation
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.pacing import Pacing
from vmssdash.core.events import OrchestratorEvent
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Skip
from vmssdash.core.plan_text import ids_text, skipped_lines
from vmssdash.core.reading import VmReader
from vmssdash.core.rolling_runner import RollingRunner
from vmssdash.core.runlock import RunLock
from vmssdash.core.runner import RunResult, UpgradeApi

#: Changes touching more VMs than this (or the whole set) need the scale set's name typed.
LARGE_OVER = 20


def is_large(count: int, total: int) -> bool:
    """The one rule for "type the name to confirm": many VMs, or all of them."""
    return count > LARGE_OVER or (total > 0 and count >= total)


class ChangeApi(UpgradeApi, Protocol):
    """The writes of ``ScaleSetApi`` that changes send (a fake can stand in)."""

    async def begin_action(self, action: str, instance_ids: Iterable[str | int]) -> Operation: ...

    async def set_capacity(self, n: int, *, etag: str | None) -> ScaleSet: ...

    async def update_model(
        self, patch: dict[str, Any], *, etag: str | None, base: ScaleSet | None = None
    ) -> ScaleSet: ...


@dataclass(frozen=True)
class RunContext:
    """What a change needs to run: the API, time, the reader a run gates on, the journal
    folder and this scale set's run lock; who runs it against which endpoint (the run's
    ``context`` record), and records the caller adds to the run's journal (the headless
    model change)."""

    api: ChangeApi
    pacing: Pacing
    reader: VmReader
    journal_dir: Path
    lock: RunLock
    poll_interval: float = 5.0
    health_timeout: float = 300.0
    identity: str = ""
    endpoint: str = ""
    records: tuple[tuple[str, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class Accepted:
    """Azure accepted the request (the marked VMs it was about can be unmarked)."""

    what: str


@dataclass(frozen=True)
class RunStarted:
    """A run began: ``control`` pauses, resumes and aborts it."""

    control: Orchestrator | RollingRunner


ChangeEvent = Accepted | RunStarted | OrchestratorEvent
Emit = Callable[[ChangeEvent], None]


@dataclass(frozen=True)
class Outcome:
    """How a change ended: ``detail`` for the log; a run's result; the fresh model."""

    ok: bool
    detail: str
    result: RunResult | None = None
    scale_set: ScaleSet | None = None


@dataclass(frozen=True)
class Scope:
    """The exact instance ids sent, the ids skipped and why, and the set's size."""

    sent: tuple[str, ...]
    skipped: tuple[Skip, ...] = ()
    total: int = 0

    def lines(self) -> list[str]:
        out = [f"Instance ids: {ids_text(self.sent)}"] if self.sent else []
        return out + skipped_lines(self.skipped)


class Change(ABC):
    """One write to one scale set, described before it is sent."""

    #: A run holds the scale set's run lock and shows in the run pane.
    is_run: ClassVar[bool] = False

    @property
    @abstractmethod
    def scale_set_name(self) -> str: ...

    @property
    @abstractmethod
    def scope(self) -> Scope: ...

    @property
    def confirm_label(self) -> str:
        return "Confirm"

    @property
    @abstractmethod
    def title(self) -> str:
        """The confirmation's question."""

    @property
    @abstractmethod
    def what(self) -> str:
        """Short name while in flight: "restart of VM 3"."""

    @abstractmethod
    def describe(self) -> str:
        """The confirmation body: exactly what will be sent."""

    @property
    def is_large(self) -> bool:
        return is_large(len(self.scope.sent), self.scope.total)

    @abstractmethod
    async def run(self, ctx: RunContext, emit: Emit) -> Outcome: ...
