"""Property tests: patches round-trip, header parsing never raises, backoff stays bounded."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vmssdash.azure.patch import READ_ONLY_ANY, READ_ONLY_TOP, minimal_patch, put_body
from vmssdash.azure.retry import RetryPolicy
from vmssdash.azure.throttle import parse_resource_header

keys = st.sampled_from(["a", "b", "c", "imageReference", "version", "sku", "capacity", "id"])
leaves = st.one_of(
    st.integers(-5, 5), st.text(max_size=3), st.booleans(), st.lists(st.integers(0, 3), max_size=3)
)
json_objects: st.SearchStrategy[dict[str, Any]] = st.recursive(
    st.dictionaries(keys, leaves, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(leaves, children), max_size=4),
    max_leaves=12,
)


def _strip_read_only(d: dict[str, Any], top: bool = True) -> dict[str, Any]:
    skip = READ_ONLY_ANY | (READ_ONLY_TOP if top else frozenset())
    return {
        k: _strip_read_only(v, False) if isinstance(v, dict) else v
        for k, v in d.items()
        if k not in skip
    }


@settings(max_examples=200, deadline=None)
@given(json_objects, json_objects)
def test_minimal_patch_applied_to_before_gives_after(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    before, after = _strip_read_only(before), _strip_read_only(after)
    patch = minimal_patch(before, after)
    assert put_body(before, patch) == after
    assert minimal_patch(after, after) == {}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="Microsoft./Compute;,0123456789 abc-", max_size=60), max_size=4))
def test_resource_header_parser_never_raises(values: list[str]) -> None:
    parsed = parse_resource_header(values)
    assert all(isinstance(v, int) for v in parsed.values())


@given(st.integers(1, 50), st.floats(0.01, 5.0), st.floats(0.1, 120.0), st.integers(0, 1000))
def test_backoff_bounded(attempt: int, base: float, cap: float, seed: int) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_cap=cap)
    wait = policy.backoff(attempt, random.Random(seed))
    assert 0 < wait <= cap
