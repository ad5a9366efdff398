"""The App's only way to change Azure: keys build ``core.changes`` values, ``submit`` sends them.

``submit(change)``: the change's own confirmation → registered in flight → a worker runs
``change.run(ctx, emit)`` → its events come back as ``ChangeEventReceived`` messages →
``ChangeFinished`` carries the outcome. This base class of the App owns the in-flight
list and the run view; the dashboard (``VmssDashApp``) adds the heatmap and the refresh.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App
from textual.command import CommandPalette
from textual.screen import ModalScreen

from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.config import Settings
from vmssdash.core.changes import (
    Accepted,
    Change,
    ChangeEvent,
    RunContext,
    RunStarted,
)
from vmssdash.core.events import (
    Progress,
    RunFinished,
    RunState,
    StateChanged,
)
from vmssdash.core.journal import default_journal_dir
from vmssdash.core.reading import VmReader
from vmssdash.core.runlock import RunLock, default_lock_dir
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo
from vmssdash.ui.messages import ChangeEventReceived, ChangeFinished, SubmitRequested
from vmssdash.ui.run_pane import RunView
from vmssdash.ui.screens.confirm import ConfirmScreen

OnDone = Callable[[ChangeFinished], None]


class WritePath(App[None]):
    #: Actions that change Azure: hidden and refused in read-only mode.
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "upgrade",
            "edit_model",
            "plan",
            "vm_actions",
            "pause_run",
            "abort_run",
            "scale",
            "promote_run",
            "revert_run",
        }
    )
    #: The dashboard's own actions: no key reaches them while a dialog is open (Tab,
    #: ctrl+q and the dialog's keys still work).
    DASHBOARD_ACTIONS: ClassVar[set[str]] = {"command_palette", *WRITE_ACTIONS}

    api: ScaleSetApi
    read_only: bool
    snapshot: ScaleSetSnapshot | None
    settings: Settings | None

    def setup_writes(
        self,
        *,
        journal_dir: Path | None,
        lock_dir: Path | None,
        reader: VmReader,
        run_poll_interval: float,
        identity: str,
        endpoint: str,
    ) -> None:
        self.journal_dir = journal_dir or default_journal_dir()
        self.run_view = RunView()
        self.previous_model: ScaleSet | None = None
        # What was sent to Azure and has not finished: "restart of VM 3", ...
        self._in_flight: dict[int, Change] = {}
        self._on_done: dict[int, OnDone] = {}
        self._tokens = 0
        self._resume_offered = False
        self.run_context = RunContext(
            api=self.api,
            pacing=self.api.pacing,
            reader=reader,
            journal_dir=self.journal_dir,
            lock=RunLock(lock_dir or default_lock_dir(), self.api.path),
            poll_interval=run_poll_interval,
            # The run's ``context`` record names who ran it from where, as a headless run.
            identity=identity,
            endpoint=endpoint,
        )

    # What the dashboard provides.

    @property
    @abstractmethod
    def marked(self) -> frozenset[str]: ...

    @property
    @abstractmethod
    def cursor_vm(self) -> VmInfo | None: ...

    @abstractmethod
    def clear_marks(self) -> None: ...

    @abstractmethod
    def log_activity(self, *texts: str) -> None: ...

    @abstractmethod
    def changes_sent(self) -> None:
        """Something changed in Azure: refresh soon, and keep refreshing often."""

    @abstractmethod
    def show_state(self) -> None:
        """The header and run pane show the in-flight list and the run."""

    # ------------------------------------------------------------------ gates

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen = self.screen
        dialog = isinstance(screen, ModalScreen) and not isinstance(screen, CommandPalette)
        if dialog and action in self.DASHBOARD_ACTIONS:
            return False  # no key escapes a dialog to the dashboard
        return not (self.read_only and action in self.WRITE_ACTIONS)

    def busy(self) -> list[str]:
        """Everything in flight that changes the scale set: sent changes and the run."""
        out = [f"{c.what} in flight" for c in self._in_flight.values()]
        text = self.run_view.busy_text()
        return out + ([text] if text else [])

    @property
    def dispatching(self) -> bool:
        """Something this app sent to Azure has not finished yet (a run counts)."""
        return bool(self._in_flight) or self.run_view.running

    # ------------------------------------------------------------------ submit

    def submit(self, change: Change, on_done: OnDone | None = None) -> None:
        """The one path from a key to Azure: confirm, then send in a worker."""
        if self.read_only:
            self.notify("read-only mode: no changes", severity="warning")
            return
        if change.is_run and (self.run_view.running or self._in_flight):
            busy = self.busy()
            self.notify(f"{busy[0]}; wait for it, or pause/abort it first", severity="warning")
            return

        def decided(ok: bool | None) -> None:
            if ok:
                self._send(change, on_done)

        self.push_screen(ConfirmScreen.for_change(change), callback=decided)

    @on(SubmitRequested)
    def _submit_requested(self, message: SubmitRequested) -> None:
        self.submit(message.change, message.on_done)

    def _send(self, change: Change, on_done: OnDone | None) -> None:
        self._tokens += 1
        token = self._tokens
        if not change.is_run:
            self._in_flight[token] = change
        if on_done is not None:
            self._on_done[token] = on_done
        self.log_activity(f"{change.what} requested")
        self.show_state()
        self.run_worker(self._send_and_wait(token, change), group="changes", exit_on_error=False)

    async def _send_and_wait(self, token: int, change: Change) -> None:
        def emit(event: ChangeEvent) -> None:
            self.post_message(ChangeEventReceived(event))

        try:
            outcome = await change.run(self.run_context, emit)
        except Exception as exc:  # every failure is reported; none may kill the app
            self.post_message(ChangeFinished(token, change, None, exc))
        else:
            self.post_message(ChangeFinished(token, change, outcome))

    @on(ChangeEventReceived)
    def _change_event(self, message: ChangeEventReceived) -> None:
        event = message.event
        if isinstance(event, Accepted):
            self.log_activity(f"{event.what}: accepted")
            self.clear_marks()
            self.changes_sent()
            return
        if isinstance(event, RunStarted):
            self.run_view.start(event.control)
            self.clear_marks()
            self.show_state()
            return
        self.run_view.apply(event)
        # Progress shows in the pane; a terminal StateChanged says what RunFinished says
        # next: log the run's end once.
        repeats = isinstance(event, StateChanged) and event.state.is_terminal
        if not isinstance(event, Progress) and not repeats:
            self.log_activity(f"upgrade: {event.text()}")
        # A run reads what it needs through the observer, which publishes to the screen:
        # forcing a full refresh on each of its events would spend the list budget the
        # run and the dashboard share (20 calls a look at 1,000 VMs). Its end is one look.
        if isinstance(event, RunFinished):
            self.changes_sent()
            ok = event.state is RunState.COMPLETED
            self.notify(event.text(), severity="information" if ok else "error", timeout=10)
        self.show_state()

    @on(ChangeFinished)
    def _change_finished(self, message: ChangeFinished) -> None:
        change, outcome, error = message.change, message.outcome, message.error
        self._in_flight.pop(message.token, None)
        on_done = self._on_done.pop(message.token, None)
        if error is not None:
            text = str(error) or type(error).__name__
            if change.is_run and self.run_view.running:
                self.run_view.state, self.run_view.reason = (
                    RunState.FAULTED,
                    f"internal error: {text}",
                )
            self.log_activity(f"{change.what} failed: {text}")
            self.notify(f"{change.what} failed: {text}", severity="error", timeout=10)
        elif outcome is not None and change.is_run:
            self.run_view.result = outcome.result  # a run reports through its events
        elif outcome is not None:
            verdict = "succeeded" if outcome.ok else "failed"
            self.log_activity(f"{change.what} {verdict}: {outcome.detail}")
            self.notify(
                f"{change.what} {verdict}", severity="information" if outcome.ok else "error"
            )
        if on_done is not None:
            on_done(message)
        self.show_state()
        self.changes_sent()
