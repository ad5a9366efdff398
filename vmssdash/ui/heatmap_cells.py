"""What the heatmap shows, without the widget: the rows per grouping (prepared off the
event loop), the row labels ("UD 0 ●6/8") and each cell's text. Pure, so the poll worker,
the panes and the tests use it without a Textual app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vmssdash.core.snapshot import Group, Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmInfo, VmState

MARK = "*"
CHANGED = "Δ"
BEHIND = "~"
FILTERED = "-"
#: A cell whose reading is older than the freshness target (also drawn faint).
OLD = "·"
DONE = VmState.UP_TO_DATE.glyph
#: Whether the filter shows a VM.
Matcher = Callable[[VmInfo], bool]


def state_class(state: VmState) -> str:
    return f"heatmap--{state.value}"


#: States whose cell already says where the VM stands with the model.
NOT_BEHIND = frozenset({VmState.STALE} | {s for s in VmState if s.is_transitional})


def left_behind(vm: VmInfo) -> bool:
    """On an old model although its cell does not say stale (deallocated, stopped,
    protected, unhealthy, failed): a finished plan skipped or could not fix it."""
    return vm.latest_model is False and vm.state not in NOT_BEHIND


def row_done(vms: Iterable[VmInfo]) -> int:
    """VMs of a row that need nothing more: up to date (latest model, running, healthy)."""
    return sum(1 for vm in vms if vm.state is VmState.UP_TO_DATE)


@dataclass(frozen=True, slots=True)
class Rows:
    """One grouping's rows, their VMs in screen order, and the layout's identity."""

    groups: list[Group]
    order: list[VmInfo]
    structure: tuple[tuple[str, tuple[str, ...]], ...]


def rows_of(snapshot: ScaleSetSnapshot, grouping: Grouping) -> Rows:
    groups = snapshot.groups(grouping)
    return Rows(
        groups,
        [vm for g in groups for vm in g.vms],
        tuple((g.label, tuple(v.instance_id for v in g.vms)) for g in groups),
    )


def prepare_rows(snapshot: ScaleSetSnapshot) -> dict[Grouping, Rows]:
    """Every grouping's rows: pure, so the poll worker runs it in a thread and the event
    loop only compares and paints (grouping 1,000 VMs costs ~1 ms per grouping)."""
    return {grouping: rows_of(snapshot, grouping) for grouping in Grouping}


def row_name(group: Group, several_pgs: bool) -> str:
    """The row name; the placement group is in the heading line above, not repeated."""
    if group.placement_group and several_pgs:
        prefix = group.placement_group[:8] + " "
        if group.label.startswith(prefix):
            return group.label[len(prefix) :]
    return group.label


def label_text(group: Group, name: str, name_w: int, digits: int) -> str:
    """ "UD 0 ●6/8": the row, and how many of its VMs are up to date (●) of all."""
    done = f"{DONE}{row_done(group.vms)}"
    total = len(group.vms)
    return f"{name:<{name_w}} {done:>{digits + 1}}/{total:<{digits}} "


def cell_text(
    state: VmState,
    *,
    changed: bool,
    dim: bool,
    marked: bool,
    behind: bool,
    old: bool,
    wide: bool,
) -> str:
    """A cell's glyph (``-`` when filtered out) and, in a wide cell, its marker column:
    the first of marked, changed, behind, old reading that applies."""
    glyph = FILTERED if dim else state.glyph
    if wide:
        glyph += (
            MARK if marked else CHANGED if changed else BEHIND if behind else OLD if old else " "
        )
    return glyph
