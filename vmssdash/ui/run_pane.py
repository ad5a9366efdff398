"""The run in progress: its state (``RunView``, owned by the App) and the pane showing it.

The App feeds every orchestrator event into its ``RunView`` and asks the pane to show
it; the pane only renders, so no event is lost when it is not mounted (read-only mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from vmssdash.core.events import (
    OrchestratorEvent,
    Progress,
    RunFinished,
    RunState,
    StateChanged,
)
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.rolling_runner import RollingRunner
from vmssdash.core.runner import RunResult
from vmssdash.core.words import vms


@dataclass
class RunView:
    control: Orchestrator | RollingRunner | None = None
    state: RunState = RunState.IDLE
    reason: str = ""
    last_progress: Progress | None = None
    events: list[OrchestratorEvent] = field(default_factory=list)
    result: RunResult | None = None

    def start(self, control: Orchestrator | RollingRunner) -> None:
        """A new run: forget the last one's events and outcome."""
        self.control, self.state, self.reason = control, RunState.RUNNING, ""
        self.last_progress, self.result = None, None
        self.events.clear()

    @property
    def running(self) -> bool:
        return (
            self.control is not None
            and not self.state.is_terminal
            and (self.state is not RunState.IDLE)
        )

    @property
    def rolling(self) -> bool:
        return isinstance(self.control, RollingRunner)

    def apply(self, event: OrchestratorEvent) -> None:
        self.events.append(event)
        if isinstance(event, Progress):
            self.last_progress = event
        elif isinstance(event, StateChanged | RunFinished):
            self.state = event.state
            if event.reason or isinstance(event, RunFinished):
                self.reason = event.reason

    def busy_text(self) -> str | None:
        """ "upgrading: wave 2/5" while a run is in progress (paused counts), else None."""
        if not self.running:
            return None
        verb = "upgrade paused" if self.state is RunState.PAUSED else "upgrading"
        progress = self.last_progress
        if progress is not None and progress.waves_total:
            wave = (
                progress.current_wave + 1
                if progress.current_wave is not None
                else progress.waves_done
            )
            return f"{verb}: wave {max(1, wave)}/{progress.waves_total}"
        return f"{verb}: {self.state.value}"

    def abort_text(self) -> str:
        in_flight = self.control.in_flight if self.control is not None else ()
        if in_flight:
            return (
                "No new wave will start.\n"
                f"The wave in flight ({vms(len(in_flight))}: {', '.join(in_flight)}) cannot be "
                "recalled: Azure finishes upgrading those VMs whatever we do."
            )
        return "No new wave will start. No upgrade is in flight right now."

    def lines(self) -> list[str]:
        progress = self.last_progress
        if self.state is RunState.IDLE and progress is None:
            return ["Upgrade: idle"]
        lines = [f"Upgrade: {self.state.value.upper()}"]
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
            if progress.eta_seconds is not None and not self.state.is_terminal:
                lines.append(f"ETA {progress.eta_text}")
            if progress.detail and not self.state.is_terminal:
                lines.append(progress.detail)
        if self.reason and self.state in (
            RunState.FAULTED,
            RunState.HALTED,
            RunState.CANCELLED,
            RunState.PAUSED,
        ):
            lines.append(self.reason)
        if self.running:
            lines.append("z pause/resume · X abort")
        return lines


class RunPane(Vertical):
    """Side-column pane: state, waves, VMs, ETA and the last reason of the current run."""

    # Docked to the top of the side column so a run stays visible however long the VM
    # details are; hidden entirely while no run has happened.
    DEFAULT_CSS = """
    RunPane { dock: top; height: auto; padding-bottom: 1; border-bottom: hkey $primary 40%; }
    RunPane #orch-status { height: auto; }
    RunPane ProgressBar { height: 1; }
    RunPane.-idle { display: none; }
    RunPane.-faulted #orch-status { color: $error; }
    """

    def __init__(self, *, id: str | None = "upgrade-pane") -> None:
        super().__init__(id=id, classes="-idle")

    def compose(self) -> ComposeResult:
        yield Static("Upgrade: idle", id="orch-status", markup=False)
        yield ProgressBar(total=1, show_eta=False, id="orch-bar")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#orch-status", Static).render())

    def show(self, view: RunView) -> None:
        self.query_one("#orch-status", Static).update("\n".join(view.lines()))
        progress = view.last_progress
        if progress is not None and progress.vms_total:
            bar = self.query_one("#orch-bar", ProgressBar)
            bar.update(total=progress.vms_total, progress=progress.vms_done)
        self.set_class(view.state is RunState.IDLE and progress is None, "-idle")
        self.set_class(view.state in (RunState.FAULTED, RunState.HALTED), "-faulted")
