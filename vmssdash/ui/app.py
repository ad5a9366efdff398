"""The vmssdash Textual app: heatmap, header, details, activity log, live refresh.

Data flows one way: a poll worker asks the scale set's ``Observer`` (the only reader,
shared with upgrade runs) for a round of reads and posts the snapshot as a message; the
message handler hands it to the widgets. Key presses become actions; every action that
changes Azure builds a ``core.changes`` value and goes through ``submit`` (in
``WritePath``, this class's base): confirmation, worker, messages, outcome.
"""

from __future__ import annotations

import asyncio
import gc
import re
import signal
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from vmssdash.azure.events import ClientEvent
from vmssdash.core.observer import Observer
from vmssdash.core.reading import VmReader
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmInfo, VmState
from vmssdash.core.transitions import describe_transitions
from vmssdash.ui import records
from vmssdash.ui.activity import ActivityLog
from vmssdash.ui.change_keys import CHANGE_BINDINGS, ChangeKeys
from vmssdash.ui.commands import binding_commands
from vmssdash.ui.details_pane import DetailsPane
from vmssdash.ui.filtering import parse_filter
from vmssdash.ui.footer import DashFooter
from vmssdash.ui.heatmap import Heatmap
from vmssdash.ui.heatmap_cells import Rows, prepare_rows, state_class
from vmssdash.ui.heatmap_news import CursorMoved, SelectionChanged
from vmssdash.ui.messages import ClientEventReceived, SnapshotFailed, SnapshotReceived
from vmssdash.ui.panes import HeaderInfo, Legend, StatusHeader
from vmssdash.ui.run_pane import RunPane
from vmssdash.ui.screens.help import HelpScreen
from vmssdash.ui.theme import THEMES

if TYPE_CHECKING:
    from vmssdash.azure.scaleset import ScaleSetApi
    from vmssdash.config import Settings


def _wall_timestamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


class FilterInput(Input):
    """The `/` line: escape clears and closes it, enter keeps the filter."""

    BINDINGS = [Binding("escape", "close", "Close filter", id="filter.close")]

    #: The filter last kept with enter: in effect whenever the text typed does not parse.
    committed = ""

    def action_close(self) -> None:
        self.value = ""
        self.post_message(self.Submitted(self, ""))


