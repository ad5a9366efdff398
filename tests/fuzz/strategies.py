"""Hypothesis strategies for what a broken or hostile server can send (no tests here).

Payloads start from a well-formed body (``tests.factories``) and are then damaged the way
real failures damage them: fields dropped or retyped, numbers absurd, text odd Unicode,
bodies truncated, HTML instead of JSON, headers out of range. Starting from a valid body
keeps most examples close to the paths that matter (a random dict rarely looks like a VM).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.factories import scale_set_json, vm_json

#: ``HYPOTHESIS_PROFILE=explore`` searches afresh with ≥ 10,000 cases per property; the
#: default (conftest's "repeatable" profile, derandomized) keeps ``make test`` short.
EXPLORE = os.environ.get("HYPOTHESIS_PROFILE") == "explore"


#: pytest-timeout's per-test limit does not fit 10,000 cases on a busy machine.
TIMEOUT = 0 if EXPLORE else 300


def cases(repeatable: int) -> settings:
    return settings(
        max_examples=10_000 if EXPLORE else repeatable,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "\t", "\u202e", "\ud7ff", "\x00", "ＶＭ", "💥", "0" * 400, "NaN", "-0", "١٢"]
    ),
)
huge_numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
)
leaves = st.one_of(st.none(), st.booleans(), huge_numbers, odd_text)
json_values: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(odd_text, children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


@st.composite
def damaged(draw: st.DrawFn, body: Any, max_damage: int = 3) -> Any:
    """``body`` with up to ``max_damage`` fields dropped, retyped or replaced."""
    out = copy.deepcopy(body)
    for _ in range(draw(st.integers(0, max_damage))):
        paths = _paths(out)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[last]
        else:
            parent[last] = draw(json_values)
    return out


@st.composite
def vm_items(draw: st.DrawFn) -> Any:
    iid = draw(st.integers(0, 999))
    base = vm_json(iid, ud=iid % 5, fd=iid % 3, latest=draw(st.booleans()))
    return draw(st.one_of(damaged(base), json_values))


vm_pages = st.lists(vm_items(), max_size=6)
scale_sets = damaged(scale_set_json(), max_damage=2)


@st.composite
def bodies(draw: st.DrawFn, payload: Any) -> bytes:
    """``payload`` as the wire may carry it: JSON, truncated JSON, HTML, junk or nothing."""
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    kind = draw(st.sampled_from(["json", "json", "truncated", "html", "junk", "empty", "huge"]))
    if kind == "truncated":
        return text.encode()[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "html":
        return b"<html><title>502 Bad Gateway</title><body>nginx</body></html>"
    if kind == "junk":
        return draw(st.binary(max_size=64))
    if kind == "empty":
        return b""
    if kind == "huge":
        return b'{"value": [], "n": 1' + b"0" * 5000 + b"}"
    return text.encode()


header_values = st.one_of(
    st.sampled_from(
        ["0", "-5", "1e9", "inf", "nan", "1e400", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", ""]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)
headers = st.dictionaries(
    st.sampled_from(
        [
            "Retry-After",
            "retry-after-ms",
            "x-ms-retry-after-ms",
            "x-ms-ratelimit-remaining-resource",
            "x-ms-ratelimit-remaining-subscription-reads",
            "Content-Type",
            "Location",
            "Azure-AsyncOperation",
            "x-ms-request-id",
        ]
    ),
    header_values,
    max_size=4,
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 201, 202, 204, 301, 302, 307, 400, 404, 409, 429, 500, 503]),
    st.integers(100, 599),
)
