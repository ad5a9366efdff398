"""Choose a scale set when none was given: subscriptions, then scale sets, type to filter.

The last choice is remembered in the state dir, so the usual target is one Enter away.
Listing runs in workers that only post messages; handlers fill the table.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from vmssdash import paths
from vmssdash.azure.scaleset import list_scale_sets, list_subscriptions
from vmssdash.ui.signin import attach_device_code_prompts

STATE_NAME = "picker.json"


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]

    def matches(self, terms: Sequence[str]) -> bool:
        text = " ".join(self.cells).lower()
        return all(term in text for term in terms)


@dataclass(frozen=True)
class Remembered:
    subscription: str | None = None
    resource_id: str | None = None


def state_file() -> Path:
    return paths.state_dir() / STATE_NAME


def load_remembered(path: Path | None = None) -> Remembered:
    try:
        data = json.loads((path or state_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Remembered()
    if not isinstance(data, dict):
        return Remembered()
    sub, rid = data.get("subscription"), data.get("resource_id")
    return Remembered(
        subscription=sub if isinstance(sub, str) else None,
        resource_id=rid if isinstance(rid, str) else None,
    )


def save_remembered(choice: Remembered, path: Path | None = None) -> None:
    """Atomic write: a crash must not leave a half-written file that hides the last choice."""
    target = path or state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".picker-", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"subscription": choice.subscription, "resource_id": choice.resource_id}, fh)
    os.replace(tmp, target)


def _subscription_of(resource_id: str) -> str | None:
    parts = resource_id.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


def _resource_group_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" in lowered:
        i = lowered.index("resourcegroups")
        if i + 1 < len(parts):
            return parts[i + 1]
    return ""


class PickerScreen(Screen[str | None]):
    """Dismisses with the chosen scale set's resource id, or ``None`` when cancelled."""

    DEFAULT_CSS = """
    PickerScreen { layout: vertical; }
    PickerScreen #picker-title { height: 1; padding: 0 1; text-style: bold; }
    PickerScreen #picker-filter { margin: 0 1; }
    PickerScreen #picker-table { height: 1fr; margin: 0 1; }
    PickerScreen #picker-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / cancel", id="picker.back"),
        Binding("down", "cursor(1)", "Down", show=False, id="picker.down"),
        Binding("up", "cursor(-1)", "Up", show=False, id="picker.up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
    ]

    class SubscriptionsLoaded(Message):
        def __init__(self, rows: list[Row]) -> None:
            super().__init__()
            self.rows = rows

    class ScaleSetsLoaded(Message):
        def __init__(self, subscription: str, rows: list[Row]) -> None:
            super().__init__()
            self.subscription = subscription
            self.rows = rows

    class LoadFailed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(
        self,
        client: Any,
        *,
        subscription: str | None = None,
        remember_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.remember_path = remember_path
        self.remembered = load_remembered(remember_path)
        self.fixed_subscription = subscription
        self.stage = "loading"
        self.subscription: str | None = None
        self.rows: list[Row] = []
        self.single_subscription = False

    def compose(self) -> ComposeResult:
        yield Static("Loading subscriptions…", id="picker-title")
        yield Input(placeholder="type to filter", id="picker-filter")
        yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="picker-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.fixed_subscription:
            self.single_subscription = True
            self._open_subscription(self.fixed_subscription)
        else:
            self._load_subscriptions()

    # ------------------------------------------------------------------ workers

    @work(exclusive=True, group="picker-load", exit_on_error=False)
    async def _load_subscriptions(self) -> None:
        try:
            subs = await list_subscriptions(self.client)
        except Exception as exc:
            self.post_message(self.LoadFailed(f"cannot list subscriptions: {exc}"))
            return
        rows = [
            Row(
                s.subscription_id,
                (s.display_name or s.subscription_id, s.subscription_id, s.state or ""),
            )
            for s in sorted(subs, key=lambda s: (s.display_name or s.subscription_id).lower())
        ]
        self.post_message(self.SubscriptionsLoaded(rows))

    @work(exclusive=True, group="picker-load", exit_on_error=False)
    async def _load_scale_sets(self, subscription: str) -> None:
        try:
            sets = await list_scale_sets(self.client, subscription)
        except Exception as exc:
            self.post_message(self.LoadFailed(f"cannot list scale sets: {exc}"))
            return
        rows = [
            Row(
                s.id,
                (
                    s.name,
                    _resource_group_of(s.id),
                    s.location,
                    str(s.capacity),
                    s.upgrade_mode,
                ),
            )
            for s in sorted(sets, key=lambda s: (_resource_group_of(s.id).lower(), s.name.lower()))
        ]
        self.post_message(self.ScaleSetsLoaded(subscription, rows))

    # ------------------------------------------------------------------ handlers

    @on(SubscriptionsLoaded)
    def _subscriptions_loaded(self, message: SubscriptionsLoaded) -> None:
        if len(message.rows) == 1:
            self.single_subscription = True
            self._open_subscription(message.rows[0].key)
            return
        self.stage = "subscriptions"
        self.rows = message.rows
        self.query_one("#picker-title", Static).update(
            "Choose a subscription (Enter), Esc to cancel"
        )
        self._show(["Subscription", "Id", "State"], self.remembered.subscription)
        if not message.rows:
            self._status("no subscriptions visible to this identity")

    @on(ScaleSetsLoaded)
    def _scale_sets_loaded(self, message: ScaleSetsLoaded) -> None:
        if message.subscription != self.subscription:
            return  # the user went back meanwhile
        self.stage = "scale-sets"
        self.rows = message.rows
        back = "Esc to cancel" if self.single_subscription else "Esc for subscriptions"
        self.query_one("#picker-title", Static).update(
            f"Choose a scale set in {message.subscription} (Enter), {back}"
        )
        self._show(
            ["Scale set", "Resource group", "Location", "Capacity", "Mode"],
            self.remembered.resource_id,
        )
        if not message.rows:
            self._status("no scale sets in this subscription")

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self._status(message.text)

    def _open_subscription(self, subscription: str) -> None:
        self.stage = "loading"
        self.subscription = subscription
        self.query_one("#picker-title", Static).update(f"Loading scale sets in {subscription}…")
        self.query_one(DataTable).clear(columns=True)
        self._load_scale_sets(subscription)

    # ------------------------------------------------------------------ table

    def _show(self, columns: list[str], prefer: str | None) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        filt = self.query_one(Input)
        filt.value = ""
        self._fill(prefer)

    def _fill(self, prefer: str | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        terms = self.query_one(Input).value.lower().split()
        shown = [r for r in self.rows if r.matches(terms)]
        for row in shown:
            table.add_row(*row.cells, key=row.key)
        keys = [r.key.lower() for r in shown]
        if prefer and prefer.lower() in keys:
            table.move_cursor(row=keys.index(prefer.lower()))
        self._status(f"{len(shown)} of {len(self.rows)}" + (" (filtered)" if terms else ""))

    def _status(self, text: str) -> None:
        self.query_one("#picker-status", Static).update(text)

    def highlighted_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        if self.stage in ("subscriptions", "scale-sets"):
            self._fill(self.highlighted_key())

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        self._choose(self.highlighted_key())

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self._choose(str(event.row_key.value) if event.row_key.value is not None else None)

    def _choose(self, key: str | None) -> None:
        if key is None:
            return
        if self.stage == "subscriptions":
            self._open_subscription(key)
        elif self.stage == "scale-sets":
            save_remembered(
                Remembered(subscription=_subscription_of(key), resource_id=key),
                self.remember_path,
            )
            self.dismiss(key)

    def action_back(self) -> None:
        if self.stage in ("scale-sets", "loading") and not self.single_subscription:
            self.workers.cancel_group(self, "picker-load")
            self.subscription = None
            self.stage = "loading"
            self.query_one(DataTable).clear(columns=True)
            self._load_subscriptions()
            return
        self.dismiss(None)


class PickerApp(App[str | None]):
    """Standalone host used by the CLI before the dashboard starts."""

    TITLE = "vmssdash: choose a scale set"

    def __init__(self, make_client: Callable[[], Any], **screen_kwargs: Any) -> None:
        super().__init__()
        self._make_client = make_client
        self._screen_kwargs = screen_kwargs
        self._client: Any = None
        self._detach: Callable[[], None] = lambda: None

    async def on_mount(self) -> None:
        self._client = self._make_client()
        await self._client.__aenter__()
        # Listing may need a sign-in: show a device code here, not on the hidden terminal.
        self._detach = attach_device_code_prompts(
            self, getattr(self._client, "token_provider", None)
        )
        self.push_screen(PickerScreen(self._client, **self._screen_kwargs), callback=self.exit)

    async def on_unmount(self) -> None:
        self._detach()
        if self._client is not None:
            await self._client.__aexit__(None, None, None)


def run_picker(make_client: Callable[[], Any], **screen_kwargs: Any) -> str | None:
    """Block until the user picks a scale set; ``None`` if they cancelled."""
    return PickerApp(make_client, **screen_kwargs).run()
