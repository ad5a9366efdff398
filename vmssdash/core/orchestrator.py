"""Run an upgrade plan wave by wave, health-gated, one operation in flight at a time.

Azure answers a second concurrent ``manualupgrade`` with 409, and the tools that fired
them in parallel (or upgraded everything with ``"*"``) took services down. So this runs
one wave at a time: journal, dispatch, wait for the operation, then verify each VM
itself (latest model, provisioned, running, healthy) rather than trusting the scale
set's provisioning state. The rolling-upgrade policy's unhealthy limits are checked
before and after every wave and stop the run as Faulted with the reason.

Time and the throttle budget come from a ``Pacing`` (by default the API's own), so tests
drive a simulator clock instead of waiting. One run per scale set is the caller's run
lock (``core.runlock``, taken by ``core.changes``), which also holds across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from vmssdash import __version__
from vmssdash.azure.errors import (
    ArmConnectionError,
    ArmError,
    ConflictError,
    ThrottledError,
)
from vmssdash.azure.pacing import Pacing
from vmssdash.core import bake
from vmssdash.core.eta import Estimator, Eta
from vmssdash.core.events import (
    Note,
    OperationDispatched,
    OperationFinished,
    PlanStarted,
    Progress,
    RunFinished,
    RunState,
    StateChanged,
    VmSettled,
    Waiting,
    WaveFinished,
    WaveStarted,
)
from vmssdash.core.health_gate import describe_wait, id_key, postcheck, precheck, verdict
from vmssdash.core.journal import Journal, Replay
from vmssdash.core.observer import Observer
from vmssdash.core.plan import Plan, Wave
from vmssdash.core.reading import VmReader
from vmssdash.core.runner import EventSink, Runner, RunResult, UpgradeApi
from vmssdash.core.state import VmInfo

#: Seconds between operation-status polls (at most; the poll interval if shorter).
OPERATION_POLL = 2.0
#: Up to this many VMs still settling, health is re-read as often as operations are polled.
FEW_PENDING = 20
#: The last health read of a wave also read the next wave's VMs: that reading is fresh
#: enough to choose what to send for this long (every retried dispatch reads anew).
FRESH_BETWEEN_WAVES = 60.0


class Orchestrator(Runner):
    """Executes one ``Plan`` against one scale set. Control with pause/resume/abort."""

    def __init__(
        self,
        api: UpgradeApi,
        plan: Plan,
        *,
        on_event: EventSink | None = None,
        journal: Journal | None = None,
        journal_dir: Path | None = None,
        replay: Replay | None = None,
        pacing: Pacing | None = None,
        poll_interval: float = 5.0,
        health_timeout: float = 300.0,
        conflict_retries: int = 5,
        reader: VmReader | None = None,
    ) -> None:
        super().__init__(api, on_event=on_event, pacing=pacing, poll_interval=poll_interval)
        self.plan = plan
        self.replay = replay
        self.reader: VmReader = reader or Observer(api, pacing=self.pacing)
        self.health_timeout = health_timeout
        self.conflict_retries = conflict_retries
        if journal is None and journal_dir is not None:
            journal = (
                Journal(replay.path) if replay is not None else Journal.create(journal_dir, plan)
            )
        self.journal = journal
        self._resume_event = asyncio.Event()
        self._resume_event.set()
        self._in_flight: tuple[str, ...] = ()
        self._ok: dict[str, None] = {}
        self._failed: dict[str, str] = {}
        self._waves_done = 0
        self._current_wave: int | None = None
        self._holds = bake.HoldProgress.load(replay.path) if replay else bake.HoldProgress()
        self._wave_started: float | None = None
        self._bake_end: float | None = None
        self._eta = Estimator.for_scale_set(
            self.journal.path.parent if self.journal else None,
            plan.scale_set_id,
            exclude=self.journal.path if self.journal else None,
        )
        self._waiting_promote = False
        self._promoted = False
        #: Seconds from an operation's end to its last VM settling, in the last wave
        #: (None until a wave of this run has been read to its end).
        self._settle_lag: float | None = None
        if replay is not None:
            self._ok = dict.fromkeys(sorted(replay.settled_ok))
            self._failed = {i: "unhealthy before the restart" for i in replay.settled_failed}
            self._waves_done = len(replay.waves_done)

    # ------------------------------------------------------------------ control

    @property
    def in_flight(self) -> tuple[str, ...]:
        return self._in_flight

    def poll_delay(self) -> float:
        """The poll interval between health looks, or longer while a 429's Retry-After
        runs. The reads themselves wait for their own budget in the reader's planner."""
        return max(self.poll_interval, self.pacing.budget.blocked_for())

    def _health_poll_delay(self, pending: int, wave_size: int) -> float:
        """A few VMs still settling (or the last quarter of a wave) are looked at again
        soon, one view each; a whole batch is re-read at the poll interval, so its reads do
        not eat the read budget."""
        few = pending <= max(FEW_PENDING, wave_size // 4)
        return self.operation_poll_delay() if few else self.poll_delay()

    def operation_poll_delay(self) -> float:
        """Operation-status polls are charged to GetOperation (15,000 per 3 min): poll
        them often, so a wave's end is seen within seconds of Azure finishing it."""
        quick = min(self.poll_interval, OPERATION_POLL)
        return max(quick, self.pacing.budget.suggested_interval(quick, "GetOperation"))

    def pause(self) -> None:
        """Finish the current wave, then wait for ``resume`` (or ``abort``)."""
        if self.state.is_terminal or self._abort_requested:
            return
        self._pause_requested = True
        self._resume_event.clear()
        self._note(
            "Pause requested: no new wave starts until you resume"
            + (" (the wave in flight finishes first)" if self._in_flight else "")
        )

    @property
    def waiting_for_promote(self) -> bool:
        return self._waiting_promote

    def promote(self) -> None:
        """Release a ``pause`` step of the plan (the person has seen enough)."""
        if self._waiting_promote:
            self._promoted = True
            self._note("Promoted: the run goes on")

    def resume(self) -> None:
        if self._waiting_promote:
            self.promote()
        if not self._pause_requested:
            return
        self._pause_requested = False
        self._resume_event.set()
        if self.state is RunState.PAUSED:
            self._set_state(RunState.RUNNING, "resumed")

    def abort(self) -> None:
        """Stop starting waves. An upgrade already sent to Azure cannot be recalled."""
        if self.state.is_terminal or self._abort_requested:
            return
        self._abort_requested = True
        self._resume_event.set()
        if self._in_flight:
            self._note(
                f"Abort requested: no new wave will start. The wave in flight "
                f"({len(self._in_flight)} VMs: {', '.join(self._in_flight)}) cannot be "
                "recalled; Azure finishes it and vmssdash keeps watching it.",
                level="warning",
            )
        else:
            self._note("Abort requested: no new wave will start.", level="warning")

    # ------------------------------------------------------------------ events

    def _note(self, message: str, level: str = "info") -> None:
        self._emit(Note(self.clock(), message, level))
        self._journal("note", message=message, level=level)

    def _journal(self, kind: str, **data: object) -> None:
        if self.journal is not None:
            self.journal.append(kind, **data)

    def _set_state(self, state: RunState, reason: str = "") -> None:
        self.state = state
        if reason:
            self.reason = reason
        self._journal("state", state=state.name.lower(), reason=reason)
        self._emit(StateChanged(self.clock(), state, reason))

    def _progress(self, detail: str = "") -> None:
        total_waves = len(self.plan.waves)
        targets = self.plan.targets
        done = len([i for i in targets if i in self._ok or i in self._failed])
        eta = None if self.state.is_terminal else self._eta_left()
        self._emit(
            Progress(
                self.clock(),
                waves_done=self._waves_done,
                waves_total=total_waves,
                vms_done=done,
                vms_total=len(targets),
                vms_failed=len([i for i in targets if i in self._failed]),
                eta_seconds=0.0 if self.state.is_terminal else (eta.seconds if eta else None),
                current_wave=self._current_wave,
                detail=detail,
                eta_low=eta.low if eta else None,
                eta_high=eta.high if eta else None,
            )
        )

    def _eta_left(self) -> Eta | None:
        """Learned from this scale set's past waves and this run's (``core.eta``)."""
        in_flight = self._current_wave is not None and self._wave_started is not None
        left = len(self.plan.waves) - self._waves_done - (1 if in_flight else 0)
        now = self.clock()
        last_done = (self._current_wave or 0) - 1 if in_flight else self._waves_done - 1
        baking = max(0.0, self._bake_end - now) if self._bake_end is not None else 0.0
        return self._eta.remaining(
            waves_left=max(left, 0),
            in_wave_for=now - self._wave_started if self._wave_started is not None else None,
            pauses=max(left, 0) * self.plan.policy.pause_seconds,
            bakes=self.plan.bake_seconds_after(last_done) + baking,
        )

    # ------------------------------------------------------------------ run

    async def run(self) -> RunResult:
        resumed = self.replay is not None
        self._journal("start", resumed=resumed, version=__version__)
        self._emit(
            PlanStarted(
                self.clock(),
                self.plan.plan_id,
                self.plan.scale_set_name,
                len(self.plan.waves),
                len(self.plan.targets),
                resumed=resumed,
            )
        )
        self._set_state(RunState.RUNNING)
        self._progress()
        executed = 0
        try:
            for wave in self.plan.waves:
                if self.replay is not None and wave.index in self.replay.waves_done:
                    halted = await self._after_wave(wave)
                    if halted:
                        return self._finish(RunState.HALTED, halted)
                    continue
                if executed and self.plan.policy.pause_seconds > 0:
                    await self._pause_between(wave.index)
                await self._gate()
                if self._abort_requested:
                    break
                faulted = await self._run_wave(wave)
                executed += 1
                if self.plan.halts_on_breach:
                    halted = bake.wave_breach(wave, self._failed) or faulted
                    halted = halted or await self._after_wave(wave)
                    if halted:
                        return self._finish(RunState.HALTED, halted)
                if faulted:
                    return self._finish(RunState.FAULTED, faulted)
                await self._gate()
                if self._abort_requested:
                    break
        except ArmError as exc:
            return self._finish(RunState.FAULTED, f"{type(exc).__name__}: {exc}")
        if self._abort_requested:
            return self._finish(RunState.CANCELLED, "aborted by the user")
        return self._finish(RunState.COMPLETED, "")

    async def _after_wave(self, wave: Wave) -> str:
        """Run the holds that follow ``wave`` (bakes, pauses) not done yet; a halt reason
        or ""."""
        journal = bake.Journaled(self.journal.path if self.journal else None, self._journal)
        for n, hold in enumerate(wave.after):
            at = (wave.index, n)
            if at in self._holds.done or self._abort_requested:
                continue
            self._journal(
                "hold-start", wave=wave.index, hold=n, hold_kind=hold.kind, seconds=hold.seconds
            )
            if hold.kind == "bake":
                watched = sorted(self._ok, key=id_key)
                already = self._holds.watched.get(at, 0.0)
                self._note(
                    f"Baking {hold.text()[5:]} after wave {wave.index + 1} ({wave.label}): "
                    f"watching {len(watched)} upgraded VMs"
                    + (f" ({already:.0f} s watched before the restart)" if already else "")
                )
                self._bake_end = self.clock() + hold.seconds - already
                reason = await bake.bake(
                    hold=hold,
                    wave=wave,
                    at=at,
                    watched_ids=watched,
                    policy=self.plan.policy,
                    read=self._read,
                    clock=self.clock,
                    sleep=self.sleep,
                    interval=self.poll_delay,
                    journal=journal,
                    stopping=lambda: self._abort_requested,
                    progress=self._progress,
                    already=already,
                )
                self._bake_end = None
                if reason:
                    self._journal("hold-done", wave=wave.index, hold=n, ok=False, reason=reason)
                    return reason
            else:
                self._waiting_promote, self._promoted = True, False
                where = f"after wave {wave.index + 1} ({wave.label})"
                self._note(f"Paused {where}: promote to go on")
                self._set_state(RunState.PAUSED, f"waiting for promote {where}")
                try:
                    await bake.wait_for_promote(
                        wave=wave,
                        at=at,
                        promoted=lambda: self._promoted or self._abort_requested,
                        journal=journal,
                        sleep=self.sleep,
                        interval=self.poll_delay,
                        progress=self._progress,
                    )
                finally:
                    self._waiting_promote = False
                if not self._abort_requested:
                    self._set_state(RunState.RUNNING, "promoted")
            if self._abort_requested:
                return ""
            self._holds.done.add(at)
            self._journal("hold-done", wave=wave.index, hold=n, ok=True, reason="")
        return ""

    async def _gate(self) -> None:
        """Hold here while paused; abort releases the hold."""
        if self._pause_requested and not self._abort_requested:
            self._set_state(RunState.PAUSED, "paused by the user")
            await self._resume_event.wait()
            if not self._abort_requested and self.state is RunState.PAUSED:
                self._set_state(RunState.RUNNING, "resumed")

    async def _hold(self, reason: str) -> None:
        """Pause the run for a reason of Azure's (not the user's) until resume or abort."""
        self._pause_requested = True
        self._resume_event.clear()
        self._note(f"{reason}; paused: resume to retry (nothing accepted is sent again)", "error")
        self._set_state(RunState.PAUSED, reason)
        await self._resume_event.wait()
        if not self._abort_requested and self.state is RunState.PAUSED:
            self._set_state(RunState.RUNNING, "resumed")

    async def _pause_between(self, next_wave: int) -> None:
        seconds = self.plan.policy.pause_seconds
        self._emit(Waiting(self.clock(), seconds, next_wave))
        self._journal("pause-between", wave=next_wave, seconds=seconds)
        end = self.clock() + seconds
        while not self._abort_requested:
            left = end - self.clock()
            if left <= 0:
                break
            await self.sleep(min(left, self.poll_interval))

    async def _read(
        self, ids: Iterable[str] = (), reason: str = "", *, since: float | None = None
    ) -> dict[str, VmInfo]:
        """The VMs as the observer knows them, ``ids`` read no earlier than ``since``
        (now by default). Waits, never fails, while the read budget is spent."""
        newer_than = self.clock() if since is None else since
        return await self.reader.read_vms(tuple(ids), newer_than=newer_than, reason=reason)

    def _partition(
        self, wave: Wave, infos: dict[str, VmInfo]
    ) -> tuple[list[str], list[str], list[str]]:
        """(dispatch, watch, already done) for a wave, honouring a resumed journal.

        A VM of a wave whose dispatch may have reached Azure before a crash is never sent
        again: if it shows any sign of the upgrade it is only watched.
        """
        in_doubt = self.replay.in_doubt.get(wave.index) if self.replay else None
        accepted = bool(self.replay and wave.index in self.replay.accepted)
        dispatch: list[str] = []
        watch: list[str] = []
        done: list[str] = []
        touched = in_doubt is not None and (
            accepted
            or any(
                (v := infos.get(i)) is not None and (v.latest_model or v.state.is_transitional)
                for i in in_doubt
            )
        )
        for iid in wave.instance_ids:
            vm = infos.get(iid)
            if iid in self._ok:
                done.append(iid)
            elif vm is None or vm.unreadable is not None:
                watch.append(iid)  # gone or unreadable: never sent blind (issue 13)
            elif vm.latest_model:
                (watch if vm.state.is_transitional or not vm.is_healthy else done).append(iid)
            elif in_doubt is not None and iid in in_doubt and touched:
                watch.append(iid)
            else:
                dispatch.append(iid)
        return dispatch, watch, done

    async def _run_wave(self, wave: Wave) -> str:
        """Run one wave; return a Faulted reason, or "" to go on."""
        started = self.clock()
        total = len(self.plan.waves)
        self._current_wave = wave.index
        self._wave_started = None
        read_at = self.clock()
        if self._settle_lag is not None:  # the last wave's health reads saw these VMs too
            read_at -= FRESH_BETWEEN_WAVES
        infos = await self._read(wave.instance_ids, f"before wave {wave.index + 1}", since=read_at)
        dispatch, watch, done = self._partition(wave, infos)
        if dispatch:  # what a revert puts back (``core.revert``)
            self._journal(
                "before",
                wave=wave.index,
                versions={i: v.image_version for i in dispatch if (v := infos.get(i))},
            )
        for iid in done:
            if iid not in self._ok:
                self._ok[iid] = None
                self._journal("vm", instance_id=iid, ok=True, reason="already on the latest model")
        if watch:
            self._note(
                f"Wave {wave.index + 1}: VMs {', '.join(watch)} were already dispatched before "
                "the restart; watching them, not upgrading them again"
            )
        if done and self.replay is not None:
            self._note(f"Wave {wave.index + 1}: VMs {', '.join(done)} already upgraded")
        if not dispatch and not watch:
            self._journal("wave-done", wave=wave.index)
            self._waves_done += 1
            self._progress()
            return ""
        self._wave_started = started
        self._emit(
            WaveStarted(self.clock(), wave.index, total, wave.label, tuple(dispatch + watch))
        )
        self._journal("wave-start", wave=wave.index, instance_ids=dispatch + watch)
        self._progress(f"wave {wave.index + 1}: {wave.label}")
        reason = precheck(infos, dispatch + watch, self.plan.policy.max_unhealthy_percent)
        if reason:
            return f"before wave {wave.index + 1}: {reason}"
        op_error: str | None = None
        if dispatch:
            op_error = await self._dispatch(wave, dispatch, read_at)
            if self._abort_requested and op_error == _NOT_SENT:
                return ""
        targets = dispatch + watch
        off = {i for i in targets if (v := infos.get(i)) is not None and v.power_state in _OFF}
        self._in_flight = tuple(targets)
        try:
            await self._wait_vms(wave, targets, op_error, off)
        finally:
            self._in_flight = ()
        ok = tuple(i for i in targets if i in self._ok)
        failed = tuple(i for i in targets if i in self._failed)
        seconds = self.clock() - started
        self._eta.add(seconds)
        self._wave_started = None
        self._waves_done += 1
        self._journal(
            "wave-done", wave=wave.index, ok=list(ok), failed=list(failed), seconds=seconds
        )
        self._emit(WaveFinished(self.clock(), wave.index, total, ok, failed, seconds))
        self._progress()
        reason = postcheck(
            len(self._ok), self._failed, self.plan.policy.max_unhealthy_upgraded_percent
        )
        return f"after wave {wave.index + 1}: {reason}" if reason else ""

    async def _dispatch(self, wave: Wave, ids: list[str], read_at: float) -> str | None:
        """One manualupgrade for the wave, waited to its end; returns an error text or None.

        Before every attempt (a retry after 409 or after a failed send included) the
        targets are read again and those already on the latest model or busy are dropped:
        a request Azure may have taken is never sent twice. A 5xx or a dropped connection
        pauses the run with the reason (the journal keeps the plan open); resume retries
        with what was never accepted.
        """
        conflicts = 0
        since = read_at
        while True:
            infos = await self._read(ids, f"before dispatching wave {wave.index + 1}", since=since)
            send = [i for i in ids if _needs_sending(infos.get(i))]
            dropped = [i for i in ids if i not in send]
            if dropped:
                self._note(
                    f"Wave {wave.index + 1}: VMs {', '.join(dropped)} already on the latest "
                    "model or busy; not sent again"
                )
            if not send:
                return None
            self._journal("dispatch", wave=wave.index, instance_ids=send)
            self._in_flight = tuple(ids)
            try:
                operation = await self.api.begin_manual_upgrade(send)
                break
            except ArmError as exc:
                self._journal(
                    "dispatch-failed",
                    wave=wave.index,
                    instance_ids=send,
                    error=str(exc),
                    request_id=exc.request_id,
                    correlation_id=exc.correlation_id,
                )
                self._in_flight = ()
                if isinstance(exc, ConflictError) and conflicts < self.conflict_retries:
                    conflicts += 1
                    self._note(
                        f"Scale set busy ({exc}); retrying in {self.poll_interval:g} s", "warning"
                    )
                    await self.sleep(self.poll_interval)
                elif isinstance(exc, ThrottledError):
                    wait = max(exc.retry_after or 0.0, self.pacing.budget.blocked_for(), 1.0)
                    self._note(f"Waiting for write budget: {wait:.0f} s ({exc})", "warning")
                    await self.sleep(wait)
                elif _resumable(exc):
                    await self._hold(f"dispatch of wave {wave.index + 1} failed: {exc}")
                    if self._abort_requested:
                        return _NOT_SENT
                else:
                    raise
            since = self.clock()
        headers = operation.response.headers
        self._journal(
            "accepted",
            wave=wave.index,
            instance_ids=ids,
            operation=operation.url or "",
            request_id=headers.get("x-ms-request-id"),
            correlation_id=headers.get("x-ms-correlation-request-id"),
        )
        self.reader.expect_change(send)
        self._emit(OperationDispatched(self.clock(), wave.index, tuple(ids), operation.url or ""))
        try:
            while not operation.done:
                await self.sleep(self.operation_poll_delay())
                await operation.poll()
        except ArmError as exc:
            self._journal(
                "operation",
                wave=wave.index,
                status="unknown",
                error=str(exc),
                request_id=exc.request_id,
            )
            self._note(f"Lost track of the operation ({exc}); checking the VMs instead", "warning")
            return None
        status = operation.status
        error = ""
        if not operation.succeeded:
            detail = status.error
            error = (
                f"{detail.code}: {detail.message}" if detail and detail.message else status.status
            )
        self._journal("operation", wave=wave.index, status=status.status, error=error)
        self._emit(OperationFinished(self.clock(), wave.index, status.status, error))
        return error or None

    async def _wait_vms(
        self, wave: Wave, ids: list[str], op_error: str | None, off: set[str]
    ) -> None:
        pending = [i for i in ids if i not in self._ok]
        started = self.clock()
        deadline = started + self.health_timeout
        last: dict[str, VmInfo] = {}
        if op_error is None and len(pending) > FEW_PENDING:
            # VMs turn healthy some seconds after Azure's operation ends (the last wave
            # says how many; two poll intervals until one has): reading a big wave before
            # then buys a second read of most of it, from the budget the next wave and the
            # dashboard need.
            lag = self._settle_lag if self._settle_lag is not None else 2 * self.poll_delay()
            await self.sleep(max(0.0, lag - self.operation_poll_delay()))
        while True:
            look = self.clock()
            last = await self._read(pending, f"health of wave {wave.index + 1}")
            for iid in list(pending):
                outcome = verdict(last.get(iid), operation_failed=op_error, was_off=iid in off)
                if outcome is None:
                    continue
                pending.remove(iid)
                self._settle(iid, *outcome)
            if not pending:
                self._settle_lag = look - started
                return
            if self.clock() >= deadline:
                for iid in pending:
                    self._settle(
                        iid,
                        False,
                        f"not healthy within {self.health_timeout:g} s ({describe_wait(last.get(iid))})",
                    )
                return
            self._progress(f"wave {wave.index + 1}: waiting for {len(pending)} VMs")
            await self.sleep(
                min(
                    self._health_poll_delay(len(pending), len(ids)),
                    max(0.0, deadline - self.clock()),
                )
                or self.poll_interval
            )

    def _settle(self, iid: str, ok: bool, reason: str) -> None:
        if ok:
            self._ok[iid] = None
            self._failed.pop(iid, None)
        else:
            self._failed[iid] = reason
        self._journal("vm", instance_id=iid, ok=ok, reason=reason)
        self._emit(VmSettled(self.clock(), iid, ok, reason))

    def _finish(self, state: RunState, reason: str) -> RunResult:
        targets = self.plan.targets
        not_done = [i for i in targets if i not in self._ok and i not in self._failed]
        self._current_wave = None
        self._set_state(state, reason)
        self._journal("finished", state=state.name.lower(), reason=reason, not_done=not_done)
        result = RunResult(
            state=state,
            reason=reason,
            upgraded=[i for i in targets if i in self._ok],
            failed={i: r for i, r in self._failed.items() if i in set(targets)},
            not_done=not_done,
        )
        self._emit(
            RunFinished(
                self.clock(),
                state,
                reason,
                tuple(result.upgraded),
                tuple(result.failed),
                tuple(not_done),
            )
        )
        self._progress()
        return result


_OFF = ("deallocated", "stopped")
#: ``_dispatch``'s answer when the run was aborted before the wave was sent.
_NOT_SENT = "not sent: the run was aborted"


def _needs_sending(vm: VmInfo | None) -> bool:
    """Still to be sent: present, not on the latest model, and not busy with anything."""
    return vm is not None and vm.latest_model is False and not vm.state.is_transitional


def _resumable(exc: ArmError) -> bool:
    """A send whose fate a retry can settle: a server error or a lost connection."""
    return isinstance(exc, ArmConnectionError) or (exc.status is not None and exc.status >= 500)
