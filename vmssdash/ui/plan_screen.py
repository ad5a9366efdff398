"""Plan preview: what an upgrade will do, wave by wave, before anything is sent.

The engineer picks the strategy (update domain, fault domain, zone, batches) and batch
size, reads the waves, the skipped VMs and the estimated duration, then confirms with
the scope spelled out. Whole-set or large plans require typing the scale set's name.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from vmssdash.core.events import format_seconds
from vmssdash.core.plan import BatchSize, Plan, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import vms
from vmssdash.ui.confirm import ConfirmScreen

# Plans touching more VMs than this (or the whole set) need the scale set's name typed.
TYPE_NAME_OVER = 20

STRATEGY_OPTIONS = [
    ("by update domain", Strategy.UPDATE_DOMAIN),
    ("by fault domain", Strategy.FAULT_DOMAIN),
    ("by zone", Strategy.ZONE),
    ("in batches", Strategy.BATCH),
]


def render_plan(plan: Plan, snapshot: ScaleSetSnapshot) -> str:
    lines = [plan.summary(), f"Image: {snapshot.image}", f"Policy: {plan.policy.describe()}", ""]
    for wave in plan.waves:
        ids = ", ".join(wave.instance_ids[:20]) + (" …" if len(wave.instance_ids) > 20 else "")
        lines.append(
            f"Wave {wave.index + 1:>2}  {wave.label:<16} {vms(len(wave.instance_ids)):>6}  {ids}"
        )
    if not plan.waves:
        lines.append("Nothing to upgrade.")
    if plan.skipped:
        lines.append("")
        lines.append(f"Skipped ({len(plan.skipped)}):")
        reasons: dict[str, list[str]] = {}
        for skip in plan.skipped:
            reasons.setdefault(skip.reason, []).append(skip.instance_id)
        for reason, ids_ in reasons.items():
            shown = ", ".join(ids_[:15]) + (" …" if len(ids_) > 15 else "")
            lines.append(f"  {reason}: {len(ids_)} [{shown}]")
    lines.append("")
    lines.append(f"Estimated duration: {format_seconds(plan.estimated_seconds)}")
    for warning in plan.warnings:
        lines.append(f"Warning: {warning}")
    return "\n".join(lines)


def needs_typed_name(plan: Plan) -> bool:
    return plan.is_whole_set or len(plan.targets) > TYPE_NAME_OVER


class PlanScreen(ModalScreen[Plan | None]):
    """Returns the confirmed plan, or None."""

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

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="plan.cancel")]

    def __init__(
        self,
        snapshot: ScaleSetSnapshot,
        selection: frozenset[str] | set[str] | None = None,
        *,
        strategy: Strategy = Strategy.UPDATE_DOMAIN,
        batch: str = "",
        wave_seconds: float = 60.0,
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.selection = frozenset(selection) if selection else None
        self.strategy = strategy
        self.batch_text = batch
        self.wave_seconds = wave_seconds
        self.plan: Plan | None = None

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
                yield Input(self.batch_text, placeholder="batch: N or N%", id="plan-batch")
                yield Checkbox("include deallocated VMs", id="plan-dealloc")
            yield Static("", id="plan-error")
            with VerticalScroll(id="plan-scroll"):
                yield Static("", id="plan-body", markup=False)
            with Horizontal(id="plan-buttons"):
                yield Button("Cancel", id="plan-cancel", variant="primary")
                yield Button("Start upgrade…", id="plan-start", variant="error")

    def on_mount(self) -> None:
        self.rebuild()
        self.query_one("#plan-cancel", Button).focus()

    def rebuild(self) -> None:
        error = self.query_one("#plan-error", Static)
        batch: BatchSize | None = None
        text = self.query_one("#plan-batch", Input).value.strip()
        try:
            batch = BatchSize.parse(text) if text else None
        except ValueError as exc:
            error.update(str(exc))
            self.query_one("#plan-start", Button).disabled = True
            return
        error.update("")
        self.plan = build_plan(
            self.snapshot,
            self.strategy,
            selection=self.selection,
            batch=batch,
            include_deallocated=self.query_one("#plan-dealloc", Checkbox).value,
            wave_seconds=self.wave_seconds,
        )
        self.query_one("#plan-body", Static).update(render_plan(self.plan, self.snapshot))
        self.query_one("#plan-start", Button).disabled = not self.plan.waves

    @on(Select.Changed, "#plan-strategy")
    def _strategy(self, event: Select.Changed) -> None:
        if isinstance(event.value, Strategy):
            self.strategy = event.value
            self.rebuild()

    @on(Input.Changed, "#plan-batch")
    @on(Checkbox.Changed, "#plan-dealloc")
    def _batch(self) -> None:
        self.rebuild()

    @on(Button.Pressed, "#plan-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#plan-start")
    def _start(self) -> None:
        plan = self.plan
        if plan is None or not plan.waves:
            return
        body = render_plan(plan, self.snapshot)
        name = plan.scale_set_name

        def decided(ok: bool | None) -> None:
            if ok:
                self.dismiss(plan)

        self.app.push_screen(
            ConfirmScreen(
                f"{plan.summary()}?",
                body,
                confirm_label="Start upgrade",
                require_text=name if needs_typed_name(plan) else None,
            ),
            callback=decided,
        )
