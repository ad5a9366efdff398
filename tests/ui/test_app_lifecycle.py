"""App lifecycle: what happens around first paint and teardown."""

from __future__ import annotations

import gc

from tests.ui.fakeapi import make_api
from tests.ui.test_app_fake import make_app
from vmssdash.core.words import vms
from vmssdash.ui.confirm import ConfirmScreen
from vmssdash.ui.extensions import Extension
from vmssdash.ui.messages import SnapshotFailed, SnapshotReceived
from vmssdash.ui.panes import StatusHeader


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
        assert screen.title_text == "Upgrade 1 VM to the latest model?"
        assert "\n1 VM: UD 1: 1" in screen.body


def test_vms_words() -> None:
    assert [vms(n) for n in (0, 1, 2)] == ["0 VMs", "1 VM", "2 VMs"]


async def test_footer_at_130_columns_shows_the_important_keys() -> None:
    from textual.widgets._footer import FooterKey

    from vmssdash.ui.actions import extensions

    app = make_app(extensions=extensions())
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
    state: dict[str, str | None] = {"busy": "upgrading: wave 2/5"}
    dispatched: list[tuple[str, ...]] = []
    ext = Extension(
        name="fake-orchestrator",
        busy=lambda app: state["busy"],
        dispatch_upgrade=lambda app, ids: dispatched.append(ids),
    )
    app = make_app(extensions=[ext])
    async with app.run_test(size=(120, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        app._update_header()
        assert "upgrading: wave 2/5" in str(app.query_one(StatusHeader).render())
        assert app.heatmap.move_to("1")
        await pilot.press("space", "U")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # refused, not asked
        state["busy"] = None
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