class VmssDashApp(ChangeKeys):
    CSS_PATH = "app.tcss"
    TITLE = "vmssdash"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    # The footer holds about a dozen keys at 130 columns: the rest stay in help (?) and
    # the command palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "cycle_grouping", "Group by", show=False, id="app.grouping"),
        Binding("slash", "filter", "Filter", id="app.filter"),
        *CHANGE_BINDINGS,
        Binding("p", "toggle_pause", "Pause refresh", show=False, id="app.pause"),
        Binding("ctrl+r", "refresh_now", "Refresh", show=False, id="app.refresh"),
        Binding("E", "export_report", "Export run report", show=False, id="app.report"),
        Binding("L", "save_log", "Save activity log", show=False, id="app.save-log"),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q", "leave", "Quit", id="app.quit"),
    ]
    DASHBOARD_ACTIONS: ClassVar[set[str]] = {
        *ChangeKeys.DASHBOARD_ACTIONS,
        *(b.action for b in BINDINGS if isinstance(b, Binding)),
    }

    def __init__(
        self,
        api: ScaleSetApi,
        *,
        read_only: bool = False,
        settings: Settings | None = None,
        identity: str = "",
        endpoint: str = "",
        journal_dir: Path | None = None,
        lock_dir: Path | None = None,
        reader: VmReader | None = None,
        run_poll_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        timestamp: Callable[[], str] = _wall_timestamp,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.api = api
        self.settings = settings
        self.read_only = read_only or (settings is not None and settings.read_only)
        self.identity = identity
        # Exported run reports and saved activity logs (``E``, ``L``).
        self.records_dir = records.records_dir()
        self.clock = clock
        self.timestamp = timestamp
        self.live = live
        interval = settings.refresh_interval if settings is not None else 2.0
        self.observer = Observer(
            api, counts_every=max(2.0, interval), counts_every_quiet=max(4.0, interval)
        )
        self.observer.subscribe(self._observed)
        self.observer.on_decision(self._read_decided)
        # Runs gate on the same observer the dashboard reads through.
        self.setup_writes(
            journal_dir=journal_dir or (settings.journal_dir if settings else None),
            lock_dir=lock_dir,
            reader=reader or self.observer,
            run_poll_interval=run_poll_interval,
            identity=identity,
            endpoint=endpoint,
        )
        self.snapshot: ScaleSetSnapshot | None = None
        self.last_error: str | None = None
        self.first_paint_at: float | None = None
        self._gc_frozen = False
        self._signals: list[signal.Signals] = []
        self._generation = 0
        self._polling = False
        self._poll_timer: Timer | None = None
        self._header_key: tuple[object, ...] | None = None
        self._lro_status: dict[str, str] = {}
        for theme in THEMES:
            self.register_theme(theme)
        if settings is not None:
            if settings.theme in self.available_themes:
                self.theme = settings.theme
            if settings.keymap:
                self.set_keymap(dict(settings.keymap))
        # Textual ignores unknown ids silently; a typo in the config deserves one line.
        keymap = settings.keymap if settings is not None else {}
        self._unknown_keymap_ids = sorted(set(keymap) - self._binding_ids())

    # ------------------------------------------------------------------ layout

    # The main screen's widgets, kept from compose: every refresh touches them, and a DOM
    # query per access was a measurable part of a refresh's time on the event loop.
    _status: StatusHeader
    _heatmap: Heatmap
    _legend: Legend
    _details: DetailsPane
    _activity: ActivityLog
    _filter: FilterInput
    _run_pane: RunPane

    @property
    def heatmap(self) -> Heatmap:
        return self._heatmap

    @property
    def activity(self) -> ActivityLog:
        return self._activity

    def get_default_screen(self) -> Screen[Any]:
        """The main screen, by id: its grid must not style the modal screens."""
        return Screen(id="dashboard")

    def compose(self) -> ComposeResult:
        self._status = StatusHeader(id="status")
        self._heatmap = Heatmap(id="heatmap")
        self._legend = Legend(id="legend")
        self._details = DetailsPane(id="details")
        self._activity = ActivityLog(id="activity", max_lines=2000)
        self._filter = FilterInput(
            id="filter", placeholder="filter: state:stale ud:0 fd:1 zone:2 id:17 (esc clears)"
        )
        # A flat grid, not nested containers: every container a heatmap line passes
        # through is one more strip to render and cut on each repaint of that line.
        yield self._status
        yield self._heatmap
        self._run_pane = RunPane()
        with VerticalScroll(id="side"):
            yield self._details
            if not self.read_only:
                yield self._run_pane
        yield self._legend
        yield self._activity
        yield self._filter
        yield DashFooter()

    def on_mount(self) -> None:
        self.heatmap.focus()
        self.heatmap.border_title = "update domains"
        self.activity.border_title = "activity"
        self.query_one("#side").border_title = "details"
        self._attach_event_sink()
        self.log_activity(
            f"watching {self._target_name()}" + (" (read-only)" if self.read_only else "")
        )
        if self._unknown_keymap_ids:
            self.log_activity(
                "warning: keymap names unknown binding ids, ignored: "
                + ", ".join(self._unknown_keymap_ids)
            )
        if self.settings is not None:
            self.watch(self, "theme", self._save_theme, init=False)
        self._update_header()
        self.set_interval(1.0, self._update_header)
        self._start_poll()
        if not self.is_headless:
            self._install_signal_handlers()

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT end the app cleanly with the shell's 128+N code (cli.py returns
        ``app.return_code``), instead of a 0 exit or a traceback."""
        loop = asyncio.get_running_loop()
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            try:
                loop.add_signal_handler(sig, self._signalled, code)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signals on this platform
            self._signals.append(sig)

    def _signalled(self, code: int) -> None:
        self.exit(return_code=code)

    async def on_unmount(self) -> None:
        """Close the ARM client inside the loop that used it (the CLI cannot)."""
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        self._signals.clear()
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False
        try:
            await self.api.client.aclose()
        except Exception as exc:  # closing must never turn an exit into a crash
            self.log.warning(f"closing the ARM client failed: {exc}")

    def _target_name(self) -> str:
        return self.api.name

    # ------------------------------------------------------------------ client events

    def event_sink(self, event: ClientEvent) -> None:
        """An ``EventSink`` for the ARM client; safe to call from any thread."""
        self.post_message(ClientEventReceived(event))

    def _attach_event_sink(self) -> None:
        """Chain our sink onto the client's, so events reach the activity log."""
        client = self.api.client
        previous = client.events

        def sink(event: ClientEvent) -> None:
            previous(event)
            self.event_sink(event)

        client.events = sink

    @on(ClientEventReceived)
    def _client_event(self, message: ClientEventReceived) -> None:
        """Log changes, retries, throttling, errors; an operation only when its status moves."""
        event = message.event
        if event.kind == "request" and (event.method or "GET").upper() == "GET":
            return
        if event.kind == "lro":
            key = event.url or ""
            if self._lro_status.get(key) == event.message:
                return
            self._lro_status[key] = event.message
        text = f"{event.kind}: {_short_paths(event.message)}"
        if event.wait:
            text += f" (waiting {event.wait:.1f} s)"
        if event.request_id and event.kind in ("error", "retry", "throttle"):
            text += f" [request {event.request_id}]"
        self.log_activity(text)

    def log_activity(self, *texts: str) -> None:
        """Timestamped lines; pass several at once (each write costs the Log a re-layout)."""
        if texts and not self._tearing_down:
            stamp = self.timestamp()
            self.activity.write_lines([f"{stamp} {text}" for text in texts])

    # ------------------------------------------------------------------ polling

    def _start_poll(self, force: bool = True) -> None:
        """One round of the observer now: ``force`` re-reads everything (start, ctrl+r,
        after a change was sent); otherwise only what is due."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._polling:
            return
        self._polling = True
        self._generation += 1
        self._poll_worker(self._generation, force)

    def _read_decided(self, line: str) -> None:
        """The planner's decisions go where the user looks for news: the activity log."""
        self.post_message(ClientEventReceived(ClientEvent("reads", line)))

    def _observed(self, snapshot: ScaleSetSnapshot, changed: frozenset[str]) -> None:
        """The observer has news the app did not ask for (an upgrade run's reads)."""
        if not self._polling and not self._tearing_down:
            self._start_poll(force=False)

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def _poll_worker(self, generation: int, force: bool) -> None:
        previous = self.snapshot
        try:
            outcome = await self.observer.step(force=force)
            snapshot = self.observer.latest
            if outcome.error is not None or snapshot is None:
                waiting = self.observer.freshness().waiting_for
                error = outcome.error or f"waiting for read budget: {waiting:.0f} s"
                self.post_message(SnapshotFailed(error, generation))
                return
            if snapshot is previous:
                self.post_message(SnapshotReceived(snapshot, frozenset(), generation))
                return
            changed = snapshot.changed_since(previous)
            rows, transitions = await asyncio.to_thread(_prepare_view, previous, snapshot, changed)
        except Exception as exc:
            self.post_message(SnapshotFailed(str(exc) or type(exc).__name__, generation))
        else:
            self.post_message(SnapshotReceived(snapshot, changed, generation, rows, transitions))

    def _arm_timer(self) -> None:
        if not self.live or self.observer.paused:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(
            self.observer.next_delay(), lambda: self._start_poll(force=False)
        )

    async def refresh_snapshot(self) -> ScaleSetSnapshot:
        """Refresh now and wait for the result to be applied (tests, scripts)."""
        target = self._generation + (0 if self._polling else 1)
        self._start_poll()
        while self._polling or self._generation < target:
            await self._wait_a_tick()
        if self.snapshot is None:
            raise RuntimeError(self.last_error or "no snapshot")
        return self.snapshot

    async def _wait_a_tick(self) -> None:
        await asyncio.sleep(0.01)

    @property
    def _tearing_down(self) -> bool:
        """Messages can still arrive while the app exits and its widgets are gone."""
        if self._exit or self._closing or self._closed or not self.screen_stack:
            return True
        heatmap: Heatmap | None = getattr(self, "_heatmap", None)
        return heatmap is None or not heatmap.is_attached

    @on(SnapshotReceived)
    def _snapshot_received(self, message: SnapshotReceived) -> None:
        self._polling = False
        if self._tearing_down:
            return
        if message.generation < self._generation:
            self._arm_timer()
            return
        if message.snapshot is self.snapshot and not self.heatmap.changed:
            self.last_error = None
            self._update_header()
            self._arm_timer()
            return
        previous = self.snapshot
        self.snapshot = message.snapshot
        self.last_error = None
        if previous is None and message.snapshot.flexible:
            self.set_grouping(message.snapshot.default_grouping)  # no UDs in a Flexible set
        transitions = message.transitions
        if transitions is None:
            transitions = describe_transitions(previous, message.snapshot, message.changed)
        self.log_activity(*transitions)
        self.heatmap.update_snapshot(message.snapshot, message.changed, message.rows)
        self._legend.show(message.snapshot.counts())
        self._show_details(self.heatmap.cursor_vm)
        self._update_header()
        self.offer_resume(message.snapshot)
        if self.first_paint_at is None:
            self.call_after_refresh(self._mark_first_paint)
        self._arm_timer()

    def _mark_first_paint(self) -> None:
        self.first_paint_at = time.perf_counter()
        # Everything alive now (imports, widgets, the first snapshot) lives as long as the
        # app; freezing it keeps the cyclic GC's full collections from walking it again,
        # which otherwise stall the loop ~60 ms every other refresh of a 1,000-VM set.
        # Acyclic garbage among it is still freed by refcount; unfrozen on unmount.
        if not self._gc_frozen:
            gc.freeze()
            self._gc_frozen = True

    @on(SnapshotFailed)
    def _snapshot_failed(self, message: SnapshotFailed) -> None:
        self._polling = False
        if self._tearing_down:
            return
        if self.last_error != message.error:
            self.log_activity(f"refresh failed: {message.error}")
        self.last_error = message.error
        self._update_header()
        self._arm_timer()

    def _update_header(self) -> None:
        if self._tearing_down:
            return
        info = HeaderInfo(
            snapshot=self.snapshot,
            freshness=self.observer.freshness(),
            summary=dict(self.observer.summary),
            paused=self.observer.paused,
            read_only=self.read_only,
            identity=self.identity,
            error=self.last_error,
            marked=len(self.heatmap.marked),
            grouping=self.heatmap.grouping,
            filter_text=self.heatmap.filter_text,
            filter_matches=self.heatmap.match_count(),
            busy=self.busy(),
        )
        fresh = info.freshness
        self._show_old_cells()
        key = (
            id(info.snapshot),
            None
            if fresh is None
            else (
                None if fresh.counts_age is None else int(fresh.counts_age),
                None if fresh.cells_age is None else int(fresh.cells_age),
                fresh.cells_age is not None and fresh.cells_age > fresh.cells_target,
                fresh.budget_label,
                round(fresh.budget_used, 2),
                int(fresh.waiting_for),
            ),
            tuple(sorted(info.summary.items())),
            info.paused,
            info.error,
            info.marked,
            info.grouping,
            info.filter_text,
            info.filter_matches,
            tuple(info.busy),
        )
        if key != self._header_key:
            self._header_key = key
            self._status.show(info)

    def _show_old_cells(self) -> None:
        """Cells read longer ago than the target the planner aims for look it, judged
        with the header's ages: every second and after every read."""
        old = self.observer.old_cells()
        self.heatmap.set_old(old)
        self._legend.show_old(len(old), self.observer.cells_target())

    # ------------------------------------------------------------------ widgets' news

    @on(CursorMoved)
    def _cursor_moved(self, message: CursorMoved) -> None:
        if not self._tearing_down:
            self._show_details(message.vm)

    def _show_details(self, vm: VmInfo | None) -> None:
        image = self.snapshot.image if self.snapshot else ""
        self._details.show(vm, image)

    @on(SelectionChanged)
    def _selection_changed(self, message: SelectionChanged) -> None:
        self._update_header()

    # ------------------------------------------------------------------ actions

    def action_cycle_grouping(self) -> None:
        heatmap = self.heatmap
        flexible = self.snapshot is not None and self.snapshot.flexible
        heatmap.set_grouping(heatmap.grouping.next(flexible=flexible))
        heatmap.border_title = f"{heatmap.grouping.value}s"
        self._update_header()

    def set_grouping(self, grouping: Grouping) -> None:
        self.heatmap.set_grouping(grouping)
        self.heatmap.border_title = f"{grouping.value}s"
        self._update_header()

    def action_toggle_pause(self) -> None:
        if self.observer.paused:
            self.observer.resume()
            self.log_activity("refresh resumed")
            self._start_poll()
        else:
            self.observer.pause()
            if self._poll_timer is not None:
                self._poll_timer.stop()
                self._poll_timer = None
            self.log_activity("refresh paused")
        self._update_header()

    def action_refresh_now(self) -> None:
        self._start_poll()

    def action_filter(self) -> None:
        box = self._filter
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Typing previews the filter; text that does not parse shows the kept one."""
        if not self.apply_filter(event.value):
            kept = self._filter.committed
            self.heatmap.set_filter(parse_filter(kept), kept)
            self._update_header()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self._filter
        if not self.apply_filter(event.value):
            # Refused: the line stays open with the reason; the filter in effect (the
            # one the header names) is unchanged.
            self.notify(f"filter not applied: {box.border_title}", severity="warning")
            box.focus()
            return
        box.committed = self.heatmap.filter_text
        box.remove_class("-shown")  # the header keeps showing an active filter
        self.heatmap.focus()

    def apply_filter(self, text: str) -> bool:
        """Blank out the cells that do not match; False (and the old filter kept) when
        invalid."""
        box = self._filter
        try:
            matcher = parse_filter(text)
        except ValueError as exc:
            box.border_title = str(exc)
            box.add_class("-invalid")
            return False
        box.border_title = None
        box.remove_class("-invalid")
        self.heatmap.set_filter(matcher, text.strip())
        self._update_header()
        return True

    def action_help(self) -> None:
        """Keys as currently mapped (focused chain), the glyph legend, the filter syntax."""
        seen: dict[str, list[str]] = {}
        for key, active in self.active_bindings.items():
            binding = active.binding
            if not binding.description or not active.enabled:
                continue
            seen.setdefault(binding.description, []).append(self.get_key_display(binding) or key)
        keys = [(", ".join(dict.fromkeys(k)), what) for what, k in seen.items()]
        heatmap = self.heatmap
        styles = {
            s: heatmap.get_component_rich_style(state_class(s), partial=True) for s in VmState
        }
        where = (
            f"Run journals: {self.journal_dir}  (E exports this set's last run as a "
            f"markdown change record, L saves this log; both to {self.records_dir})"
        )
        self.push_screen(HelpScreen(keys, styles, where))

    async def action_export_report(self) -> None:
        """The change record of this set's newest run (the current one while it runs)."""
        await self._keep(
            "report",
            partial(records.export_report, self.journal_dir, self.api.path, self.records_dir),
        )

    async def action_save_log(self) -> None:
        lines = list(self.activity.lines)
        await self._keep(
            "activity log", partial(records.save_lines, lines, "activity", self.records_dir)
        )

    async def _keep(self, what: str, write: Callable[[], Path]) -> None:
        """Write a record off the event loop; say where it went (or why it did not)."""
        try:
            path = await asyncio.to_thread(write)
        except (LookupError, OSError, ValueError) as exc:  # no run yet; a full disk
            self.log_activity(f"{what} not saved: {exc}")
            self.notify(str(exc), title=f"{what.capitalize()} not saved", severity="warning")
            return
        self.log_activity(f"{what} saved to {path}")
        self.notify(str(path), title=f"{what.capitalize()} saved")

    async def action_leave(self) -> None:
        await self.action_quit()

    def _binding_ids(self) -> set[str]:
        from vmssdash.ui.heatmap import Heatmap

        ids = {b.id for _key, b in self._bindings if b.id}
        ids |= {b.id for b in Heatmap.BINDINGS if isinstance(b, Binding) and b.id}
        return ids

    def _save_theme(self, theme: str) -> None:
        """A theme picked in the palette is the user's choice: keep it for next time."""
        from vmssdash.config import ConfigError, save_setting

        try:
            saved = save_setting("theme", theme)
        except (OSError, ConfigError) as exc:
            self.log_activity(f"theme {theme} not saved: {exc}")
            return
        if saved is not None:
            self.log_activity(f"theme {theme} saved to {saved}")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from binding_commands(self, screen)

    # ------------------------------------------------------------------ for the write path

    @property
    def marked(self) -> frozenset[str]:
        return frozenset(self.heatmap.marked)

    @property
    def cursor_vm(self) -> VmInfo | None:
        return self.heatmap.cursor_vm

    def clear_marks(self) -> None:
        if not self._tearing_down:
            self.heatmap.action_clear_marks()

    def changes_sent(self) -> None:
        self.observer.note_activity()
        self._start_poll()

    def show_state(self) -> None:
        if self._tearing_down:
            return
        self._update_header()
        if self._run_pane.is_attached:
            self._run_pane.show(self.run_view)


_ARM_PREFIX = re.compile(
    r"/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/Microsoft\.Compute/"
    r"virtualMachineScaleSets/",
    re.IGNORECASE,
)


def _short_paths(text: str) -> str:
    """Scale-set paths are long and the same on every line: keep only what follows."""
    return _ARM_PREFIX.sub("…/", text)


def _prepare_view(
    previous: ScaleSetSnapshot | None, snapshot: ScaleSetSnapshot, changed: frozenset[str]
) -> tuple[dict[Grouping, Rows], list[str]]:
    """Everything about a snapshot the handler would otherwise compute on the loop."""
    return prepare_rows(snapshot), describe_transitions(previous, snapshot, changed)
