"""Issue 17: the dashboard tells the truth at a glance (filter, marks, counts, labels,
dense layout), driven through the keys and the mouse like a person would."""

from __future__ import annotations

import pytest

from tests.ui.fakeapi import make_api
from tests.ui.test_app_fake import make_app
from vmssdash.core.state import VmState
from vmssdash.ui.heatmap import Heatmap
from vmssdash.ui.panes import StatusHeader


def header_text(app: object) -> str:
    from textual.app import App

    assert isinstance(app, App)
    return app.query_one(StatusHeader).render().plain


def row_text(hm: Heatmap, y: int) -> str:
    return hm.render_line(y).text


async def test_enter_on_a_bad_filter_is_refused_and_the_header_names_the_filter_in_effect() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        box = app.query_one("#filter")
        await pilot.press("slash", *"state:stale", "enter")
        assert "filter 'state:stale'" in header_text(app)
        # ud:zz never parses: Enter keeps the line open with the reason, and the filter
        # in effect is the one kept before ("u", "ud" were only previews while typing).
        await pilot.press("slash", *"ud:zz")
        assert app.heatmap.filter_text == "state:stale"
        await pilot.press("enter")
        await pilot.pause()
        assert box.has_class("-shown") and box.has_focus
        assert "ud: needs numbers" in str(box.border_title)
        assert app.heatmap.filter_text == "state:stale"
        assert "ud:zz" not in header_text(app)
        assert "filter 'state:stale'" in header_text(app)
        # ud:0x: "ud:0" previewed while typing; the "x" brings the kept filter back, and
        # Enter is refused: the header never names text that is not applied.
        box.value = ""  # type: ignore[attr-defined]
        await pilot.press(*"ud:0")
        await pilot.pause()
        assert "filter 'ud:0' shows 8" in header_text(app)
        await pilot.press("x", "enter")
        await pilot.pause()
        assert box.has_class("-shown")
        assert "ud:0x" not in header_text(app)
        assert "filter 'state:stale'" in header_text(app)
        # Fixing the text and pressing Enter closes the line and applies it.
        await pilot.press("backspace", "enter")
        await pilot.pause()
        assert not box.has_class("-shown") and app.heatmap.has_focus
        assert "filter 'ud:0' shows 8" in header_text(app)


async def test_filtered_out_cells_show_a_dash_not_only_a_dim_colour() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        hm = app.heatmap
        before = row_text(hm, 1)  # UD 1: VMs 1, 6, 11, ...; every 4th from 1 is stale
        await pilot.press("slash", *"state:stale", "enter")
        await pilot.pause()
        after = row_text(hm, 1)
        assert before != after
        assert app.snapshot is not None
        ud1 = [vm for vm in app.snapshot.vms if vm.update_domain == 1]
        start = hm.layout_info.label_w
        glyphs = [after[start + 2 * i] for i in range(len(ud1))]
        assert glyphs == [vm.state.glyph if vm.state is VmState.STALE else "-" for vm in ud1]


async def test_vms_left_on_the_old_model_are_called_out_in_cells_and_header() -> None:
    app = make_app()  # VM 13 deallocated and VM 17 unhealthy, both on the old model
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        assert "~2 left on old model (□1 !1)" in header_text(app)
        hm = app.heatmap
        y, x = hm.layout_info.where[hm._index["13"]]
        assert row_text(hm, y)[x : x + 2] == VmState.DEALLOCATED.glyph + "~"
        # A deallocated VM on the latest model has no marker.
        app.api.set_vm(13, latest=True)  # type: ignore[attr-defined]
        await app.refresh_snapshot()
        await pilot.pause()
        assert row_text(hm, y)[x] == VmState.DEALLOCATED.glyph
        assert row_text(hm, y)[x + 1] != "~"
        assert "~1 left on old model (!1)" in header_text(app)


async def test_row_label_counts_the_vms_up_to_date_not_those_on_the_latest_model() -> None:
    api = make_api(10, uds=1)
    for i in range(10):
        api.set_vm(i, latest=True)
    api.vms[3]["properties"]["instanceView"]["vmHealth"] = {
        "status": {"code": "HealthState/unhealthy"}
    }
    app = make_app(api)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        label = row_text(app.heatmap, 0)[: app.heatmap.layout_info.label_w]
        # 10 on the latest model, but 2 are not up to date (VM 7 failed, VM 3 unhealthy).
        assert label.split() == ["UD", "0", "●8/10"]


async def test_shift_arrows_mark_the_path_the_cursor_took() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.refresh_snapshot()
        hm = app.heatmap
        assert hm.move_to("16")  # UD 1, column 3 (UD 1 holds 1, 6, 11, 16, ...)
        await pilot.press("shift+right", "shift+right", "shift+down")
        # UD 1 columns 3-5 (16, 21, 26), then down to UD 2 column 5 (27): four VMs,
        # not every VM between the first and the last in reading order.
        assert hm.marked == {"16", "21", "26", "27"}


