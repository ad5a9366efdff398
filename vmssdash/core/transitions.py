"""What the activity log says about one refresh: which VMs moved between which states.

Pure, so the poll worker runs it in a thread next to the heatmap's row grouping: with
1,000 VMs changing at once, walking them is a few milliseconds the event loop (and so
every keystroke) would otherwise wait on.
"""

from __future__ import annotations

from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmState
from vmssdash.core.words import vms, who

#: Past this many VMs in one move, the line gives a count instead of the ids.
LIST_IDS_UP_TO = 5


def describe_transitions(
    previous: ScaleSetSnapshot | None, current: ScaleSetSnapshot, changed: frozenset[str]
) -> list[str]:
    """One line per (old state → new state) move, then VMs that appeared or went.

    The first snapshot gets a one-line census instead.
    """
    if previous is None:
        counts = current.counts()
        census = ", ".join(f"{counts[s]} {s.label}" for s in VmState if counts.get(s))
        return [f"{vms(len(current.vms))}: {census}"]
    moves: dict[tuple[VmState, VmState], list[str]] = {}
    old_by_id = previous.by_id
    new_by_id = current.by_id
    for iid in changed:
        old = old_by_id.get(iid)
        new = new_by_id.get(iid)
        if old is None or new is None or old.state is new.state:
            continue
        moves.setdefault((old.state, new.state), []).append(iid)
    lines: list[str] = []
    for (old_state, new_state), ids in sorted(moves.items(), key=lambda kv: kv[0][1].value):
        ids.sort(key=lambda i: (len(i), i))
        lines.append(
            f"{who(ids, list_up_to=LIST_IDS_UP_TO)}: {old_state.label} → {new_state.label}"
        )
    added = len(new_by_id.keys() - old_by_id.keys())
    removed = len(old_by_id.keys() - new_by_id.keys())
    if added:
        lines.append(f"{vms(added)} appeared")
    if removed:
        lines.append(f"{vms(removed)} gone")
    return lines
