"""The orchestration side of the app: runs the orchestrator, shows its progress.

The orchestrator is UI-free and reports through a callback; here that callback posts a
Textual message to the progress pane, whose handler updates the display, writes the
activity log and nudges the heatmap refresh. One ``UpgradeController`` per app keeps
the running orchestrator, so pause/resume/abort keys reach it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static

from vmssdash.core.events import (
    OrchestratorEvent,
    Progress,
    RollingStatusEvent,
    RunFinished,
    RunState,
    StateChanged,
    VmSettled,
    WaveFinished,
    WaveStarted,
    format_seconds,
)
from vmssdash.core.journal import Replay, default_journal_dir
from vmssdash.core.orchestrator import Orchestrator, RollingRunner, RunResult
from vmssdash.core.plan import Plan
from vmssdash.core.words import vms

if TYPE_CHECKING:
    from vmssdash.azure.models import ScaleSet
    from vmssdash.ui.app import VmssDashApp


@dataclass
class OrchEventMessage(Message):
    event: OrchestratorEvent


@dataclass
class UpgradeController:
    """Per-app orchestration state: the run in progress and the model history."""

    runner: Orchestrator | RollingRunner | None = None
    result: RunResult | None = None
    state: RunState = RunState.IDLE
    reason: str = ""
    last_progress: Progress | None = None
    previous_model: ScaleSet | None = None
    resume_offered: bool = False
    events: list[OrchestratorEvent] = field(default_factory=list)
    poll_interval: float = 5.0
    health_timeout: float = 300.0

    @property
    def running(self) -> bool:
        return (
            self.runner is not None
            and not self.state.is_terminal
            and self.state is not RunState.IDLE
        )


def busy_text(app: VmssDashApp) -> str | None:
    """ "upgrading: wave 2/5" while a run is in progress (paused counts), else None."""
    ctl = _CONTROLLERS.get(app)
    if ctl is None or not ctl.running:
        return None
    verb = "upgrade paused" if ctl.state is RunState.PAUSED else "upgrading"
    progress = ctl.last_progress
    if progress is not None and progress.waves_total:
        wave = (
            progress.current_wave + 1 if progress.current_wave is not None else progress.waves_done
        )
        return f"{verb}: wave {max(1, wave)}/{progress.waves_total}"
    return f"{verb}: {ctl.state.value}"


_CONTROLLERS: weakref.WeakKeyDictionary[Any, UpgradeController] = weakref.WeakKeyDictionary()


def controller(app: VmssDashApp) -> UpgradeController:
    ctl = _CONTROLLERS.get(app)
    if ctl is None:
        ctl = UpgradeController()
        settings = getattr(app, "settings", None)
        interval = getattr(settings, "upgrade_poll_interval", None)
        if isinstance(interval, (int, float)) and interval > 0:
            ctl.poll_interval = float(interval)
        _CONTROLLERS[app] = ctl
    return ctl


def journal_dir_of(app: VmssDashApp) -> Path:
    configured = getattr(app, "journal_dir", None)
    return Path(configured) if configured else default_journal_dir()


class UpgradePane(Vertical):
    """Side-column pane: state, waves, VMs, ETA and the last reason of the current run."""

    # Docked to the top of the side column so a run stays visible however long the VM
    # details are; hidden entirely while no run has happened.
    DEFAULT_CSS = """
    UpgradePane { dock: top; height: auto; padding-bottom: 1; border-bottom: hkey $primary 40%; }
    UpgradePane #orch-status { height: auto; }
    UpgradePane ProgressBar { height: 1; }
    UpgradePane.-idle { display: none; }
    UpgradePane.-faulted #orch-status { color: $error; }
    """

    def __init__(self, *, id: str | None = "upgrade-pane") -> None:
        super().__init__(id=id, classes="-idle")

    def compose(self) -> ComposeResult:
        yield Static("Upgrade: idle", id="orch-status", markup=False)
        yield ProgressBar(total=1, show_eta=False, id="orch-bar")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#orch-status", Static).render())

    @on(OrchEventMessage)
    def _event(self, message: OrchEventMessage) -> None:
        message.stop()
        app: Any = self.app
        ctl = controller(app)
        event = message.event
        ctl.events.append(event)
        if isinstance(event, Progress):
            ctl.last_progress = event
        elif isinstance(event, StateChanged):
            ctl.state = event.state
            if event.reason:
                ctl.reason = event.reason
        elif isinstance(event, RunFinished):
            ctl.state = event.state
            ctl.reason = event.reason
        # A terminal StateChanged says what RunFinished says next: log the run's end once.
        repeats_finish = isinstance(event, StateChanged) and event.state.is_terminal
        if not isinstance(event, Progress) and not repeats_finish and hasattr(app, "log_activity"):
            app.log_activity(f"upgrade: {event.text()}")
        if isinstance(
            event, (WaveStarted, WaveFinished, VmSettled, RunFinished, RollingStatusEvent)
        ):
            refresh = getattr(app, "action_refresh_now", None)
            if refresh is not None:
                refresh()
        if isinstance(event, RunFinished):
            severity = "information" if event.state is RunState.COMPLETED else "error"
            if hasattr(app, "notify"):
                app.notify(event.text(), severity=severity, timeout=10)
        self.show(ctl)

    def show(self, ctl: UpgradeController) -> None:
        lines: list[str] = []
        progress = ctl.last_progress
        if ctl.state is RunState.IDLE and progress is None:
            lines.append("Upgrade: idle")
        else:
            lines.append(f"Upgrade: {ctl.state.value.upper()}")
            if progress is not None:
                if progress.waves_total:
                    wave = (
                        f" (wave {progress.current_wave + 1})"
                        if progress.current_wave is not None
                        else ""
                    )
                    lines.append(f"Waves {progress.waves_done}/{progress.waves_total}{wave}")
                lines.append(
                    f"VMs {progress.vms_done}/{progress.vms_total}"
                    + (f", {progress.vms_failed} unhealthy" if progress.vms_failed else "")
                )
                if progress.eta_seconds is not None and not ctl.state.is_terminal:
                    lines.append(f"ETA {format_seconds(progress.eta_seconds)}")
                if progress.detail and not ctl.state.is_terminal:
                    lines.append(progress.detail)
            if ctl.reason and ctl.state in (RunState.FAULTED, RunState.CANCELLED, RunState.PAUSED):
                lines.append(ctl.reason)
            if ctl.running:
                lines.append("z pause/resume · X abort")
        self.query_one("#orch-status", Static).update("\n".join(lines))
        bar = self.query_one("#orch-bar", ProgressBar)
        if progress is not None and progress.vms_total:
            bar.update(total=progress.vms_total, progress=progress.vms_done)
        self.set_class(ctl.state is RunState.IDLE and progress is None, "-idle")
        self.set_class(ctl.state is RunState.FAULTED, "-faulted")


def _pane(app: VmssDashApp) -> UpgradePane | None:
    try:
        return app.query_one(UpgradePane)
    except Exception:
        return None


def _sink(app: VmssDashApp) -> Any:
    def on_event(event: OrchestratorEvent) -> None:
        pane = _pane(app)
        if pane is not None:
            pane.post_message(OrchEventMessage(event))

    return on_event


def start_plan(
    app: VmssDashApp, plan: Plan, *, replay: Replay | None = None
) -> Orchestrator | None:
    """Run ``plan`` in a worker; refuses when a run is already in progress."""
    ctl = controller(app)
    if getattr(app, "read_only", False):
        app.notify("read-only mode: upgrades are disabled", severity="warning")
        return None
    if ctl.running:
        app.notify("an upgrade is already running on this scale set", severity="warning")
        return None
    orchestrator = Orchestrator(
        app.api,
        plan,
        on_event=_sink(app),
        journal_dir=journal_dir_of(app),
        replay=replay,
        poll_interval=ctl.poll_interval,
        health_timeout=ctl.health_timeout,
        reader=app.observer,
    )
    ctl.runner = orchestrator
    ctl.result = None
    ctl.state = RunState.RUNNING
    ctl.reason = ""
    ctl.last_progress = None

    sink = _sink(app)

    async def run() -> None:
        try:
            ctl.result = await orchestrator.run()
        except Exception as exc:  # a bug must not leave the run "running" forever
            reason = f"internal error: {type(exc).__name__}: {exc}"
            sink(RunFinished(orchestrator.clock(), RunState.FAULTED, reason))
            raise

    app.run_worker(run(), group="orchestrator", exit_on_error=False)
    return orchestrator


def start_rolling(app: VmssDashApp, *, start: bool = True) -> RollingRunner | None:
    ctl = controller(app)
    if getattr(app, "read_only", False) and start:
        app.notify("read-only mode: upgrades are disabled", severity="warning")
        return None
    if ctl.running:
        app.notify("an upgrade is already running on this scale set", severity="warning")
        return None
    runner = RollingRunner(
        app.api, on_event=_sink(app), poll_interval=ctl.poll_interval, start=start
    )
    ctl.runner = runner
    ctl.state = RunState.RUNNING
    ctl.last_progress = None

    sink = _sink(app)

    async def run() -> None:
        try:
            ctl.result = await runner.run()
        except Exception as exc:
            reason = f"internal error: {type(exc).__name__}: {exc}"
            sink(RunFinished(runner.clock(), RunState.FAULTED, reason))
            raise

    app.run_worker(run(), group="orchestrator", exit_on_error=False)
    return runner


def toggle_pause(app: VmssDashApp) -> None:
    ctl = controller(app)
    runner = ctl.runner
    if runner is None or not ctl.running:
        app.notify("no upgrade is running", severity="warning")
        return
    if isinstance(runner, Orchestrator) and (
        runner.state is RunState.PAUSED or runner._pause_requested
    ):
        runner.resume()
        app.notify("upgrade resumed")
    else:
        runner.pause()
        app.notify("upgrade pauses after the wave in flight")
    pane = _pane(app)
    if pane is not None:
        pane.show(ctl)


def abort_text(runner: Orchestrator | RollingRunner) -> str:
    in_flight = runner.in_flight
    if in_flight:
        return (
            "No new wave will start.\n"
            f"The wave in flight ({vms(len(in_flight))}: {', '.join(in_flight)}) cannot be "
            "recalled: Azure finishes upgrading those VMs whatever we do."
        )
    if isinstance(runner, RollingRunner):
        return "The server-side rolling upgrade is cancelled: no new batch starts; the batch in progress cannot be recalled."
    return "No new wave will start. No upgrade is in flight right now."


def seconds_text(seconds: float) -> str:
    return format_seconds(seconds)
