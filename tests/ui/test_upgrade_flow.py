"""Pilot tests of the whole issue-6 story on the ``demo`` scenario, over a real socket:
edit the image version, apply, plan by update domain, run, pause, resume, finish; and a
bad image version that stops the run as Faulted at the first wave with the reason shown.

The simulator's clock is manual; the ARM client's (and so the orchestrator's) ``sleep``
advances it, so simulated minutes pass in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select

from tests.ui.story import Gate, log_of, new_image_version, story, until
from vmssdash.core.changes import ACTIONS, VmAction
from vmssdash.core.events import RunState, WaveStarted
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.model_pane import ModelPane
from vmssdash.ui.run_pane import RunPane
from vmssdash.ui.screens.confirm import ConfirmScreen
from vmssdash.ui.screens.plan import PlanScreen
from vmssdash.ui.screens.scale import ScaleScreen
from vmssdash.ui.screens.vm_actions import ActionMenu

GOOD = "24.04.202611150"
BAD = "24.04.202611990-bad"


@asynccontextmanager
async def story_app(
    tmp_path: Path, *, read_only: bool = False, name: str = "vmss-web", gate: Gate | None = None
) -> AsyncIterator[tuple[VmssDashApp, Any]]:
    async with story(tmp_path, read_only=read_only, name=name, gate=gate) as s:
        yield s.app, s.world


def web(world: Any) -> Any:
    return next(s for s in world.scale_sets.values() if s.name == "vmss-web")


async def edit_version(app: VmssDashApp, pilot: Pilot[Any], world: Any, version: str) -> None:
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ModelPane), "the model pane")
    pane = app.screen
    assert isinstance(pane, ModelPane)
    await until(pilot, lambda: bool(pane.known_versions), "the version list")
    assert version in pane.known_versions
    picker = pane.query_one("#version-picker", Select)
    offered = [str(label) for label, _value in picker._options]
    assert offered[1] == "latest" and version in offered  # newest first, plus latest
    picker.value = version  # the picker fills the version field
    await until(pilot, lambda: pane.query_one("#version", Input).value == version, "the pick")
    # The diff redraws when the pane handles Input.Changed, a moment after the value lands.
    expected = f"imageReference.version: 24.04.202610010 → {version}"
    await until(pilot, lambda: expected in str(pane.query_one("#model-diff").render()), "the diff")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the apply confirmation")
    assert app.screen.focused is not None and app.screen.focused.id == "cancel"
    await pilot.click("#confirm")
    await until(pilot, lambda: pane.applied is not None, "the PATCH")
    vmss = web(world)
    ref = vmss.properties["virtualMachineProfile"]["storageProfile"]["imageReference"]
    assert ref["version"] == version
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, ModelPane), "the pane to close")


async def plan_and_start(app: VmssDashApp, pilot: Pilot[Any]) -> None:
    await app.refresh_snapshot()
    await pilot.press("P")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
    screen = app.screen
    assert isinstance(screen, PlanScreen) and screen.plan is not None
    body = str(screen.query_one("#plan-body").render())
    assert "Wave  1  UD 0" in body and "Wave  5  UD 4" in body
    assert "protected from scale-set actions: 1" in body and "deallocated: 1" in body
    assert "Estimated duration" in body
    assert screen.focused is not None and screen.focused.id == "plan-cancel"
    await pilot.click("#plan-start")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the plan confirmation")
    confirm = app.screen
    assert isinstance(confirm, ConfirmScreen)
    assert confirm.require_text == "vmss-web"  # a whole-set plan: type the name
    assert "Upgrade 38 of 40 VMs of vmss-web in 5 waves" in confirm.title_text
    await pilot.click("#confirm-input")
    await pilot.press(*"vmss-web", "enter")
    await until(pilot, lambda: app.run_view.control is not None, "the run to start")


async def test_edit_apply_plan_run_pause_resume_finish(tmp_path: Path) -> None:
    gate = Gate()
    async with (
        story_app(tmp_path, gate=gate) as (app, world),
        app.run_test(size=(160, 50)) as pilot,
    ):
        await app.refresh_snapshot()
        await edit_version(app, pilot, world, GOOD)
        ctl = app.run_view
        # Hold the clock once wave 2 has started, so 'z' lands with its upgrade in flight.
        gate.closed = lambda: any(isinstance(e, WaveStarted) and e.index == 1 for e in ctl.events)
        await plan_and_start(app, pilot)
        await until(pilot, lambda: gate.waiting, "wave 2 in flight")
        await pilot.press("z")
        await pilot.pause()
        assert ctl.state is RunState.RUNNING  # the wave in flight finishes first
        gate.open()
        await until(pilot, lambda: ctl.state is RunState.PAUSED, "the pause")
        assert sum(isinstance(e, WaveStarted) for e in ctl.events) == 2
        pane = app.query_one(RunPane)
        assert "Upgrade: PAUSED" in pane.status_text
        waves_started = sum(isinstance(e, WaveStarted) for e in ctl.events)
        await pilot.pause(0.1)
        assert sum(isinstance(e, WaveStarted) for e in ctl.events) == waves_started
        await pilot.press("z")
        await until(pilot, lambda: ctl.state is RunState.COMPLETED, "the run to finish")
        await until(pilot, lambda: "COMPLETED" in pane.status_text, "the pane update")
        assert "VMs 38/38" in pane.status_text
        vmss = web(world)
        stale = [
            i
            for i, vm in vmss.vms.items()
            if vm.applied_gen != vmss.model_gen
            and not vm.protect_from_scale_set_actions
            and vm.power != "deallocated"
        ]
        assert stale == []
        log = "\n".join(app.activity.lines)
        assert "upgrade: Run paused" in log and "upgrade: Run completed" in log
        await app.refresh_snapshot()


async def test_bad_image_faults_at_the_first_wave_with_the_reason_on_screen(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world), app.run_test(size=(160, 50)) as pilot:
        await app.refresh_snapshot()
        await edit_version(app, pilot, world, BAD)
        await plan_and_start(app, pilot)
        ctl = app.run_view
        await until(pilot, lambda: ctl.state is RunState.FAULTED, "the fault")
        pane = app.query_one(RunPane)
        await until(pilot, lambda: "FAULTED" in pane.status_text, "the pane update")
        text = pane.status_text
        assert "after wave 1" in text
        assert "health probe reports unhealthy" in text
        assert sum(isinstance(e, WaveStarted) for e in ctl.events) == 1
        await app.refresh_snapshot()


async def test_read_only_hides_and_blocks_every_change(tmp_path: Path) -> None:
    async with story_app(tmp_path, read_only=True) as (app, _world):
        await read_only_checks(app)


async def read_only_checks(app: VmssDashApp) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        await app.refresh_snapshot()
        for key in ("e", "P", "a", "c", "z", "X"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.screen_stack[0], key
        assert not app.query(RunPane)
        for action in app.WRITE_ACTIONS:
            assert app.check_action(action, ()) is False


async def test_vm_action_restart_previews_the_scope_then_runs(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world):
        await restart_checks(app, world)


async def restart_checks(app: VmssDashApp, world: Any) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("home", "space")
        marked = set(app.heatmap.marked)
        assert len(marked) == 1
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionMenu), "the menu")
        assert app.screen.focused is not None and app.screen.focused.id == "action-cancel"
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.title_text == "Restart 1 VM?"
        assert "Restart 1 of 40 VMs of vmss-web" in confirm.body
        assert confirm.require_text is None
        await pilot.click("#confirm")
        await until(
            pilot,
            lambda: any(op.kind == "restart" for op in world.operations.values()),
            "the restart request",
        )
        (iid,) = marked
        # Reported like any change sent to Azure: in flight in the header, then the outcome.
        await until(pilot, lambda: f"restart of VM {iid} succeeded" in log_of(app), "the outcome")
        assert f"restart of VM {iid} requested" in log_of(app)
        assert not app.dispatching
        assert app.heatmap.marked == set()  # cleared once Azure accepted the restart


async def test_scale_out_and_whole_set_delete_needs_the_name(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world):
        await scale_checks(app, world)


async def scale_checks(app: VmssDashApp, world: Any) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        snap = await app.refresh_snapshot()
        # Delete of every VM: the confirmation wants the scale set's name typed.
        app.submit(VmAction.build(snap, ACTIONS[-1], [vm.instance_id for vm in snap.vms]))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "delete confirmation")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.require_text == "vmss-web"
        assert "(the WHOLE scale set)" in confirm.body
        await pilot.press("escape")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ScaleScreen), "the scale screen")
        app.screen.query_one("#scale-capacity", Input).value = "45"
        await pilot.pause()
        assert "adds 5 VMs" in str(app.screen.query_one("#scale-preview").render())
        await pilot.click("#scale-ok")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "scale confirmation")
        await pilot.click("#confirm")
        await until(pilot, lambda: web(world).sku["capacity"] == 45, "the new capacity")
        await until(pilot, lambda: "capacity is now 45" in log_of(app), "the outcome")
        assert "scale vmss-web 40 → 45 requested" in log_of(app)


async def test_abort_warns_that_the_wave_in_flight_cannot_be_recalled(tmp_path: Path) -> None:
    gate = Gate()
    async with (
        story_app(tmp_path, gate=gate) as (app, world),
        app.run_test(size=(160, 50)) as pilot,
    ):
        await app.refresh_snapshot()
        await edit_version(app, pilot, world, GOOD)
        ctl = app.run_view
        gate.closed = lambda: any(isinstance(e, WaveStarted) for e in ctl.events)
        await plan_and_start(app, pilot)
        await until(pilot, lambda: gate.waiting, "wave 1 in flight")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "abort dialog")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "No new wave will start" in confirm.body
        assert "cannot be recalled" in confirm.body
        assert confirm.focused is not None and confirm.focused.id == "cancel"
        await pilot.click("#confirm")
        await pilot.pause()
        gate.open()
        await until(pilot, lambda: ctl.state is RunState.CANCELLED, "the abort")
        assert sum(isinstance(e, WaveStarted) for e in ctl.events) == 1
        assert ctl.result is not None and len(ctl.result.upgraded) == 8
        assert "CANCELLED" in app.query_one(RunPane).status_text
        log = "\n".join(app.activity.lines)
        assert "cannot be recalled" in log
        await app.refresh_snapshot()  # let the refresh the run triggered land before exit


async def test_upgrade_marked_key_runs_through_the_orchestrator(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world):
        await marked_checks(app, world)


async def marked_checks(app: VmssDashApp, world: Any) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        snap = await app.refresh_snapshot()
        stale = [vm.instance_id for vm in snap.vms if vm.latest_model is False][:3]
        assert stale
        app.heatmap.marked = set(stale)
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.click("#confirm")
        ctl = app.run_view
        await until(pilot, lambda: ctl.state is RunState.COMPLETED, "the run")
        assert ctl.result is not None and set(ctl.result.upgraded) == set(stale)


async def test_rolling_mode_set_uses_the_server_side_upgrade(tmp_path: Path) -> None:
    async with story_app(tmp_path, name="vmss-rolling") as (app, _world):
        await rolling_checks(app)


async def test_rolling_upgrade_is_not_offered_when_every_vm_is_up_to_date(
    tmp_path: Path,
) -> None:
    async with (
        story_app(tmp_path, name="vmss-rolling") as (app, _world),
        app.run_test(size=(160, 50), notifications=True) as pilot,
    ):
        snap = await app.refresh_snapshot()
        assert all(vm.latest_model for vm in snap.vms)
        await pilot.press("P")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        [note] = list(app._notifications)
        assert "every VM is already on the latest model" in note.message


async def rolling_checks(app: VmssDashApp) -> None:
    await new_image_version(app.api)
    async with app.run_test(size=(160, 50)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "Rolling mode" in confirm.body and confirm.require_text == "vmss-rolling"
        await pilot.click("#confirm-input")
        await pilot.press(*"vmss-rolling", "enter")
        ctl = app.run_view
        await until(pilot, lambda: ctl.state.is_terminal, "the rolling upgrade")
        assert any(type(e).__name__ == "RollingStatusEvent" for e in ctl.events)
        assert "server-side rolling upgrade" in "\n".join(app.activity.lines) or ctl.events


class _Crash(BaseException):
    pass


async def test_unfinished_plan_is_offered_for_resume_on_start(tmp_path: Path) -> None:
    from vmssdash.core.orchestrator import Orchestrator
    from vmssdash.core.plan import Strategy, build_plan
    from vmssdash.core.snapshot import ScaleSetSnapshot

    async with story_app(tmp_path) as (app, world):
        api = app.api
        scale_set = await api.get()
        ref = dict(scale_set.raw["properties"]["virtualMachineProfile"]["storageProfile"])
        ref = {**ref["imageReference"], "version": GOOD}
        await api.update_model(
            {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": ref}}}},
            etag=scale_set.etag,
        )
        snap = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
        plan = build_plan(snap, Strategy.UPDATE_DOMAIN)
        calls: dict[str, int] = {}
        crashed: list[bool] = []
        real = api.begin_manual_upgrade

        async def counting(ids: Any) -> Any:
            for i in ids:
                calls[str(i)] = calls.get(str(i), 0) + 1
            op = await real(ids)
            if not crashed and len(calls) > len(plan.waves[0].instance_ids):
                crashed.append(True)
                raise _Crash  # the first process dies with wave 2 just sent
            return op

        api.begin_manual_upgrade = counting  # type: ignore[method-assign]
        with suppress(_Crash):
            await Orchestrator(api, plan, journal_dir=tmp_path / "journal").run()
        async with app.run_test(size=(160, 50)) as pilot:
            await app.refresh_snapshot()
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the resume offer")
            await pilot.pause()
            confirm = app.screen
            assert isinstance(confirm, ConfirmScreen)
            assert "Resume the unfinished upgrade?" in confirm.title_text
            assert "1/5 waves finished" in confirm.body
            assert confirm.focused is not None and confirm.focused.id == "cancel"
            await pilot.click("#confirm")
            ctl = app.run_view
            await until(pilot, lambda: ctl.state is RunState.COMPLETED, "the resumed run")
            await app.refresh_snapshot()
        assert calls == dict.fromkeys(plan.targets, 1)
        vmss = web(world)
        assert all(vmss.vms[int(i)].applied_gen == vmss.model_gen for i in plan.targets)


async def test_plan_screen_strategies_batch_size_and_deallocated(tmp_path: Path) -> None:
    from textual.widgets import Button, Checkbox

    from vmssdash.core.plan import Strategy

    async with story_app(tmp_path) as (app, _world), app.run_test(size=(160, 50)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        await pilot.pause()
        screen.query_one("#plan-strategy", Select).value = Strategy.BATCH
        screen.query_one("#plan-batch", Input).value = "10%"
        await pilot.pause()
        assert screen.plan is not None and screen.plan.strategy is Strategy.BATCH
        assert all(len(w.instance_ids) <= 4 for w in screen.plan.waves)
        body = str(screen.query_one("#plan-body").render())
        assert "(batches of 10%)" in body
        screen.query_one("#plan-batch", Input).value = "0"
        await pilot.pause()
        assert "is not a batch size" in str(screen.query_one("#plan-error").render())
        assert screen.query_one("#plan-start", Button).disabled
        screen.query_one("#plan-batch", Input).value = ""
        screen.query_one("#plan-strategy", Select).value = Strategy.FAULT_DOMAIN
        screen.query_one("#plan-dealloc", Checkbox).value = True
        await pilot.pause()
        assert screen.plan is not None and screen.plan.strategy is Strategy.FAULT_DOMAIN
        labels = [w.label for w in screen.plan.waves]
        assert labels == sorted(labels) and all(label.startswith("FD ") for label in labels)
        assert not any(s.reason == "deallocated" for s in screen.plan.skipped)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
