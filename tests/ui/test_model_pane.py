"""The model pane on the simulator: validation before sending, the diff, 412 handling
(reload, show what changed underneath, keep the edit), revert, and the other image forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from tests.ui.story import rid
from tests.ui.test_upgrade_flow import GOOD, story_app, until, web
from vmssdash.core.model_edit import ImageKind
from vmssdash.ui.app import VmssDashApp
from vmssdash.ui.model_pane import ModelPane
from vmssdash.ui.screens.confirm import ConfirmScreen


async def open_pane(app: VmssDashApp, pilot: Pilot[Any]) -> ModelPane:
    await app.refresh_snapshot()
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ModelPane), "the model pane")
    pane = app.screen
    assert isinstance(pane, ModelPane)
    return pane


def text(pane: ModelPane, selector: str) -> str:
    return str(pane.query_one(selector).render())


async def apply(app: VmssDashApp, pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    await pilot.click("#confirm")


async def test_invalid_version_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world), app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(app, pilot)
        etag = web(world).etag
        pane.query_one("#version", Input).value = "24.04"
        await pilot.pause()
        assert "not a valid image version" in text(pane, "#model-problems")
        assert pane.query_one("#model-apply", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is pane  # no confirmation, no request
        assert web(world).etag == etag
        pane.query_one("#capacity", Input).value = "x"
        await pilot.pause()
        assert "not a whole number" in text(pane, "#model-problems")


async def test_412_reloads_shows_what_changed_and_keeps_the_edit(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world), app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(app, pilot)
        # Someone else scales the set while the pane is open.
        base_url = str(app.api.client.endpoint)
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.patch(
                rid("vmss-web"),
                params={"api-version": "2026-04-01"},
                json={"sku": {"capacity": 42}},
            )
            assert response.status_code in (200, 202), response.text
            # Let the scale-out finish (the clock is manual).
            await http.post("/_sim/clock/advance", json={"seconds": 120})
        pane.query_one("#version", Input).value = GOOD
        await pilot.pause()
        await apply(app, pilot)
        await until(pilot, lambda: bool(pane.underneath), "the 412 to be shown")
        conflict = text(pane, "#model-conflict")
        assert "changed underneath" in conflict
        assert "sku.capacity: 40 → 42" in conflict
        assert pane.query_one("#version", Input).value == GOOD
        assert pane.query_one("#capacity", Input).value == "42"
        assert [str(c) for c in pane.edit.changes()] == [
            f"imageReference.version: 24.04.202610010 → {GOOD}"
        ]
        await apply(app, pilot)
        await until(pilot, lambda: pane.applied is not None, "the second PATCH")
        assert web(world).sku["capacity"] == 42
        ref = web(world).properties["virtualMachineProfile"]["storageProfile"]["imageReference"]
        assert ref["version"] == GOOD


async def test_revert_restores_the_previous_model(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world), app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(app, pilot)
        assert pane.query_one("#model-revert", Button).disabled
        pane.query_one("#version", Input).value = GOOD
        await pilot.pause()
        await apply(app, pilot)
        await until(pilot, lambda: pane.applied is not None, "the PATCH")
        assert not pane.query_one("#model-revert", Button).disabled
        assert "Previous model kept for revert" in text(pane, "#model-current")
        await pilot.click("#model-revert")
        await pilot.pause()
        assert pane.query_one("#version", Input).value == "24.04.202610010"
        assert f"{GOOD} → 24.04.202610010" in text(pane, "#model-diff")
        pane.applied = None
        # Back to an older version is a downgrade: the confirmation wants the name typed.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.require_text == "vmss-web"  # type: ignore[attr-defined]
        app.screen.query_one("#confirm-input", Input).focus()
        await pilot.press(*"vmss-web", "enter")
        await until(pilot, lambda: pane.applied is not None, "the revert PATCH")
        ref = web(world).properties["virtualMachineProfile"]["storageProfile"]["imageReference"]
        assert ref["version"] == "24.04.202610010"


async def test_gallery_form_validates_the_arm_id(tmp_path: Path) -> None:
    async with story_app(tmp_path, name="vmss-zonal") as (app, _world):
        await gallery_checks(app)


async def gallery_checks(app: VmssDashApp) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(app, pilot)
        assert pane.query_one("#image-kind", Select).value is ImageKind.GALLERY
        assert pane.query_one("#platform-fields").has_class("-hidden")
        box = pane.query_one("#image-id", Input)
        good = box.value
        box.value = good.replace("/versions/1.4.0", "/versions/1.6.0")
        await pilot.pause()
        assert text(pane, "#model-problems") == ""
        assert "/versions/1.6.0" in text(pane, "#model-diff")
        box.value = "/subscriptions/x/galleries/g"
        await pilot.pause()
        assert "is not a gallery image id" in text(pane, "#model-problems")
        pane.query_one("#image-kind", Select).value = ImageKind.VHD
        await pilot.pause()
        assert not pane.query_one("#uri-row").has_class("-hidden")
        pane.query_one("#vhd-uri", Input).value = "http://a.blob.core.windows.net/c/x.vhd"
        await pilot.pause()
        assert "https" in text(pane, "#model-problems")


async def test_at_80x24_the_version_field_shows_and_the_picker_marks_the_current_version(
    tmp_path: Path,
) -> None:
    async with story_app(tmp_path) as (app, _world), app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(app, pilot)
        await until(pilot, lambda: bool(pane.known_versions), "the version list")
        await pilot.pause()
        form = pane.query_one("#model-form")
        version = pane.query_one("#version", Input)
        # Visible without scrolling: what is drawn at its place on screen is the field.
        assert form.region.contains_region(version.region), (form.region, version.region)
        assert pane.get_widget_at(version.region.x, version.region.y)[0] is version
        assert "tab" in text(pane, "#model-hint")
        picker = pane.query_one("#version-picker", Select)
        labels = [str(label) for label, _value in picker._options]
        assert "24.04.202610010 ● current" in labels
        assert sum("current" in label for label in labels) == 1


async def test_a_downgrade_warns_and_asks_for_the_typed_name(tmp_path: Path) -> None:
    async with story_app(tmp_path) as (app, world), app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(app, pilot)
        etag = web(world).etag
        pane.query_one("#version", Input).value = "24.04.202609110"  # below 202610010
        await pilot.pause()
        assert "DOWNGRADE" in text(pane, "#model-notes")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.require_text == "vmss-web"
        assert "DOWNGRADE: 24.04.202609110 is older than the current 24.04.202610010" in (
            confirm.body
        )
        assert confirm.query_one("#confirm", Button).disabled
        await pilot.press("y")  # no key escapes the typed confirmation
        await pilot.pause()
        assert app.screen is confirm and web(world).etag == etag
