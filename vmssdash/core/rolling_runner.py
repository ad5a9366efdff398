"""Rolling-mode scale sets: the server batches the upgrade; this starts, watches and
cancels it, with the same surface as ``Orchestrator`` so the UI and the CLI show both alike."""

from __future__ import annotations

from vmssdash.azure.errors import ArmError, ConflictError, OperationFailedError
from vmssdash.azure.pacing import Pacing
from vmssdash.core.events import (
    Note,
    Progress,
    RollingStatusEvent,
    RunFinished,
    RunState,
    StateChanged,
)
from vmssdash.core.runner import EventSink, Runner, RunResult, UpgradeApi

_ROLLING_STATES = {
    "rollingforward": RunState.RUNNING,
    "rollingback": RunState.RUNNING,
    "completed": RunState.COMPLETED,
    "faulted": RunState.FAULTED,
    "cancelled": RunState.CANCELLED,
    "canceled": RunState.CANCELLED,
}


class RollingRunner(Runner):
    """For Rolling-mode scale sets: the server batches; we start, watch and cancel it.

    Same surface as ``Orchestrator`` (run/pause/resume/abort, events), so the UI and the
    CLI show both the same way. Pause is not something the server offers.
    """

    def __init__(
        self,
        api: UpgradeApi,
        *,
        on_event: EventSink | None = None,
        pacing: Pacing | None = None,
        poll_interval: float = 5.0,
        start: bool = True,
    ) -> None:
        super().__init__(api, on_event=on_event, pacing=pacing, poll_interval=poll_interval)
        self.start = start
        self._cancel_sent = False

    @property
    def in_flight(self) -> tuple[str, ...]:
        return ()

    def pause(self) -> None:
        self._emit(
            Note(
                self.clock(),
                "A server-side rolling upgrade cannot be paused; abort cancels it "
                "(batches already upgrading finish).",
                "warning",
            )
        )

    def resume(self) -> None:
        return None

    def abort(self) -> None:
        if not self.state.is_terminal:
            self._abort_requested = True
            self._emit(
                Note(
                    self.clock(),
                    "Cancelling the rolling upgrade: no new batch starts; the batch in "
                    "progress cannot be recalled.",
                    "warning",
                )
            )

    async def run(self) -> RunResult:
        self.state = RunState.RUNNING
        self._emit(StateChanged(self.clock(), RunState.RUNNING, "server-side rolling upgrade"))
        if self.start:
            try:
                await self.api.begin_rolling_upgrade()
                self._emit(Note(self.clock(), "Rolling upgrade started on the server"))
            except ConflictError as exc:
                self._emit(
                    Note(self.clock(), f"A rolling upgrade is already running ({exc}); watching it")
                )
            except OperationFailedError as exc:
                return self._finish(RunState.FAULTED, str(exc))
            except ArmError as exc:
                return self._finish(RunState.FAULTED, f"{type(exc).__name__}: {exc}")
        while True:
            if self._abort_requested and not self._cancel_sent:
                self._cancel_sent = True
                try:
                    await self.api.begin_cancel_rolling_upgrade()
                except ArmError as exc:
                    self._emit(Note(self.clock(), f"Cancel refused: {exc}", "error"))
            try:
                status = await self.api.rolling_upgrade_latest()
            except ArmError as exc:
                return self._finish(RunState.FAULTED, f"{type(exc).__name__}: {exc}")
            props = status.properties
            code = (props.running_status.code if props.running_status else None) or "Unknown"
            progress = props.progress
            error = props.error.message if props.error and props.error.message else ""
            ok = progress.successful_instance_count if progress else 0
            bad = progress.failed_instance_count if progress else 0
            busy = progress.in_progress_instance_count if progress else 0
            pending = progress.pending_instance_count if progress else 0
            self._emit(RollingStatusEvent(self.clock(), code, ok, bad, busy, pending, error))
            total = ok + bad + busy + pending
            self._emit(
                Progress(
                    self.clock(),
                    waves_done=0,
                    waves_total=0,
                    vms_done=ok + bad,
                    vms_total=total,
                    vms_failed=bad,
                    eta_seconds=None,
                    detail=f"server-side rolling upgrade: {code}",
                )
            )
            state = _ROLLING_STATES.get(code.lower())
            if state is not None and state.is_terminal:
                return self._finish(state, error or code)
            await self.sleep(self.poll_interval)

    def _finish(self, state: RunState, reason: str) -> RunResult:
        self.state = state
        self.reason = reason
        self._emit(StateChanged(self.clock(), state, reason))
        self._emit(RunFinished(self.clock(), state, reason))
        return RunResult(state=state, reason=reason)
