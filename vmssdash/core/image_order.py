"""Which of two images is older: the rule behind the downgrade warning.

Image versions are dotted numbers (platform ``24.04.202612010``, gallery ``1.5.0``);
they sort part by part as numbers, so ``24.04.202611150`` is below ``24.04.202612010``
and ``1.10.0`` above ``1.9.0``. A trailing tag (``202611990-bad``) sorts after the bare
number. The images must be the same image otherwise (publisher/offer/sku, or the gallery
image definition) for the order to mean anything; ``latest`` has no order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PART = re.compile(r"^(\d+)(.*)$")
_VERSIONED_ID = re.compile(r"^(?P<image>.+)/versions/(?P<version>[^/]+)$", re.IGNORECASE)


def version_key(version: str) -> tuple[tuple[int, str], ...] | None:
    """A sort key for a dotted version, None for ``latest`` or a non-numeric one."""
    parts: list[tuple[int, str]] = []
    for part in version.strip().split("."):
        match = _PART.match(part)
        if match is None:
            return None
        parts.append((int(match.group(1)), match.group(2)))
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Versioned:
    """An image split into "which image" and "which version of it"."""

    image: str
    version: str


def split_id(image_id: str) -> Versioned | None:
    """``…/images/web-app/versions/1.5.0`` → (``…/images/web-app``, ``1.5.0``)."""
    match = _VERSIONED_ID.match(image_id.strip())
    if match is None:
        return None
    return Versioned(match.group("image").lower(), match.group("version"))


def is_older(new: Versioned | None, old: Versioned | None) -> bool:
    """True when ``new`` is the same image as ``old`` at a version that sorts below it."""
    if new is None or old is None or new.image != old.image:
        return False
    new_key, old_key = version_key(new.version), version_key(old.version)
    return new_key is not None and old_key is not None and new_key < old_key
