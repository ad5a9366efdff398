"""The model pane: view and edit the scale set's image and capacity.

Edits are validated as you type, the exact diff is shown, and nothing is sent until a
confirmation; the PATCH carries ``If-Match``, so if someone changed the model meanwhile
(412) the pane reloads, shows what changed underneath and keeps your edit on top of the
fresh model. The model before the last applied change is kept for a revert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from vmssdash.azure.errors import PreconditionFailedError
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.core.changes import ModelPatch
from vmssdash.core.model_edit import (
    Change,
    ImageKind,
    ImageSpec,
    ModelDraft,
    ModelEdit,
)
from vmssdash.ui.messages import ChangeFinished, SubmitRequested

if TYPE_CHECKING:
    from vmssdash.azure.scaleset import ScaleSetApi

KIND_OPTIONS = [
    (k.value, k)
    for k in (
        ImageKind.PLATFORM,
        ImageKind.GALLERY,
        ImageKind.MANAGED_IMAGE,
        ImageKind.SHARED_GALLERY,
        ImageKind.COMMUNITY_GALLERY,
        ImageKind.VHD,
    )
]


@dataclass
class VersionsLoaded(Message):
    versions: list[str]
    error: str = ""


def version_options(versions: list[str], current: str) -> list[tuple[str, str]]:
    """The picker's entries, newest first, the model's current version marked."""

    def label(version: str) -> str:
        return f"{version} ● current" if version.lower() == current.lower() else version

    return [(label(v), v) for v in ["latest", *reversed(versions)]]


class ModelPane(ModalScreen["ScaleSet | None"]):
    """Returns the fresh model after an applied change (None when closed without one)."""

    # Compact one-line fields: at 80x24 every field, the Version included, and what the
    # edit will do fit on screen; both parts scroll on smaller screens.
    DEFAULT_CSS = """
    ModelPane { align: center middle; }
    ModelPane #model-dialog { width: 100; max-width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    ModelPane #model-form { height: auto; max-height: 60%; margin-bottom: 1; }
    ModelPane #model-outcome { height: 1fr; }
    ModelPane #platform-fields { height: auto; }
    ModelPane .model-row { height: auto; }
    ModelPane .model-row Label { width: 14; }
    ModelPane .model-row Input { width: 1fr; }
    ModelPane #version-picker { width: 36; margin-left: 1; }
    ModelPane #model-hint { color: $text-muted; }
    ModelPane #model-problems { color: $error; height: auto; }
    ModelPane #model-conflict { color: $warning; height: auto; }
    ModelPane #model-diff, ModelPane #model-current, ModelPane #model-notes { height: auto; }
    ModelPane #model-buttons { height: auto; align-horizontal: right; }
    ModelPane #model-buttons Button { margin-left: 2; }
    ModelPane .-hidden { display: none; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="model.close"),
        Binding("ctrl+s", "apply", "Apply", id="model.apply"),
    ]

    def __init__(
        self,
        api: ScaleSetApi,
        scale_set: ScaleSet,
        *,
        previous: ScaleSet | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.api = api
        self.edit = ModelEdit.start(scale_set, previous=previous)
        self.read_only = read_only
        self.known_versions: list[str] = []
        self.applied: ScaleSet | None = None
        self.underneath: list[Change] = []
        self._filling = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        base = self.edit.base
        image = self.edit.draft.image
        with Vertical(id="model-dialog"):
            yield Label(f"Model of {base.name}", id="model-title")
            yield Static("", id="model-current", markup=False)
            yield Static(
                "tab / shift+tab: next / previous field · the picker lists the versions "
                "(current one marked) · ctrl+s: apply · esc: close",
                id="model-hint",
                markup=False,
            )
            with VerticalScroll(id="model-form"):
                with Horizontal(classes="model-row"):
                    yield Label("Image form")
                    yield Select(
                        KIND_OPTIONS,
                        value=image.kind
                        if image.kind is not ImageKind.NONE
                        else ImageKind.PLATFORM,
                        allow_blank=False,
                        id="image-kind",
                        compact=True,
                    )
                with Vertical(id="platform-fields"):
                    for field_id, label in (
                        ("publisher", "Publisher"),
                        ("offer", "Offer"),
                        ("sku", "SKU"),
                    ):
                        with Horizontal(classes="model-row"):
                            yield Label(label)
                            yield Input(getattr(image, field_id), id=field_id, compact=True)
                    with Horizontal(classes="model-row"):
                        yield Label("Version")
                        yield Input(
                            image.version,
                            id="version",
                            placeholder="latest or 1.2.3",
                            compact=True,
                        )
                        yield Select(
                            version_options([], image.version),
                            prompt="pick a version",
                            id="version-picker",
                            compact=True,
                        )
                with Horizontal(classes="model-row", id="id-row"):
                    yield Label("Image id")
                    yield Input(image.id, id="image-id", compact=True)
                with Horizontal(classes="model-row", id="uri-row"):
                    yield Label("VHD URI")
                    yield Input(
                        image.uri, id="vhd-uri", placeholder="https://…/x.vhd", compact=True
                    )
                with Horizontal(classes="model-row"):
                    yield Label("Capacity")
                    yield Input(
                        str(self.edit.draft.capacity), id="capacity", type="integer", compact=True
                    )
            # What the edit does (problems, the diff, warnings such as a downgrade) stays
            # in view under the fields, never below the fold.
            with VerticalScroll(id="model-outcome"):
                yield Static("", id="model-problems", markup=False)
                yield Static("", id="model-conflict", markup=False)
                yield Static("", id="model-diff", markup=False)
                yield Static("", id="model-notes", markup=False)
            with Horizontal(id="model-buttons"):
                yield Button("Close", id="model-close", variant="primary", compact=True)
                yield Button("Revert to previous", id="model-revert", compact=True)
                yield Button("Apply…", id="model-apply", variant="error", compact=True)

    def on_mount(self) -> None:
        self._show_kind()
        self._refresh()
        self.query_one("#model-close", Button).focus()
        if self.edit.draft.image.kind is ImageKind.PLATFORM:
            self._load_versions()

    # ------------------------------------------------------------------ versions

    @work(exclusive=True, group="model-versions", exit_on_error=False)
    async def _load_versions(self) -> None:
        image = self.edit.draft.image
        try:
            versions = await self.api.list_image_versions(
                self.edit.base.location, image.publisher, image.offer, image.sku
            )
        except Exception as exc:
            self.post_message(VersionsLoaded([], str(exc)))
        else:
            self.post_message(VersionsLoaded(list(versions)))

    @on(VersionsLoaded)
    def _versions(self, message: VersionsLoaded) -> None:
        self.known_versions = message.versions
        current = ImageSpec.from_scale_set(self.edit.base).version
        picker = self.query_one("#version-picker", Select)
        picker.set_options(version_options(message.versions, current))
        if message.error:
            self.notify(f"could not list image versions: {message.error}", severity="warning")
        self._refresh()

    @on(Select.Changed, "#version-picker")
    def _picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.query_one("#version", Input).value = event.value

    # ------------------------------------------------------------------ form → draft

    @property
    def kind(self) -> ImageKind:
        value = self.query_one("#image-kind", Select).value
        return value if isinstance(value, ImageKind) else ImageKind.PLATFORM

    def draft_from_form(self) -> tuple[ModelDraft | None, str]:
        def val(selector: str) -> str:
            return self.query_one(selector, Input).value.strip()

        kind = self.kind
        if kind is ImageKind.PLATFORM:
            image = ImageSpec.platform(
                val("#publisher"), val("#offer"), val("#sku"), val("#version")
            )
        elif kind is ImageKind.VHD:
            image = ImageSpec.vhd(val("#vhd-uri"))
        else:
            image = ImageSpec(kind, id=val("#image-id"))
        text = val("#capacity")
        try:
            capacity = int(text)
        except ValueError:
            return None, f"capacity: {text!r} is not a whole number"
        return ModelDraft(image=image, capacity=capacity), ""

    def fill_form(self, draft: ModelDraft) -> None:
        self._filling = True
        try:
            image = draft.image
            if image.kind is not ImageKind.NONE:
                self.query_one("#image-kind", Select).value = image.kind
            for field_id in ("publisher", "offer", "sku", "version"):
                self.query_one(f"#{field_id}", Input).value = getattr(image, field_id)
            self.query_one("#image-id", Input).value = image.id
            self.query_one("#vhd-uri", Input).value = image.uri
            self.query_one("#capacity", Input).value = str(draft.capacity)
        finally:
            self._filling = False
        self.edit.draft = draft
        self._show_kind()
        self._refresh()

    def _show_kind(self) -> None:
        kind = self.kind
        self.query_one("#platform-fields").set_class(kind is not ImageKind.PLATFORM, "-hidden")
        self.query_one("#id-row").set_class(kind in (ImageKind.PLATFORM, ImageKind.VHD), "-hidden")
        self.query_one("#uri-row").set_class(kind is not ImageKind.VHD, "-hidden")

    @on(Select.Changed, "#image-kind")
    def _kind_changed(self) -> None:
        self._show_kind()
        self._changed()

    @on(Input.Changed)
    def _changed(self) -> None:
        if self._filling:
            return
        draft, error = self.draft_from_form()
        if draft is not None:
            self.edit.draft = draft
        self._refresh(error)

    def problems(self) -> list[str]:
        draft, error = self.draft_from_form()
        if draft is None:
            return [error]
        return [str(p) for p in self.edit.problems(known_versions=self.known_versions)]

    def _refresh(self, form_error: str = "") -> None:
        base = self.edit.base
        current = ImageSpec.from_scale_set(base)
        self.query_one("#model-current", Static).update(
            f"Now: {current.kind.value} {current.describe()}\n"
            f"Capacity {base.capacity} · upgrade mode {base.upgrade_mode} · etag {base.etag or '-'}"
            + (
                f"\nPrevious model kept for revert: {ImageSpec.from_scale_set(self.edit.previous).describe()}, capacity {self.edit.previous.capacity}"
                if self.edit.previous
                else ""
            )
        )
        problems = [form_error] if form_error else self.problems()
        self._say("#model-problems", "\n".join(problems))
        changes = self.edit.changes() if not form_error else []
        diff = "Changes:\n" + "\n".join(f"  {c}" for c in changes) if changes else "No changes."
        self.query_one("#model-diff", Static).update(diff)
        self._say("#model-notes", "\n".join(self.edit.warnings()) if changes else "")
        self._say(
            "#model-conflict",
            "The model changed underneath you (412, reloaded):\n"
            + "\n".join(f"  {c}" for c in self.underneath)
            + "\nYour edit is kept on top of the new model; review and apply again."
            if self.underneath
            else "",
        )
        apply = self.query_one("#model-apply", Button)
        apply.disabled = self.read_only or bool(problems) or not changes
        self.query_one("#model-revert", Button).disabled = (
            self.read_only or self.edit.previous is None
        )

    def _say(self, selector: str, text: str) -> None:
        """Show ``text`` in one of the outcome lines; an empty one takes no room."""
        static = self.query_one(selector, Static)
        static.update(text)
        static.display = bool(text)

    # ------------------------------------------------------------------ actions

    @on(Button.Pressed, "#model-close")
    def action_close(self) -> None:
        self.dismiss(self.applied)

    @on(Button.Pressed, "#model-revert")
    def _revert(self) -> None:
        back = self.edit.revert()
        if back is None:
            self.notify("no previous model to revert to", severity="warning")
            return
        self.fill_form(back.draft)
        self.notify("form set to the previous model: review the diff, then Apply")

    @on(Button.Pressed, "#model-apply")
    def action_apply(self) -> None:
        if self.read_only:
            self.notify("read-only mode: no changes", severity="warning")
            return
        problems = self.problems()
        changes = self.edit.changes()
        if problems or not changes:
            self.notify("; ".join(problems) or "nothing to apply", severity="warning")
            return
        change = ModelPatch(
            self.edit.base,
            self.edit.patch(),
            tuple(str(c) for c in changes),
            tuple(self.edit.warnings()),
            downgrade=self.edit.downgrade() is not None,
        )
        # The App confirms and sends it like every other change, and calls back here.
        self.post_message(SubmitRequested(change, on_done=self._done))

    def _done(self, message: ChangeFinished) -> None:
        """The PATCH ended: take the fresh model, or rebase the edit after a 412."""
        if not self.is_attached:
            return
        error, outcome = message.error, message.outcome
        if outcome is not None and outcome.scale_set is not None:
            fresh = outcome.scale_set
            self.edit = ModelEdit.start(fresh, previous=self.edit.base)
            self.applied = fresh
            self.underneath = []
            self.fill_form(self.edit.draft)
            self.notify("model updated; VMs now show as stale until upgraded")
        elif isinstance(error, PreconditionFailedError) and error.theirs is not None:
            self.edit, self.underneath = self.edit.rebased(error.theirs)
            self.fill_form(self.edit.draft)
            self.notify(str(error), severity="warning", timeout=10)
