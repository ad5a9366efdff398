"""Plan preview: what an upgrade will do, wave by wave, before anything is sent.

The engineer picks the strategy (update domain, fault domain, zone, batches) and batch
size, or writes steps (``canary 1, bake PT2M, ud``; a named strategy from the config
works too), and reads the waves, the skipped VMs and the estimated duration. F5
rehearses the plan on a copy of this set in the embedded simulator (nothing is sent to
Azure) and shows where it would stop and how long it would take. Enter (or the start
button) returns the plan as an ``UpgradePlan`` change; the app then asks the change's
own confirmation, so nothing starts from this screen alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from vmssdash.azure.flexible import is_flexible
from vmssdash.core.changes import UpgradePlan
from vmssdash.core.plan import BatchSize, Plan, Strategy, build_plan
from vmssdash.core.plan_text import render_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import Step, StepError, build_plan_from_steps, resolve_steps
from vmssdash.core.words import vms

STRATEGY_OPTIONS = [
    ("by update domain", Strategy.UPDATE_DOMAIN),
    ("by fault domain", Strategy.FAULT_DOMAIN),
    ("by zone", Strategy.ZONE),
    ("in batches", Strategy.BATCH),
]
#: Step lists offered next to the strategies (the config's named strategies follow).
STEP_PRESETS = [("canary 1, bake 2 min, then by UD", "canary 1, bake PT2M, ud")]
#: A Flexible set has no update domains: a "by update domain" plan would be one "UD ?" wave.
FLEXIBLE_STEP_PRESETS = [("canary 1, bake 2 min, then by zone", "canary 1, bake PT2M, zone")]


def strategy_options(flexible: bool) -> list[tuple[str, Strategy | str]]:
    """The strategies and presets that make sense for this kind of scale set."""
    if not flexible:
        return [*STRATEGY_OPTIONS, *STEP_PRESETS]
    kept = [o for o in STRATEGY_OPTIONS if o[1] is not Strategy.UPDATE_DOMAIN]
    return [*kept, *FLEXIBLE_STEP_PRESETS]


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
    PlanScreen #plan-steps-row { height: auto; }
    PlanScreen #plan-steps { width: 1fr; }
    PlanScreen #plan-rehearsal { height: auto; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="plan.cancel"),
        # Priority: Enter on the strategy box or a button would otherwise be theirs.
        Binding("enter", "start", "Start…", priority=True, id="plan.start"),
        Binding("f5", "rehearse", "Rehearse", id="plan.rehearse"),
    ]

    def __init__(
        self,
        snapshot: ScaleSetSnapshot,
        selection: frozenset[str] | set[str] | None = None,
        *,
        strategy: Strategy = Strategy.UPDATE_DOMAIN,
        wave_seconds: float = 60.0,
        strategies: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__()
        self.strategies = dict(strategies or {})
        self.steps: tuple[Step, ...] = ()
        self.batch_size: BatchSize | None = None
        self.snapshot = snapshot
        self.selection = frozenset(selection) if selection else None
        if is_flexible(snapshot.scale_set) and strategy is Strategy.UPDATE_DOMAIN:
            strategy = Strategy.ZONE
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
                options: list[tuple[str, Strategy | str]] = [
                    *strategy_options(is_flexible(self.snapshot.scale_set)),
                    *((f"strategy {name}", name) for name in self.strategies),
                ]
                yield Select(options, value=self.strategy, allow_blank=False, id="plan-strategy")
                yield Input(placeholder="batch: N or N%", id="plan-batch")
                yield Checkbox("include deallocated VMs", id="plan-dealloc")
            with Horizontal(id="plan-steps-row"):
                yield Input(
                    placeholder="steps (instead): canary 1, bake PT2M, ud",
                    id="plan-steps",
                )
                yield Button("Rehearse (F5)", id="plan-rehearse")
            yield Static("", id="plan-error")
            with VerticalScroll(id="plan-scroll"):
                yield Static("", id="plan-body", markup=False)
                yield Static("", id="plan-rehearsal", markup=False)
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
        steps_text = self.query_one("#plan-steps", Input).value.strip()
        try:
            self.batch_size = BatchSize.parse(text) if text else None
            self.steps = resolve_steps(steps_text, self.strategies) if steps_text else ()
        except ValueError as exc:  # StepError is one
            error.update(str(exc))
            self.change = None
            self.query_one("#plan-start", Button).disabled = True
            return
        error.update("")
        dealloc = self.query_one("#plan-dealloc", Checkbox).value
        if self.steps:
            plan = build_plan_from_steps(
                self.snapshot,
                self.steps,
                selection=self.selection,
                include_deallocated=dealloc,
                wave_seconds=self.wave_seconds,
            )
        else:
            plan = build_plan(
                self.snapshot,
                self.strategy,
                selection=self.selection,
                batch=self.batch_size,
                include_deallocated=dealloc,
                wave_seconds=self.wave_seconds,
            )
        self.change = UpgradePlan(plan, self.snapshot.image)
        self.query_one("#plan-body", Static).update(render_plan(plan, self.snapshot.image))
        self.query_one("#plan-rehearsal", Static).update("")
        self.query_one("#plan-start", Button).disabled = not plan.waves

    @on(Select.Changed, "#plan-strategy")
    def _strategy(self, event: Select.Changed) -> None:
        steps = self.query_one("#plan-steps", Input)
        if isinstance(event.value, Strategy):
            self.strategy = event.value
            steps.value = ""  # Input.Changed rebuilds (or nothing changed: rebuild now)
            self.rebuild()
        elif isinstance(event.value, str):
            steps.value = event.value

    @on(Input.Changed, "#plan-batch")
    @on(Input.Changed, "#plan-steps")
    @on(Checkbox.Changed, "#plan-dealloc")
    def _batch(self) -> None:
        self.rebuild()

    @on(Button.Pressed, "#plan-rehearse")
    def action_rehearse(self) -> None:
        plan = self.plan
        if plan is None or not plan.waves:
            self.query_one("#plan-rehearsal", Static).update("Nothing to rehearse.")
            return
        self.query_one("#plan-rehearsal", Static).update(
            "Rehearsing on a copy of this scale set in the embedded simulator…"
        )
        self._rehearse(plan)

    @work(exclusive=True, group="rehearsal")
    async def _rehearse(self, plan: Plan) -> None:
        from vmssdash import rehearsal  # the simulator loads only when asked for

        try:
            scenario = rehearsal.only(rehearsal.scenario_of(self.snapshot), plan.targets)
            result = await rehearsal.rehearse(
                scenario, self.steps, strategy=self.strategy, batch=self.batch_size
            )
        except (rehearsal.RehearsalError, StepError) as exc:
            text = f"Cannot rehearse: {exc}"
        else:
            text = "\n".join(["", "Rehearsal on a copy (nothing sent to Azure):", *result.lines()])
        self.query_one("#plan-rehearsal", Static).update(text)

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
