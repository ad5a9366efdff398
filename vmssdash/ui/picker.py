"""Choosing a scale set when none was given: the fleet screen, and the remembered choice.

The last choice is kept in the state dir, so the usual target is one Enter away.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmssdash import paths

STATE_NAME = "picker.json"


@dataclass(frozen=True)
class Remembered:
    subscription: str | None = None
    resource_id: str | None = None


def state_file() -> Path:
    return paths.state_dir() / STATE_NAME


def load_remembered(path: Path | None = None) -> Remembered:
    try:
        data = json.loads((path or state_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Remembered()
    if not isinstance(data, dict):
        return Remembered()
    sub, rid = data.get("subscription"), data.get("resource_id")
    return Remembered(
        subscription=sub if isinstance(sub, str) else None,
        resource_id=rid if isinstance(rid, str) else None,
    )


def save_remembered(choice: Remembered, path: Path | None = None) -> None:
    """Atomic write: a crash must not leave a half-written file that hides the last choice."""
    target = path or state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".picker-", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"subscription": choice.subscription, "resource_id": choice.resource_id}, fh)
    os.replace(tmp, target)


def run_picker(make_client: Callable[[], Any], **screen_kwargs: Any) -> str | None:
    """Block on the fleet screen until the user picks a scale set; ``None`` if they left."""
    from vmssdash.ui.fleet import FleetApp

    return FleetApp(make_client, **screen_kwargs).run()
