"""Plan preview: what an upgrade will do, wave by wave, before anything is sent.

The engineer picks the strategy (update domain, fault domain, zone, batches) and batch
size and reads the waves, the skipped VMs and the estimated duration. Enter (or the
start button) returns the plan as an ``UpgradePlan`` change; the app then asks the
change's own confirmation, so nothing starts from this screen alone.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from vmssdash.core.changes import UpgradePlan
from vmssdash.core.plan import BatchSize, Plan, Strategy, build_plan
from vmssdash.core.plan_text import render_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import vms

STRATEGY_OPTIONS = [
    ("by update domain", Strategy.UPDATE_DOMAIN),
    ("by fault domain", Strategy.FAULT_DOMAIN),
    ("by zone", Strategy.ZONE),
    ("in batches", Strategy.BATCH),
]


class PlanScreen(ModalScreen[UpgradePlan | None]):
    """Returns the chosen plan as a change to confirm, or None."""

    DEFAULT_CSS = """
    PlanScreen { align: center middle; }
    PlanScreen #plan-dialog { width: 100; max-width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    PlanScreen #plan-controls { height: auto; }
    PlanScreen #plan-controls Select { width: 28; }
    PlanScreen #plan-controls Input { width: 20; }
    PlanScreen #plan-controls Checkbox { width: auto; }
    PlanScreen #plan-scroll { height: 1fr; }
    PlanScreen #plan-buttons { height: auto; align-horizontal: right; }
    PlanScreen #plan-error { color: $error; height: auto; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="plan.cancel"),
        # Priority: Enter on the strategy box or a button would otherwise be theirs.
        Binding("enter", "start", "Start…", priority=True, id="plan.start"),
    ]

    def __init__(
        self,
        snapshot: ScaleSetSnapshot,
        selection: frozenset[str] | set[str] | None = None,
        *,
        strategy: Strategy = Strategy.UPDATE_DOMAIN,
        wave_seconds: float = 60.0,
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.selection = frozenset(selection) if selection else None
        self.strategy = strategy
        self.wave_seconds = wave_seconds
        self.change: UpgradePlan | None = None

    @property
    def plan(self) -> Plan | None:
        return self.change.plan if self.change is not None else None

    def compose(self) -> ComposeResult:
        scope = f"{vms(len(self.selection))} marked" if self.selection else "the whole scale set"
        with Vertical(id="plan-dialog"):
            yield Label(
                f"Upgrade plan for {self.snapshot.scale_set.name}: {scope}", id="plan-title"
            )
            with Horizontal(id="plan-controls"):
                yield Select(
                    STRATEGY_OPTIONS, value=self.strategy, allow_blank=False, id="plan-strategy"
                )
                yield Input(placeholder="batch: N or N%", id="plan-batch")
                yield Checkbox("include deallocated VMs", id="plan-dealloc")
            yield Static("", id="plan-error")
            with VerticalScroll(id="plan-scroll"):
                yield Static("", id="plan-body", markup=False)
            with Horizontal(id="plan-buttons"):
                yield Button("Cancel", id="plan-cancel", variant="primary")
                yield Button("Start upgrade…", id="plan-start", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.rebuild()
        self.query_one("#plan-cancel", Button).focus()

    def rebuild(self) -> None:
        error = self.query_one("#plan-error", Static)
        text = self.query_one("#plan-batch", Input).value.strip()
        try:
            batch = BatchSize.parse(text) if text else None
        except ValueError as exc:
            error.update(str(exc))
            self.change = None
            self.query_one("#plan-start", Button).disabled = True
            return
        error.update("")
        plan = build_plan(
            self.snapshot,
            self.strategy,
            selection=self.selection,
            batch=batch,
            include_deallocated=self.query_one("#plan-dealloc", Checkbox).value,
            wave_seconds=self.wave_seconds,
        )
        self.change = UpgradePlan(plan, self.snapshot.image)
        self.query_one("#plan-body", Static).update(render_plan(plan, self.snapshot.image))
        self.query_one("#plan-start", Button).disabled = not plan.waves

    @on(Select.Changed, "#plan-strategy")
    def _strategy(self, event: Select.Changed) -> None:
        if isinstance(event.value, Strategy):
            self.strategy = event.value
            self.rebuild()

    @on(Input.Changed, "#plan-batch")
    @on(Checkbox.Changed, "#plan-dealloc")
    def _batch(self) -> None:
        self.rebuild()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            # Enter on Cancel cancels, and an open strategy list keeps its Enter.
            focused = self.focused
            if focused is not None and focused.id == "plan-cancel":
                return False
            return not self.query_one("#plan-strategy", Select).expanded
        return True

    @on(Button.Pressed, "#plan-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#plan-start")
    def action_start(self) -> None:
        change = self.change
        if change is not None and change.plan.waves:
            self.dismiss(change)
