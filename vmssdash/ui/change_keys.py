"""The keys that build a change (upgrade, plan, VM actions, scale, model, run control,
quit and resume) on top of ``WritePath``, which sends whatever they build. A key only
builds a ``core.changes`` value and hands it to ``submit``: what is confirmed is what runs.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.core.changes import (
    ActionKind,
    Change,
    RollingCancel,
    RollingStart,
    UpgradePlan,
    VmAction,
)
from vmssdash.core.eta import learned_wave_seconds
from vmssdash.core.journal import find_unfinished
from vmssdash.core.plan import Strategy, build_plan
from vmssdash.core.plan_text import id_key
from vmssdash.core.revert import RevertError, RevertRun, find_run, plan_revert
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import who
from vmssdash.ui.model_pane import ModelPane
from vmssdash.ui.screens.confirm import ConfirmScreen
from vmssdash.ui.screens.plan import PlanScreen
from vmssdash.ui.screens.scale import ScaleScreen
from vmssdash.ui.screens.vm_actions import ActionMenu
from vmssdash.ui.write_path import WritePath

#: The keys that lead to a change; the App lists them among its own, in footer order.
CHANGE_BINDINGS: list[BindingType] = [
    Binding("U", "upgrade", "Upgrade", id="app.upgrade"),
    Binding("e", "edit_model", "Edit model", id="orch.model"),
    Binding("P", "plan", "Plan", id="orch.plan"),
    Binding("a", "vm_actions", "Actions", id="orch.actions"),
    Binding("z", "pause_run", "Pause/resume run", show=False, id="orch.pause"),
    Binding("X", "abort_run", "Abort run", show=False, id="orch.abort"),
    Binding("c", "scale", "Scale", show=False, id="orch.scale"),
    Binding("G", "promote_run", "Promote run", show=False, id="orch.promote"),
    Binding("R", "revert_run", "Revert last run", show=False, id="orch.revert"),
]


class ChangeKeys(WritePath):
    # ------------------------------------------------------------------ keys

    def _need_snapshot(self) -> ScaleSetSnapshot | None:
        if self.snapshot is None:
            self.notify("no data yet", severity="warning")
        return self.snapshot

    def action_upgrade(self) -> None:
        """The marked VMs, one update domain per wave, health-gated."""
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        if not self.marked:
            self.notify("nothing to upgrade: mark VMs first (space, u, s)", severity="warning")
            return
        plan = build_plan(snapshot, Strategy.UPDATE_DOMAIN, selection=self.marked)
        if not plan.targets:
            reasons = sorted({s.reason for s in plan.skipped})
            self.notify(f"nothing to upgrade: {'; '.join(reasons)}", severity="warning")
            return
        self.submit(UpgradePlan(plan, snapshot.image))

    def action_plan(self) -> None:
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        if self.run_view.running:
            self.notify(
                "an upgrade is already running; pause or abort it first", severity="warning"
            )
            return
        if snapshot.scale_set.upgrade_mode.lower() == "rolling":
            rolling = RollingStart.build(snapshot)
            if not rolling.stale:
                self.notify(
                    "every VM is already on the latest model: a rolling upgrade has nothing "
                    "to do (edit the model with e first)",
                    severity="warning",
                )
                return
            self.submit(rolling)
            return

        def chosen(change: UpgradePlan | None) -> None:
            if change is not None:
                self.submit(change)

        learned = learned_wave_seconds(self.journal_dir, snapshot.scale_set.id)
        screen = PlanScreen(
            snapshot,
            self.marked or None,
            # A Flexible set has no update domains: its plans start zone by zone.
            strategy=Strategy.ZONE if snapshot.flexible else Strategy.UPDATE_DOMAIN,
            strategies=self.settings.strategies if self.settings is not None else None,
            wave_seconds=learned or 60.0,
        )
        self.push_screen(screen, callback=chosen)

    def action_vm_actions(self) -> None:
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        cursor = self.cursor_vm
        ids = self.marked or frozenset({cursor.instance_id} if cursor else ())
        if not ids:
            self.notify("mark VMs first (space, u, s)", severity="warning")
            return

        def picked(action: ActionKind | None) -> None:
            if action is None:
                return
            change = VmAction.build(snapshot, action, ids)
            if change.scope.sent:
                self.submit(change)
                return
            why = "; ".join(f"VM {s.instance_id}: {s.reason}" for s in change.scope.skipped[:5])
            self.notify(f"nothing to {action.verb.lower()}: {why}", severity="warning")

        self.push_screen(ActionMenu(who(sorted(ids, key=id_key))), callback=picked)

    def action_scale(self) -> None:
        snapshot = self._need_snapshot()
        if snapshot is not None:
            self.push_screen(ScaleScreen(snapshot.scale_set), callback=self._maybe_submit)

    def _maybe_submit(self, change: Change | None) -> None:
        if change is not None:
            self.submit(change)

    def action_edit_model(self) -> None:
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        if self.run_view.running:
            self.notify(
                "an upgrade is running: changing the model now makes every VM stale again",
                severity="warning",
                timeout=8,
            )
        pane = ModelPane(
            self.api, snapshot.scale_set, previous=self.previous_model, read_only=self.read_only
        )

        def closed(fresh: ScaleSet | None) -> None:
            if fresh is not None:
                self.previous_model = pane.edit.previous
                self.changes_sent()

        self.push_screen(pane, callback=closed)

    def action_pause_run(self) -> None:
        control = self.run_view.control
        if control is None or not self.run_view.running:
            self.notify("no upgrade is running", severity="warning")
            return
        if control.pause_requested:
            control.resume()
            self.notify("upgrade resumed")
        else:
            control.pause()
            self.notify("upgrade pauses after the wave in flight")
        self.show_state()

    def action_promote_run(self) -> None:
        """Release a run waiting at a ``pause`` step of its plan."""
        control = self.run_view.control
        if control is None or not control.waiting_for_promote:
            self.notify("no run is waiting for promote", severity="warning")
            return
        control.promote()
        self.show_state()

    def action_revert_run(self) -> None:
        """The last run on this scale set, reverted: previewed and confirmed as a change."""
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        if self.run_view.running:
            self.notify("a run is going on; abort it first (X)", severity="warning")
            return
        try:
            source = find_run(self.journal_dir, None, snapshot.scale_set.id)
            revert = plan_revert(source, snapshot.scale_set)
        except (RevertError, OSError) as exc:
            self.notify(f"nothing to revert: {exc}", severity="warning")
            return
        self.submit(RevertRun(revert, source, len(snapshot.vms)))

    def action_abort_run(self) -> None:
        control = self.run_view.control
        if control is None or not self.run_view.running:
            self.notify("no upgrade is running", severity="warning")
            return
        if self.run_view.rolling:
            self.submit(RollingCancel(self.api.name))
            return

        def decided(ok: bool | None) -> None:
            if ok:
                control.abort()

        self.push_screen(
            ConfirmScreen("Abort the upgrade?", self.run_view.abort_text(), confirm_label="Abort"),
            callback=decided,
        )

    async def action_quit(self) -> None:
        """Quit; during a run, first say what goes on in Azure and how to resume."""
        if not (self.run_view.running or self._in_flight):
            self.exit()
            return
        in_flight = self.run_view.control.in_flight if self.run_view.control else ()
        lines = [
            "Quitting stops watching: no new wave starts.",
            (
                f"Already sent and continuing in Azure: {who(in_flight, list_up_to=40)}."
                if in_flight
                else "Requests already accepted by Azure continue there."
            ),
            *(f"In flight: {c.what}" for c in self._in_flight.values()),
            "",
            "To resume: run vmssdash on this scale set again (it offers the unfinished "
            "plan from the journal), or `vmssdash upgrade --resource-id ID --resume`.",
        ]

        def decided(ok: bool | None) -> None:
            if ok:
                self.exit()

        self.push_screen(
            ConfirmScreen("Quit during the upgrade?", "\n".join(lines), confirm_label="Quit"),
            callback=decided,
        )

    def offer_resume(self, snapshot: ScaleSetSnapshot) -> None:
        """On the first snapshot, offer to resume an unfinished plan from the journal."""
        if self._resume_offered or self.read_only:
            return
        self._resume_offered = True
        try:
            replay = find_unfinished(self.journal_dir, snapshot.scale_set.id)
        except OSError:
            replay = None
        if replay is not None:
            self.submit(UpgradePlan(replay.plan, snapshot.image, replay=replay))
