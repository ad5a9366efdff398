"""The activity log's words for a refresh, made off the event loop."""

from __future__ import annotations

from tests.ui.fakeapi import make_api
from tests.ui.test_heatmap import snapshot_of
from vmssdash.core.transitions import LIST_IDS_UP_TO, describe_transitions


def test_first_snapshot_is_a_census() -> None:
    snap = snapshot_of(make_api(40))
    (line,) = describe_transitions(None, snap, frozenset())
    counts = snap.counts()
    assert line.startswith("40 VMs: ")
    assert sum(counts.values()) == 40
    for state, n in counts.items():
        assert f"{n} {state.label}" in line


def test_moves_are_grouped_by_old_and_new_state() -> None:
    api = make_api(40)
    before = snapshot_of(api)
    api.set_vm(2, prov="updating")
    after = snapshot_of(api)
    changed = after.changed_since(before)
    assert changed == frozenset({"2"})
    old = before.by_id["2"].state.label
    assert describe_transitions(before, after, changed) == [f"VM 2: {old} → updating"]


def test_many_vms_in_one_move_are_counted_not_listed() -> None:
    api = make_api(40)
    before = snapshot_of(api)
    ids = [i for i in range(40) if before.by_id[str(i)].state is before.by_id["0"].state]
    for i in ids:
        api.set_vm(i, prov="deleting")
    after = snapshot_of(api)
    lines = describe_transitions(before, after, after.changed_since(before))
    assert len(ids) > LIST_IDS_UP_TO
    assert lines == [f"{len(ids)} VMs: {before.by_id['0'].state.label} → deleting"]


def test_vms_that_appear_or_go_are_counted() -> None:
    before = snapshot_of(make_api(40))
    after = snapshot_of(make_api(41))
    assert describe_transitions(before, after, after.changed_since(before))[-1] == "1 VM appeared"
    assert describe_transitions(after, before, before.changed_since(after))[-1] == "1 VM gone"
