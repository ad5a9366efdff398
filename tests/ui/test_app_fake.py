"""Pilot tests of the app against a hand-made scale set (no simulator, no sockets)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from tests.ui.fakeapi import FakeApi, make_api
from vmssdash.azure.pacing import Pacing
from vmssdash.azure.throttle import ThrottleBudget
from vmssdash.core.snapshot import Grouping
from vmssdash.core.state import VmState
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.details_pane import DetailsPane
from vmssdash.ui.messages import ChangeFinished, SnapshotReceived
from vmssdash.ui.panes import StatusHeader
from vmssdash.ui.screens.confirm import ConfirmScreen


def make_app(api: FakeApi | None = None, **kw: Any) -> VmssDashApp:
    state = Path(tempfile.mkdtemp(prefix="vmssdash-test-"))
    kw.setdefault("journal_dir", state / "journal")
    kw.setdefault("lock_dir", state / "locks")
    return VmssDashApp(
        api or make_api(),  # type: ignore[arg-type]
        clock=lambda: 100.0,
        timestamp=lambda: "12:00:00",
        live=False,
        **kw,
    )


def log_text(app: VmssDashApp) -> str:
    return "\n".join(str(line) for line in app.activity.lines)


async def test_navigation_moves_cursor_and_details() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        hm = app.heatmap
        # UD 0 holds 0, 5, 10, ...; UD 1 holds 1, 6, 11, ...
        assert hm.cursor_vm is not None and hm.cursor_vm.instance_id == "0"
        await pilot.press("right", "l")
        assert hm.cursor_vm.instance_id == "10"
        await pilot.press("down")
        assert hm.cursor_vm.instance_id == "11"
        await pilot.press("j", "k", "h")
        assert hm.cursor_vm.instance_id == "6"
        await pilot.press("up", "up")  # stops at the first row
        assert hm.cursor_vm.instance_id == "5"
        await pilot.press("left", "left")  # wraps back to the end of UD 0... then clamps
        assert hm.cursor_vm.instance_id == "0"
        await pilot.pause()
        details = app.query_one(DetailsPane)
        assert details.vm is not None and details.vm.instance_id == "0"
        rendered = str(details.render())
        assert "vmss-fake_0" in rendered
        # The link is cut at the pane's width (each piece still links to the whole URL).
        assert "https://portal.azure.com/#@/resource/subscriptions/" in rendered.replace("\n", "")


async def test_marking_vm_domain_and_stale_then_clear() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        hm = app.heatmap
        await pilot.press("space")
        assert hm.marked == {"0"}
        await pilot.press("space")
        assert hm.marked == set()
        await pilot.press("down", "u")
        assert hm.marked == {str(i) for i in range(1, 40, 5)}
        await pilot.press("u")  # all marked: toggles the row off
        assert hm.marked == set()
        await pilot.press("s")
        stale = {vm.instance_id for vm in app.snapshot.vms if vm.latest_model is False}  # type: ignore[union-attr]
        assert stale and hm.marked == stale
        await pilot.pause()
        assert app.query_one(StatusHeader).info.marked == len(stale)
        await pilot.press("escape")
        assert hm.marked == set()


async def test_marks_and_cursor_survive_refresh_and_regrouping() -> None:
    api = make_api()
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        hm = app.heatmap
        assert hm.move_to("12")
        await pilot.press("space", "right", "space")
        marked = set(hm.marked)
        assert marked == {"12", "17"}
        api.set_vm(12, latest=True)
        await app.refresh_snapshot()
        assert hm.marked == marked
        await pilot.press("g")
        assert hm.grouping is Grouping.FAULT_DOMAIN
        assert [g.label for g in hm.groups] == ["FD 0", "FD 1", "FD 2"]
        assert hm.marked == marked
        assert hm.cursor_vm is not None and hm.cursor_vm.instance_id == "17"
        await pilot.press("g")
        assert hm.grouping is Grouping.ZONE
        assert [g.label for g in hm.groups] == ["no zone"]
        await pilot.press("g")
        assert hm.grouping is Grouping.UPDATE_DOMAIN
        assert hm.cursor_vm is not None and hm.cursor_vm.instance_id == "17"


async def test_filter_dims_non_matching_cells() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("slash")
        await pilot.press(*"state:stale")
        await pilot.press("enter")
        hm = app.heatmap
        assert hm.has_focus
        assert app.snapshot is not None
        matching = {vm.instance_id for vm in app.snapshot.vms if hm.matches(vm)}
        assert matching == {vm.instance_id for vm in app.snapshot.vms if vm.state is VmState.STALE}
        # Marking the stale VMs' row respects the filter: only matching VMs get marked.
        await pilot.press("u")
        assert hm.marked and hm.marked <= matching
        assert app.apply_filter("ud:9 nonsense:1") is False  # invalid: old filter stays
        assert hm.matcher is not None
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert hm.matcher is None


async def test_network_error_keeps_last_snapshot() -> None:
    api = make_api()
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        first = await app.refresh_snapshot()
        api.fail_next = ConnectionError("endpoint unreachable")
        await app.refresh_snapshot()
        await pilot.pause()
        assert app.snapshot is first
        assert app.last_error == "endpoint unreachable"
        assert "refresh failed: endpoint unreachable" in log_text(app)
        assert "refresh failed" in str(app.query_one(StatusHeader).render())
        await app.refresh_snapshot()
        assert app.last_error is None


async def test_changed_cells_are_logged_and_marked_for_one_refresh() -> None:
    api = make_api()
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        api.set_vm(1, prov="updating")
        await app.refresh_snapshot()
        assert app.heatmap.changed == {"1"}
        assert "VM 1: stale → updating" in log_text(app)
        await app.refresh_snapshot()
        assert app.heatmap.changed == frozenset()
        await pilot.pause()


async def test_pause_and_manual_refresh() -> None:
    api = make_api()
    app = make_app(api)
    messages: list[object] = []
    async with app.run_test(size=(100, 32), message_hook=messages.append) as pilot:
        await app.refresh_snapshot()
        await pilot.press("p")
        assert app.observer.paused
        assert "PAUSED" in str(app.query_one(StatusHeader).render())
        before = api.calls.count("list")
        await pilot.press("ctrl+r")
        while app._polling:
            await pilot.pause()
        await pilot.pause()
        assert api.calls.count("list") == before + 1
        assert sum(isinstance(m, SnapshotReceived) for m in messages) >= 2
        await pilot.press("p")
        assert not app.observer.paused


async def test_upgrade_confirms_with_cancel_focused_then_dispatches() -> None:
    api = make_api()
    app = make_app(api)
    messages: list[object] = []
    async with app.run_test(size=(100, 32), message_hook=messages.append) as pilot:
        await app.refresh_snapshot()
        await pilot.press("down", "u")  # UD 1: 1, 6, 11, ... ; stale among them: 1, 21 (i%4==1)
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await pilot.press("enter")  # Enter on Cancel cancels
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert api.upgraded == []
        await pilot.press("U")
        await pilot.pause()
        await pilot.press("y")  # no key confirms: Tab to the button, then Enter
        await pilot.pause()
        assert api.upgraded == []
        await pilot.press("tab", "enter")
        while not any(isinstance(m, ChangeFinished) for m in messages):
            await pilot.pause()
        assert api.upgraded == [["1", "21"]]
        [done] = [m for m in messages if isinstance(m, ChangeFinished)]
        assert done.outcome is not None and done.outcome.ok
        assert "upgrade of 2 VMs in 1 wave requested" in log_text(app)


async def test_read_only_blocks_upgrade() -> None:
    api = make_api()
    app = make_app(api, read_only=True)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("s", "U")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert api.upgraded == []
        assert app.check_action("upgrade", ()) is False
        assert "READ-ONLY" in str(app.query_one(StatusHeader).render())


async def test_keymap_remaps_bindings() -> None:
    class Settings:
        keymap = {"heatmap.mark": "x", "app.grouping": "G"}
        theme = "okabe-ito"
        refresh_interval = 5.0
        read_only = False
        journal_dir = None

    app = make_app(settings=Settings())
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        assert app.theme == "okabe-ito"
        assert app.observer.counts_every == 5.0
        await pilot.press("x")
        assert app.heatmap.marked == {"0"}
        await pilot.press("G")
        assert app.heatmap.grouping is Grouping.FAULT_DOMAIN


async def test_palette_lists_actions() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Mark", "Mark row", "Mark stale", "Group by", "Filter", "Upgrade"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_small_terminal_shows_every_row(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        hm = app.heatmap
        assert hm.size.height >= hm.line_count
        lines = [hm.render_line(y).text for y in range(hm.size.height)]
        assert lines[0].startswith("UD 0")
        assert lines[4].startswith("UD 4")
        assert "vmss-fake" in app.query_one(StatusHeader).render().plain


async def test_big_upgrade_requires_typing_the_scale_set_name() -> None:
    api = make_api(100)
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("s", "U")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and screen.require_text == "vmss-fake"
        box = screen.query_one("#confirm-input", Input)
        assert screen.focused is box  # keys go into the box, not to a shortcut
        await pilot.press("y", "n")
        await pilot.pause()
        assert app.screen is screen and api.upgraded == [] and box.value == "yn"
        box.value = ""
        await pilot.press(*"vmss-fak")
        assert screen.query_one("#confirm").disabled
        await pilot.press("e", "enter")
        for _ in range(500):
            if sum(map(len, api.upgraded)) > 20:
                break
            await pilot.pause()
        assert sum(map(len, api.upgraded)) > 20


async def test_client_events_reach_the_activity_log() -> None:
    from vmssdash.azure.events import ClientEvent

    api = make_api()
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        sink = api.client.events
        assert callable(sink)
        path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/x"
        sink(ClientEvent("request", f"GET {path}", method="GET"))
        sink(ClientEvent("request", f"POST {path}/manualupgrade → 202", method="POST"))
        sink(ClientEvent("retry", "throttled GET: 429", wait=2.5, request_id="r-1"))
        for _ in range(3):
            sink(ClientEvent("lro", "operation op-1: InProgress", url="op-1"))
        sink(ClientEvent("lro", "operation op-1: Succeeded", url="op-1"))
        await pilot.pause()
        log = log_text(app)
        assert f"GET {path}" not in log  # reads are not news
        assert "request: POST …/x/manualupgrade → 202" in log
        assert "retry: throttled GET: 429 (waiting 2.5 s) [request r-1]" in log
        assert log.count("op-1: InProgress") == 1
        assert "op-1: Succeeded" in log


async def test_header_shows_both_ages_budget_and_a_countdown_while_budget_is_spent() -> None:
    now = [100.0]
    api = make_api(n=60)
    api.pacing = Pacing(lambda: now[0], asyncio.sleep, ThrottleBudget(clock=lambda: now[0]))
    app = make_app(api)
    app.observer.per_vm_max = 10  # 60 VMs are then read by list only
    async with app.run_test(size=(160, 32)) as pilot:
        await app.refresh_snapshot()
        header = app.query_one(StatusHeader)
        text = header.render().plain
        assert "counts 0s · cells 0s" in text
        assert "Azure 60 VMs, 1 failed, 1 updating" in text
        # Azure says the list budget is spent (others used it): the observer must not list,
        # and the header counts down to when the window rolls over.
        api.pacing.budget.resource.update(
            {
                "Microsoft.Compute/HighCostGetVMScaleSet3Min": 0,
                "Microsoft.Compute/HighCostGetVMScaleSet30Min": 500,
            }
        )
        now[0] += 1
        await app.refresh_snapshot()
        lists = api.calls.count("list")
        now[0] += 100
        await app.refresh_snapshot()
        assert api.calls.count("list") == lists
        app._update_header()
        await pilot.pause()
        text = header.render()
        assert "waiting for read budget: 80 s" in text.plain
        assert "reads HighCost 3 min 100% used" in text.plain
        warn = header.state_style(VmState.FAILED)
        assert any(
            text.plain[s.start : s.end] == "cells 100s" and s.style == warn for s in text.spans
        )
