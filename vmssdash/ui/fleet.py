"""The fleet screen: every scale set the identity can see; Enter opens one's heatmap.

It is the start screen when no target is given. Loading runs in a worker that posts one
message; handlers own the rows, the sort and the filter and refill the table from them.
In a terminal, choosing a set ends this app with its id and the CLI opens the dashboard;
in a browser (``vmssdash serve``) the page is sent to the dashboard's address instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from vmssdash.core.fleet import (
    COLUMNS,
    SORT_KEYS,
    Fleet,
    FleetRow,
    cells,
    filter_rows,
    load_fleet,
    sort_rows,
)
from vmssdash.ui.picker import Remembered, load_remembered, save_remembered
from vmssdash.ui.signin import attach_device_code_prompts

SOURCE_WORDS = {"resource-graph": "Resource Graph", "arm": "ARM lists"}


class FleetFilter(Input):
    """The filter line: escape clears it and hands the keys back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close filter", id="fleet.filter-close")
    ]

    def action_close(self) -> None:
        self.value = ""
        self.post_message(self.Submitted(self, ""))


class FleetScreen(Screen[str | None]):
    """Dismisses with the chosen scale set's resource id, or ``None`` when left."""

    DEFAULT_CSS = """
    FleetScreen { layout: vertical; }
    FleetScreen #fleet-title { height: 1; padding: 0 1; text-style: bold; }
    FleetScreen #fleet-filter { margin: 0 1; }
    FleetScreen #fleet-table { height: 1fr; margin: 0 1; }
    FleetScreen #fleet-status { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="fleet.filter"),
        Binding("o", "sort_next", "Sort by next column", id="fleet.sort"),
        Binding("O", "sort_reverse", "Reverse sort", id="fleet.reverse"),
        Binding("ctrl+r", "reload", "Reload", id="fleet.reload"),
        Binding("escape,q", "leave", "Quit", id="fleet.quit"),
    ]

    class Loaded(Message):
        def __init__(self, fleet: Fleet) -> None:
            super().__init__()
            self.fleet = fleet

    class LoadFailed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(
        self,
        client: Any,
        *,
        subscriptions: Sequence[str] = (),
        journal_dir: Path | None = None,
        remember_path: Path | None = None,
        page_size: int = 1000,
    ) -> None:
        super().__init__()
        self.client = client
        self.subscriptions = tuple(subscriptions)
        self.journal_dir = journal_dir
        self.remember_path = remember_path
        self.page_size = page_size
        self.remembered = load_remembered(remember_path)
        self.fleet: Fleet | None = None
        self.sort_key = "name"
        self.descending = False
        self.shown: list[FleetRow] = []

    def compose(self) -> ComposeResult:
        yield Static("Loading the fleet…", id="fleet-title")
        yield FleetFilter(
            placeholder="filter: text, is:stale is:unhealthy is:busy is:flexible (esc clears)",
            id="fleet-filter",
        )
        yield DataTable(id="fleet-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fleet-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(title for title, _ in COLUMNS))
        table.focus()
        self._load()

    # ------------------------------------------------------------------ loading

    @work(exclusive=True, group="fleet-load", exit_on_error=False)
    async def _load(self) -> None:
        try:
            fleet = await load_fleet(
                self.client,
                subscriptions=self.subscriptions,
                journal_dir=self.journal_dir,
                page_size=self.page_size,
            )
        except Exception as exc:  # every failure is shown on the screen, never a traceback
            self.post_message(self.LoadFailed(f"cannot list the fleet: {exc}"))
            return
        self.post_message(self.Loaded(fleet))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.fleet = message.fleet
        self._fill(self.highlighted_key() or self.remembered.resource_id)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        self.query_one("#fleet-title", Static).update("The fleet could not be listed")
        self.query_one("#fleet-status", Static).update(message.text)

    # ------------------------------------------------------------------ table

    def _fill(self, prefer: str | None = None) -> None:
        if self.fleet is None:
            return
        text = self.query_one(FleetFilter).value
        rows = filter_rows(self.fleet.rows, text)
        self.shown = sort_rows(rows, self.sort_key, descending=self.descending)
        table = self.query_one(DataTable)
        table.clear()
        for row in self.shown:
            table.add_row(*cells(row), key=row.id)
        keys = [r.id.lower() for r in self.shown]
        if prefer and prefer.lower() in keys:
            table.move_cursor(row=keys.index(prefer.lower()))
        arrow = "▼" if self.descending else "▲"
        self.query_one("#fleet-title", Static).update(
            f"Fleet: {len(self.shown)} of {len(self.fleet.rows)} scale sets"
            + (" (filtered)" if text.strip() else "")
            + f", sorted by {self.sort_key} {arrow}. Enter opens the heatmap"
        )
        fleet = self.fleet
        status = [
            f"from {SOURCE_WORDS.get(fleet.source, fleet.source)}"
            + (f" ({fleet.queries} queries)" if fleet.queries else "")
            + f"; stale/unhealthy: {fleet.counts_from}",
            *(f"note: {note}" for note in fleet.notes),
        ]
        self.query_one("#fleet-status", Static).update("\n".join(status))

    def highlighted_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self) -> None:
        self._fill(self.highlighted_key())

    @on(Input.Submitted, "#fleet-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = COLUMNS[event.column_index][1]
        if key:
            self._sort(key, not self.descending if key == self.sort_key else False)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self._choose(str(event.row_key.value))

    # ------------------------------------------------------------------ actions

    def _sort(self, key: str, descending: bool) -> None:
        self.sort_key, self.descending = key, descending
        self._fill(self.highlighted_key())

    def action_sort_next(self) -> None:
        keys = list(SORT_KEYS)
        self._sort(keys[(keys.index(self.sort_key) + 1) % len(keys)], False)

    def action_sort_reverse(self) -> None:
        self._sort(self.sort_key, not self.descending)

    def action_filter(self) -> None:
        self.query_one(FleetFilter).focus()

    def action_reload(self) -> None:
        self.query_one("#fleet-title", Static).update("Reloading the fleet…")
        self._load()

    def action_leave(self) -> None:
        self.dismiss(None)

    def _choose(self, resource_id: str) -> None:
        row = next((r for r in self.shown if r.id == resource_id), None)
        save_remembered(
            Remembered(subscription=row.subscription_id if row else None, resource_id=resource_id),
            self.remember_path,
        )
        self.dismiss(resource_id)


class FleetApp(App[str | None]):
    """The start screen's host: ends with the chosen id (a terminal), or sends a browser
    to the dashboard's page for it (``vmssdash serve``)."""

    TITLE = "vmssdash: fleet"

    def __init__(self, make_client: Callable[[], Any], **screen_kwargs: Any) -> None:
        super().__init__()
        self._make_client = make_client
        self._screen_kwargs = screen_kwargs
        self._client: Any = None
        self._detach: Callable[[], None] = lambda: None

    def compose(self) -> ComposeResult:
        yield Static("", id="fleet-opening")

    async def on_mount(self) -> None:
        self._client = self._make_client()
        await self._client.__aenter__()
        # Listing may need a sign-in: show a device code here, not on the hidden terminal.
        self._detach = attach_device_code_prompts(self, self._client.token_provider)
        self.push_screen(FleetScreen(self._client, **self._screen_kwargs), callback=self._chosen)

    def _chosen(self, resource_id: str | None) -> None:
        if resource_id is not None and self.is_web:
            # The served page reopens on the dashboard; this session ends when it leaves.
            self.query_one("#fleet-opening", Static).update(f"opening {resource_id} …")
            self.open_url(f"?target={quote(resource_id, safe='')}", new_tab=False)
            return
        self.exit(resource_id)

    async def on_unmount(self) -> None:
        self._detach()
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