async def test_dense_layout_puts_1000_vms_on_one_160x48_screen() -> None:
    app = make_app(make_api(1000, uds=5, pgs=10))  # like `large`: 10 PGs of 100
    async with app.run_test(size=(160, 48)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        hm = app.heatmap
        height = hm.scrollable_content_region.height
        assert hm.line_count > height  # roomy: needs scrolling
        await pilot.press("D")
        await pilot.pause()
        assert hm.dense
        assert hm.line_count <= height and hm.max_scroll_y == 0
        layout = hm.layout_info
        assert layout.cell_w == 1
        assert layout.width <= hm.scrollable_content_region.width - 1
        # Placement groups side by side: the first line holds two headings.
        columns = row_text(hm, 0).count("placement group")
        assert columns >= 2
        # Every VM has its own cell, with its glyph, and the mouse finds it.
        assert app.snapshot is not None
        seen = set()
        for index, vm in enumerate(hm._order):
            y, x = layout.where[index]
            assert row_text(hm, y)[x] == vm.state.glyph
            assert hm.cell_at(x, y) == index
            seen.add((y, x))
        assert len(seen) == 1000
        # Down from the last row of the first block goes to the block below it, not
        # to its neighbour on the right.
        last_of_block0 = max(
            i for i, vm in enumerate(hm._order) if vm.placement_group == "pg00-0000-0000"
        )
        hm.cursor = last_of_block0
        await pilot.press("down")
        assert hm.cursor_vm is not None
        assert hm.cursor_vm.placement_group == f"pg{columns:02d}-0000-0000"
        # Click a cell of the second block: the cursor goes there; again: it is marked.
        target = hm._index["500"]
        region = hm.region_of(target)
        offset = (region.x + hm.gutter.left, region.y + hm.gutter.top)
        await pilot.click(Heatmap, offset=offset)
        await pilot.click(Heatmap, offset=offset)
        assert hm.cursor == target and hm.marked == {"500"}
        # The filter draws a "-" for the others in one-column cells too.
        assert app.apply_filter("id:500")
        await pilot.pause()
        other = hm._index["501"]
        oy, ox = layout.where[other]
        assert row_text(hm, oy)[ox] == "-"
        y, x = layout.where[target]
        assert row_text(hm, y)[x] == hm._order[target].state.glyph
        assert app.apply_filter("")
        await pilot.press("space", "D")  # unmark; back to roomy: cursor kept
        await pilot.pause()
        assert not hm.dense and hm.cursor_vm is not None
        assert hm.cursor_vm.instance_id == "500"


@pytest.mark.parametrize("width", [80, 110, 130])
async def test_the_footer_keeps_help_and_quit_as_the_width_shrinks(width: int) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        await app.refresh_snapshot()
        await pilot.pause()
        keys = list(app.query(FooterKey))
        palette = next(k for k in keys if k.has_class("-command-palette"))
        shown = {
            k.key
            for k in keys
            if k is not palette and k.region.width and k.region.right <= palette.region.x
        }
        assert {"question_mark", "q", "slash", "space"} <= shown, sorted(shown)
        # Nothing half-drawn under the palette key or past the edge.
        assert all(k.region.right <= palette.region.x for k in keys if k is not palette)
        if width >= 130:
            assert {"u", "s", "U", "e", "P", "a"} <= shown


async def test_long_activity_lines_wrap_at_word_boundaries() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.refresh_snapshot()
        log = app.activity
        width = log.scrollable_content_region.width
        words = [f"word{i:02d}" for i in range(40)]
        app.log_activity(" ".join(words))
        await pilot.pause()
        lines = [str(line) for line in log.lines]
        start = next(i for i, line in enumerate(lines) if "word00" in line)
        tail = lines[start:]
        assert len(tail) > 1 and all(len(line) < width for line in tail)
        assert tail[1].startswith(" " * 9)  # under the text, not under the time
        assert " ".join(" ".join(tail).split()[1:]) == " ".join(words)  # no word cut


async def test_help_explains_row_labels_header_counts_markers_and_the_two_pauses() -> None:
    from textual.widgets import Static

    from vmssdash.ui.screens.help import HelpScreen

    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await app.refresh_snapshot()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.render()) for s in app.screen.query(Static))
        assert "UD 0 ●6/8: 6 of the row's 8 VMs are up to date" in text
        assert "left on old model" in text and "Plans skip deallocated" in text
        assert "- means" in text and "~ on an old model" in text
        assert "p  pauses the live refresh" in text
        assert "z  pauses (and resumes) the running upgrade plan" in text
        assert ("p", "Pause refresh") in app.screen.keys  # the key table names it too


async def test_a_long_confirmation_keeps_title_typed_name_and_buttons_on_80x24() -> None:
    from textual.widgets import Input

    from vmssdash.ui.screens.confirm import ConfirmScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        body = "\n".join(f"Wave {i}  UD {i}  8 VMs" for i in range(30))
        await app.push_screen(ConfirmScreen("Upgrade 38 of 40 VMs?", body, require_text="web"))
        await pilot.pause()
        screen = app.screen
        for widget in (
            screen.query_one("#confirm-title"),
            screen.query_one(Input),
            screen.query_one("#cancel"),
            screen.query_one("#confirm"),
        ):
            assert screen.get_widget_at(widget.region.x, widget.region.y)[0] is widget
        assert screen.query_one("#confirm-scroll").max_scroll_y > 0  # the body scrolls


async def test_a_long_confirmation_title_wraps_inside_the_dialog() -> None:
    """The plan summary is the question being asked: none of it may run off the dialog."""
    from vmssdash.ui.screens.confirm import ConfirmScreen

    title = (
        "Upgrade 250 of 1000 VMs of vmss-large in 5 waves (one update domain per wave); 0 skipped?"
    )
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(ConfirmScreen(title, "body", require_text="vmss-large"))
        await pilot.pause()
        label = app.screen.query_one("#confirm-title")
        dialog = label.parent
        assert dialog is not None
        assert label.region.right <= dialog.content_region.right
        assert label.region.height >= 2
