"""The `/` filter language: space-separated terms, all of which must match.

Terms: ``state:stale`` (or a bare state name such as ``failed``), ``ud:0``, ``fd:2``,
``zone:1``, ``pg:<prefix>``, ``id:17`` (or a bare number); any other bare word matches a
substring of the VM or computer name. Several values for one key are ORed: ``ud:0,1``.
"""

from __future__ import annotations

from collections.abc import Callable

from vmssdash.core.state import VmInfo, VmState

Matcher = Callable[[VmInfo], bool]

_STATE_NAMES: dict[str, VmState] = {}
for _s in VmState:
    _STATE_NAMES[_s.value] = _s
    _STATE_NAMES[_s.label.replace(" ", "-")] = _s
    _STATE_NAMES[_s.label.replace(" ", "")] = _s


def _state_term(value: str) -> Matcher:
    want = {_lookup_state(v) for v in value.split(",") if v}
    return lambda vm: vm.state in want


def _lookup_state(value: str) -> VmState:
    key = value.lower()
    if key in _STATE_NAMES:
        return _STATE_NAMES[key]
    matches = {s for name, s in _STATE_NAMES.items() if name.startswith(key)}
    if len(matches) == 1:
        return matches.pop()
    raise ValueError(f"unknown state {value!r} (try: {', '.join(s.value for s in VmState)})")


def _int_term(key: str, attr: str, value: str) -> Matcher:
    try:
        want = {int(v) for v in value.split(",") if v}
    except ValueError:
        raise ValueError(f"{key}: needs numbers, got {value!r}") from None
    return lambda vm: getattr(vm, attr) in want


def _term(term: str) -> Matcher:
    key, sep, value = term.partition(":")
    key = key.lower()
    if sep:
        if not value:
            raise ValueError(f"{key}: needs a value")
        if key in ("state", "s"):
            return _state_term(value)
        if key == "ud":
            return _int_term(key, "update_domain", value)
        if key == "fd":
            return _int_term(key, "fault_domain", value)
        if key in ("zone", "z"):
            zones = set(value.split(","))
            return lambda vm: (vm.zone or "") in zones
        if key == "pg":
            return lambda vm: (vm.placement_group or "").startswith(value)
        if key in ("id", "instance"):
            ids = set(value.split(","))
            return lambda vm: vm.instance_id in ids
        raise ValueError(f"unknown filter key {key!r} (state, ud, fd, zone, pg, id)")
    if term.isdigit():
        return lambda vm: vm.instance_id == term
    try:
        return _state_term(term)
    except ValueError:
        needle = term.lower()
        return lambda vm: needle in vm.name.lower() or needle in (vm.computer_name or "").lower()


def parse_filter(text: str) -> Matcher | None:
    """A predicate for the filter text, None for an empty filter; ValueError explains."""
    terms = [_term(t) for t in text.split()]
    if not terms:
        return None
    return lambda vm: all(t(vm) for t in terms)
