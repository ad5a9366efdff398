"""What every upgrade runner shares: the API it drives, the result it returns, and the
base that gives ``Orchestrator`` and ``RollingRunner`` one surface for the UI and the CLI."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from vmssdash.azure.lro import Operation
from vmssdash.azure.models.operations import RollingUpgradeStatus
from vmssdash.azure.pacing import Clock, Pacing, Sleep
from vmssdash.core.events import OrchestratorEvent, RunState
from vmssdash.core.readings import ObservableApi

EventSink = Callable[[OrchestratorEvent], None]


class UpgradeApi(ObservableApi, Protocol):
    """The part of ``ScaleSetApi`` the orchestrator uses (a fake can stand in): the
    observer's reads, plus the writes a run sends."""

    @property
    def name(self) -> str: ...

    async def begin_manual_upgrade(self, instance_ids: Iterable[str | int]) -> Operation: ...

    async def begin_rolling_upgrade(self) -> Operation: ...

    async def rolling_upgrade_latest(self) -> RollingUpgradeStatus: ...

    async def begin_cancel_rolling_upgrade(self) -> Operation: ...


@dataclass
class RunResult:
    state: RunState
    reason: str
    upgraded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_done: list[str] = field(default_factory=list)


class Runner:
    """What ``Orchestrator`` and ``RollingRunner`` share, so the UI and the CLI drive both
    the same way: time from a ``Pacing`` (the API's unless given), events to one callback."""

    def __init__(
        self,
        api: UpgradeApi,
        *,
        on_event: EventSink | None,
        pacing: Pacing | None,
        poll_interval: float,
    ) -> None:
        self.api = api
        self._emit_to = on_event or (lambda _e: None)
        self.pacing = pacing or api.pacing
        self.clock: Clock = self.pacing.clock
        self.sleep: Sleep = self.pacing.sleep
        self.poll_interval = poll_interval
        self.state = RunState.IDLE
        self.reason = ""
        self._abort_requested = False
        self._pause_requested = False

    @property
    def pause_requested(self) -> bool:
        """Paused, or pausing after the wave in flight: the next toggle resumes."""
        return self._pause_requested

    @property
    def waiting_for_promote(self) -> bool:
        """At a ``pause`` step of the plan (only plans built from steps have them)."""
        return False

    def promote(self) -> None:
        return None

    def _emit(self, event: OrchestratorEvent) -> None:
        # A broken listener must not break a half-done upgrade.
        with contextlib.suppress(Exception):
            self._emit_to(event)
