"""Issue-6 features plugged into the app as one ``Extension``: model pane, plan and run,
pause/resume/abort, other VM actions, and scaling.

Every action here changes Azure, so each is declared ``writes=True`` (hidden and blocked
in read-only mode) and goes through a preview and ``ConfirmScreen`` with the scope in
words; large or whole-set actions require typing the scale set's name.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from vmssdash.core.journal import find_unfinished
from vmssdash.core.plan import Plan, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo
from vmssdash.core.words import vms, who
from vmssdash.ui.confirm import ConfirmScreen
from vmssdash.ui.extensions import ActionSpec, Extension
from vmssdash.ui.messages import OperationProgress
from vmssdash.ui.model_pane import ModelPane
from vmssdash.ui.plan_screen import TYPE_NAME_OVER, PlanScreen
from vmssdash.ui.upgrade_progress import (
    UpgradePane,
    abort_text,
    busy_text,
    controller,
    journal_dir_of,
    start_plan,
    start_rolling,
    toggle_pause,
)

if TYPE_CHECKING:
    from textual.widget import Widget

    from vmssdash.azure.models import ScaleSet
    from vmssdash.ui.app import VmssDashApp


@dataclass(frozen=True)
class VmAction:
    name: str  # the ARM action path segment
    verb: str
    label: str
    key: str
    dangerous: bool = False


VM_ACTIONS: tuple[VmAction, ...] = (
    VmAction("restart", "Restart", "Restart", "r"),
    VmAction("start", "Start", "Start", "s"),
    VmAction("poweroff", "Power off", "Power off", "o"),
    VmAction("deallocate", "Deallocate", "Deallocate", "d", dangerous=True),
    VmAction("reimage", "Reimage", "Reimage", "i", dangerous=True),
    VmAction("delete", "Delete", "Delete", "x", dangerous=True),
)


def _marked(app: VmssDashApp) -> set[str]:
    try:
        return set(app.heatmap.marked)
    except Exception:
        return set()


def _cursor(app: VmssDashApp) -> VmInfo | None:
    try:
        vm: VmInfo | None = app.heatmap.cursor_vm
        return vm
    except Exception:
        return None


def _id_key(iid: str) -> tuple[int, str]:
    return (int(iid), "") if iid.isdigit() else (1 << 62, iid)


def action_scope(
    snapshot: ScaleSetSnapshot, action: VmAction, ids: Iterable[str]
) -> tuple[list[str], list[tuple[str, str]], str]:
    """(targets, skipped with reasons, scope in words) for a VM action."""
    targets: list[str] = []
    skipped: list[tuple[str, str]] = []
    ids_list = list(ids)
    for iid in sorted(set(ids_list), key=_id_key):
        vm = snapshot.by_id.get(iid)
        if vm is None:
            skipped.append((iid, "gone"))
        elif vm.protected_from_scale_set_actions and action.name != "delete":
            skipped.append((iid, "protected from scale-set actions"))
        elif vm.state.is_transitional:
            skipped.append((iid, f"busy ({vm.state.label})"))
        elif action.name == "start" and vm.is_running:
            skipped.append((iid, "already running"))
        elif action.name == "deallocate" and vm.power_state == "deallocated":
            skipped.append((iid, "already deallocated"))
        elif action.name == "poweroff" and vm.power_state in ("stopped", "deallocated"):
            skipped.append((iid, "already stopped"))
        else:
            targets.append(iid)
    per_ud = Counter(snapshot.by_id[i].update_domain for i in targets)
    domains = ", ".join(
        f"UD {k}: {n}" for k, n in sorted(per_ud.items(), key=lambda kv: str(kv[0]))
    )
    requested = set(ids_list)
    whole = bool(snapshot.vms) and requested >= set(snapshot.by_id)
    scope = (
        f"{action.verb} {len(targets)} of {vms(len(snapshot.vms))} of {snapshot.scale_set.name}"
        + (" (the WHOLE scale set)" if whole else "")
        + (f" — {domains}" if domains else "")
    )
    return targets, skipped, scope


def needs_name(snapshot: ScaleSetSnapshot, count: int, action: VmAction | None = None) -> bool:
    return (
        count > TYPE_NAME_OVER
        or count >= len(snapshot.vms)
        or (action is not None and action.name == "delete")
    )


class ActionMenu(ModalScreen["VmAction | None"]):
    """Pick an action for the marked VMs (or the VM under the cursor)."""

    DEFAULT_CSS = """
    ActionMenu { align: center middle; }
    ActionMenu #action-dialog { width: 60; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    ActionMenu Button { width: 100%; margin: 0; }
    """

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Cancel", id="actions.cancel"),
        *(Binding(a.key, f"pick('{a.name}')", a.label, id=f"actions.{a.name}") for a in VM_ACTIONS),
    ]

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog"):
            yield Label(f"Action on {self.scope}")
            yield Button("Cancel", id="action-cancel", variant="primary")
            for action in VM_ACTIONS:
                yield Button(
                    f"{action.label} ({action.key})",
                    id=f"action-{action.name}",
                    variant="error" if action.dangerous else "default",
                )

    def on_mount(self) -> None:
        self.query_one("#action-cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_pick(self, name: str) -> None:
        for action in VM_ACTIONS:
            if action.name == name:
                self.dismiss(action)
                return

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id == "action-cancel":
            self.dismiss(None)
        elif button_id.startswith("action-"):
            self.action_pick(button_id.removeprefix("action-"))


class ScaleScreen(ModalScreen["int | None"]):
    """Enter a new capacity; shows the change in words before the confirmation."""

    DEFAULT_CSS = """
    ScaleScreen { align: center middle; }
    ScaleScreen #scale-dialog { width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    ScaleScreen #scale-buttons { height: auto; align-horizontal: right; }
    ScaleScreen #scale-preview { height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="scale.cancel")]

    def __init__(self, scale_set: ScaleSet) -> None:
        super().__init__()
        self.scale_set = scale_set

    def compose(self) -> ComposeResult:
        with Vertical(id="scale-dialog"):
            yield Label(f"Scale {self.scale_set.name} (now {self.scale_set.capacity} VMs)")
            yield Input(str(self.scale_set.capacity), id="scale-capacity", type="integer")
            yield Static("", id="scale-preview", markup=False)
            with Horizontal(id="scale-buttons"):
                yield Button("Cancel", id="scale-cancel", variant="primary")
                yield Button("Scale…", id="scale-ok", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#scale-cancel", Button).focus()

    def target(self) -> int | None:
        try:
            n = int(self.query_one("#scale-capacity", Input).value.strip())
        except ValueError:
            return None
        return n if 0 <= n <= 1000 else None

    @on(Input.Changed, "#scale-capacity")
    def _changed(self) -> None:
        n = self.target()
        now = self.scale_set.capacity
        preview = self.query_one("#scale-preview", Static)
        ok = self.query_one("#scale-ok", Button)
        if n is None:
            preview.update("Enter a whole number from 0 to 1000.")
            ok.disabled = True
        elif n == now:
            preview.update("No change.")
            ok.disabled = True
        else:
            preview.update(scale_words(self.scale_set, n))
            ok.disabled = False

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#scale-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#scale-ok")
    def _ok(self) -> None:
        n = self.target()
        if n is None or n == self.scale_set.capacity:
            return
        big = n == 0 or abs(n - self.scale_set.capacity) > max(
            TYPE_NAME_OVER, self.scale_set.capacity // 5
        )

        def decided(ok: bool | None) -> None:
            if ok:
                self.dismiss(n)

        self.app.push_screen(
            ConfirmScreen(
                f"Scale {self.scale_set.name} to {vms(n)}?",
                scale_words(self.scale_set, n),
                confirm_label="Scale",
                require_text=self.scale_set.name if big else None,
            ),
            callback=decided,
        )


def scale_words(scale_set: ScaleSet, n: int) -> str:
    now = scale_set.capacity
    if n > now:
        return f"Capacity {now} → {n}: adds {vms(n - now)} on the current model."
    return (
        f"Capacity {now} → {n}: REMOVES {vms(now - n)} (the platform picks which, by its "
        "scale-in policy; VMs protected from scale-in are kept)."
    )


# ---------------------------------------------------------------------- actions


def open_model_pane(app: VmssDashApp) -> None:
    snapshot = app.snapshot
    if snapshot is None:
        app.notify("no data yet", severity="warning")
        return
    ctl = controller(app)
    if ctl.running:
        app.notify(
            "an upgrade is running: changing the model now makes every VM stale again",
            severity="warning",
            timeout=8,
        )
    pane = ModelPane(
        app.api, snapshot.scale_set, previous=ctl.previous_model, read_only=app.read_only
    )

    def closed(fresh: ScaleSet | None) -> None:
        if fresh is not None:
            ctl.previous_model = pane.edit.previous
            app.action_refresh_now()

    app.push_screen(pane, callback=closed)


def open_plan(app: VmssDashApp, strategy: Strategy = Strategy.UPDATE_DOMAIN) -> None:
    snapshot = app.snapshot
    if snapshot is None:
        app.notify("no data yet", severity="warning")
        return
    ctl = controller(app)
    if ctl.running:
        app.notify("an upgrade is already running; pause or abort it first", severity="warning")
        return
    if snapshot.scale_set.upgrade_mode.lower() == "rolling":
        _confirm_rolling(app, snapshot)
        return
    marked = _marked(app)

    def chosen(plan: Plan | None) -> None:
        if plan is not None and start_plan(app, plan) is not None:
            with contextlib.suppress(Exception):
                app.heatmap.action_clear_marks()

    app.push_screen(PlanScreen(snapshot, marked or None, strategy=strategy), callback=chosen)


def _confirm_rolling(app: VmssDashApp, snapshot: ScaleSetSnapshot) -> None:
    name = snapshot.scale_set.name

    def decided(ok: bool | None) -> None:
        if ok:
            start_rolling(app)

    app.push_screen(
        ConfirmScreen(
            f"Start a server-side rolling upgrade of {name}?",
            f"{name} is in Rolling mode: the platform upgrades it in batches by its "
            "rollingUpgradePolicy. vmssdash starts it, shows rollingUpgrades/latest live "
            "and can cancel it.",
            confirm_label="Start rolling upgrade",
            require_text=name,
        ),
        callback=decided,
    )


def pause_or_resume(app: VmssDashApp) -> None:
    toggle_pause(app)


def abort_run(app: VmssDashApp) -> None:
    ctl = controller(app)
    runner = ctl.runner
    if runner is None or not ctl.running:
        app.notify("no upgrade is running", severity="warning")
        return

    def decided(ok: bool | None) -> None:
        if ok:
            runner.abort()

    app.push_screen(
        ConfirmScreen("Abort the upgrade?", abort_text(runner), confirm_label="Abort"),
        callback=decided,
    )


def vm_actions(app: VmssDashApp) -> None:
    snapshot = app.snapshot
    if snapshot is None:
        app.notify("no data yet", severity="warning")
        return
    ids = _marked(app)
    if not ids:
        vm = _cursor(app)
        ids = {vm.instance_id} if vm else set()
    if not ids:
        app.notify("mark VMs first (space, u, s)", severity="warning")
        return
    scope = who(sorted(ids, key=_id_key))

    def picked(action: VmAction | None) -> None:
        if action is not None:
            confirm_vm_action(app, snapshot, action, ids)

    app.push_screen(ActionMenu(scope), callback=picked)


def confirm_vm_action(
    app: VmssDashApp, snapshot: ScaleSetSnapshot, action: VmAction, ids: Iterable[str]
) -> None:
    targets, skipped, scope = action_scope(snapshot, action, ids)
    if not targets:
        why = "; ".join(f"VM {i}: {r}" for i, r in skipped[:5])
        app.notify(f"nothing to {action.verb.lower()}: {why}", severity="warning")
        return
    lines = [
        scope,
        "Instance ids: " + ", ".join(targets[:40]) + (" …" if len(targets) > 40 else ""),
    ]
    if skipped:
        lines.append("Skipped: " + "; ".join(f"VM {i}: {r}" for i, r in skipped[:10]))
    if action.name == "delete":
        lines.append("Deleted VMs and their OS disks cannot be brought back.")
    if action.name == "reimage":
        lines.append("Reimage resets the OS disk of each VM to the model's image.")

    def decided(ok: bool | None) -> None:
        if ok:
            ids = list(targets)
            what = f"{action.name} of {who(ids)}"

            async def run() -> str:
                operation = await app.api.begin_action(action.name, ids)
                app.post_message(OperationProgress(what, "accepted"))
                return (await operation.wait()).status

            app.start_operation(what, run)

    app.push_screen(
        ConfirmScreen(
            f"{action.verb} {vms(len(targets))}?",
            "\n".join(lines),
            confirm_label=action.verb,
            require_text=snapshot.scale_set.name
            if needs_name(snapshot, len(targets), action)
            else None,
        ),
        callback=decided,
    )


def scale(app: VmssDashApp) -> None:
    snapshot = app.snapshot
    if snapshot is None:
        app.notify("no data yet", severity="warning")
        return
    scale_set = snapshot.scale_set

    def chosen(n: int | None) -> None:
        if n is None:
            return

        async def run() -> str:
            fresh = await app.api.set_capacity(n, etag=scale_set.etag)
            return f"capacity is now {fresh.capacity}"

        app.start_operation(f"scale {scale_set.name} {scale_set.capacity} → {n}", run)

    app.push_screen(ScaleScreen(scale_set), callback=chosen)


def dispatch_upgrade(app: VmssDashApp, instance_ids: tuple[str, ...]) -> None:
    """The app's ``U`` (confirmed upgrade of marked VMs) runs as a by-UD orchestrated plan."""
    snapshot = app.snapshot
    if snapshot is None:
        return
    plan = build_plan(snapshot, Strategy.UPDATE_DOMAIN, selection=instance_ids)
    if start_plan(app, plan) is not None:
        with contextlib.suppress(Exception):
            app.heatmap.action_clear_marks()


def on_snapshot(app: VmssDashApp, snapshot: ScaleSetSnapshot) -> None:
    """On the first snapshot, offer to resume an unfinished plan from the journal."""
    ctl = controller(app)
    if ctl.resume_offered or app.read_only:
        return
    ctl.resume_offered = True
    try:
        replay = find_unfinished(journal_dir_of(app), snapshot.scale_set.id)
    except OSError:
        replay = None
    if replay is None:
        return

    def decided(ok: bool | None) -> None:
        if ok:
            start_plan(app, replay.plan, replay=replay)
        else:
            app.log_activity(f"unfinished upgrade not resumed: {replay.describe()}")

    app.push_screen(
        ConfirmScreen(
            "Resume the unfinished upgrade?",
            f"The journal has an unfinished {replay.describe()}.\n"
            "Resuming re-reads the VMs: finished VMs are not upgraded again, VMs whose "
            "upgrade was already sent are only watched, and none is skipped.",
            confirm_label="Resume",
        ),
        callback=decided,
    )


def panes(app: VmssDashApp) -> Iterable[Widget]:
    if not app.read_only:
        yield UpgradePane()


def extensions() -> list[Extension]:
    return [
        Extension(
            name="orchestration",
            actions=[
                ActionSpec(
                    "orch.model",
                    "e",
                    "Edit model",
                    open_model_pane,
                    writes=True,
                    palette_help="model: edit the image and capacity",
                ),
                ActionSpec(
                    "orch.plan",
                    "P",
                    "Plan",
                    open_plan,
                    writes=True,
                    palette_help="upgrade: plan and run waves (marked VMs or whole set)",
                ),
                ActionSpec(
                    "orch.pause", "z", "Pause/resume run", pause_or_resume, show=False, writes=True
                ),
                ActionSpec("orch.abort", "X", "Abort run", abort_run, show=False, writes=True),
                ActionSpec(
                    "orch.actions",
                    "a",
                    "Actions",
                    vm_actions,
                    writes=True,
                    palette_help="restart, start, power off, deallocate, reimage, delete",
                ),
                ActionSpec("orch.scale", "c", "Scale", scale, show=False, writes=True),
            ],
            panes=panes,
            dispatch_upgrade=dispatch_upgrade,
            on_snapshot=on_snapshot,
            busy=busy_text,
        )
    ]
