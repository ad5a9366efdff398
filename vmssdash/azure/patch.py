"""Minimal PATCH bodies: send only what changed.

A PATCH that carries the whole cached model can overwrite a concurrent change to a field
we never touched (the 2016 editor PUT everything, without an ETag). ``minimal_patch``
compares two versions of a resource's JSON and keeps only the changed leaves, JSON
merge-patch style: objects recurse, lists and scalars are replaced whole, a removed key
becomes ``null``. Read-only fields are never sent.
"""

from __future__ import annotations

from typing import Any

#: Server-owned fields of the resource envelope (nested ``id``s, e.g. an image id, are
#: ordinary writable fields).
READ_ONLY_TOP = frozenset({"id", "name", "type", "etag"})
#: Server-owned fields at any depth.
READ_ONLY_ANY = frozenset({"provisioningState", "uniqueId", "timeCreated", "latestModelApplied"})


def minimal_patch(
    before: dict[str, Any], after: dict[str, Any], *, _top: bool = True
) -> dict[str, Any]:
    """The smallest merge patch turning ``before`` into ``after`` (may be ``{}``)."""
    skip = READ_ONLY_ANY | READ_ONLY_TOP if _top else READ_ONLY_ANY
    patch: dict[str, Any] = {}
    for key, new in after.items():
        if key in skip:
            continue
        if key not in before:
            patch[key] = new
            continue
        old = before[key]
        if isinstance(old, dict) and isinstance(new, dict):
            inner = minimal_patch(old, new, _top=False)
            if inner:
                patch[key] = inner
        elif old != new:
            patch[key] = new
    for key in before:
        if key not in after and key not in skip:
            patch[key] = None
    return patch


def put_body(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A full PUT body: the resource's raw JSON with ``changes`` merged in.

    Every field we did not model survives, because we start from the raw JSON.
    """
    out = dict(raw)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = put_body(out[key], value)
        else:
            out[key] = value
    return out
