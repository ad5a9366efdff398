"""App lifecycle: what happens around first paint and teardown."""

from __future__ import annotations

import gc

from tests.ui.fakeapi import make_api
from tests.ui.test_app_fake import make_app
from vmssdash.core.events import Progress, RunState
from vmssdash.core.words import vms
from vmssdash.ui.messages import SnapshotFailed, SnapshotReceived
from vmssdash.ui.panes import StatusHeader
from vmssdash.ui.screens.confirm import ConfirmScreen


async def test_gc_is_frozen_after_first_paint_and_unfrozen_on_exit() -> None:
    gc.unfreeze()  # whatever an earlier test left behind
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        assert gc.get_freeze_count() == 0
        await app.refresh_snapshot()
        await pilot.pause()
        for _ in range(50):
            if app.first_paint_at is not None:
                break
            await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_a_refresh_landing_during_teardown_is_ignored() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        snap = await app.refresh_snapshot()
        await pilot.pause()
        # The widgets go first (as on exit); a late refresh, a late failure and a late
        # client event must not raise NoMatches.
        await app.query_one("#heatmap").remove()
        await app.activity.remove()
        app.post_message(SnapshotReceived(snap, frozenset({"3"}), app._generation))
        app.post_message(SnapshotFailed("connection reset", app._generation))
        app.log_activity("late line")
        await pilot.pause()
        assert app.snapshot is snap  # ignored, not applied
        app.exit()
        app._snapshot_received(SnapshotReceived(snap, frozenset(), app._generation))
    assert app.return_code == 0


async def test_one_vm_is_one_vm_in_the_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        assert app.heatmap.move_to("1")  # every 4th VM from 1 is stale
        await pilot.press("space", "U")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert screen.title_text.startswith("Upgrade 1 of 40 VMs of vmss-fake in 1 wave")
        assert "Wave  1  UD 1" in screen.body and "1 VM  1\n" in screen.body


def test_vms_words() -> None:
    assert [vms(n) for n in (0, 1, 2)] == ["0 VMs", "1 VM", "2 VMs"]


async def test_footer_at_130_columns_shows_the_important_keys() -> None:
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=(130, 36)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        shown = {
            fk.key: fk.region
            for fk in app.query(FooterKey)
            if fk.region.width and fk.region.right <= 130
        }
        for key in ("space", "u", "s", "slash", "U", "e", "P", "a", "question_mark", "q"):
            assert key in shown, f"{key} missing from the footer: {sorted(shown)}"
        for hidden in ("g", "p", "z", "X", "c"):
            assert hidden not in shown
        # Hidden from the footer, still bound (help and palette list them).
        assert "Group by" in {b.binding.description for b in app.active_bindings.values()}


async def test_shift_arrows_mark_the_cells_the_cursor_passes_over() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        hm = app.heatmap
        # UD 0 holds 0, 5, 10, ...; UD 1 holds 1, 6, 11, ...
        await pilot.press("shift+right", "shift+right")
        assert hm.marked == {"0", "5", "10"}
        assert hm.cursor_vm is not None and hm.cursor_vm.instance_id == "10"
        await pilot.press("shift+down")  # from UD 0 col 2 to UD 1 col 2: just that cell
        assert hm.marked == {"0", "5", "10", "11"}
        await pilot.press("escape", "shift+left")
        assert hm.marked == {"11", "6"}
        await pilot.pause()
        assert "marked 2" in str(app.query_one(StatusHeader).render())


async def test_a_run_in_progress_shows_in_the_header_and_blocks_a_second_upgrade() -> None:
    app = make_app()
    async with app.run_test(size=(120, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        view = app.run_view
        view.control, view.state = object(), RunState.RUNNING  # type: ignore[assignment]
        view.apply(Progress(0.0, 1, 5, 8, 40, 0, None, current_wave=1))
        app._update_header()
        assert "upgrading: wave 2/5" in str(app.query_one(StatusHeader).render())
        assert app.heatmap.move_to("1")
        await pilot.press("space", "U")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # refused, not asked
        view.state = RunState.COMPLETED
        app._update_header()
        assert "upgrading" not in str(app.query_one(StatusHeader).render())
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)


async def test_refreshes_under_an_open_dialog_keep_its_focus_and_text() -> None:
    api = make_api()
    app = make_app(api)
    async with app.run_test(size=(120, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        assert app.heatmap.move_to("1")
        await pilot.press("space", "U")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        focused, body = app.focused, dialog.body
        api.set_vm(1, prov="updating")  # the marked VM starts moving underneath
        await app.refresh_snapshot()
        await pilot.pause()
        assert app.snapshot is not None and app.snapshot.by_id["1"].state.is_transitional
        assert app.screen is dialog and app.focused is focused and dialog.body == body
