"""Every change vmssdash sends to Azure, as a value that knows its scope and describes itself.

A ``Change`` is built from a snapshot before anything is asked: its ``scope`` holds the
exact instance ids that will be in the request bodies (after every skip rule: the plan's
``skip_reason`` for upgrades) and the skipped ones with why; ``describe()`` is the
confirmation text; ``is_large`` (one threshold, ``is_large``) asks for the scale set's
name to be typed; ``run(ctx, emit)`` sends it. The dashboard's ``submit(change)`` and
the headless commands run the same values, so what was confirmed is what runs.
"""

from vmssdash.core.changes.base import (
    LARGE_OVER,
    Accepted,
    Change,
    ChangeApi,
    ChangeEvent,
    Emit,
    Outcome,
    RunContext,
    RunStarted,
    Scope,
    is_large,
)
from vmssdash.core.changes.runs import RollingCancel, RollingStart, UpgradePlan
from vmssdash.core.changes.vm import ACTIONS, ActionKind, ModelPatch, Scale, VmAction

__all__ = [
    "ACTIONS",
    "LARGE_OVER",
    "Accepted",
    "ActionKind",
    "Change",
    "ChangeApi",
    "ChangeEvent",
    "Emit",
    "ModelPatch",
    "Outcome",
    "RollingCancel",
    "RollingStart",
    "RunContext",
    "RunStarted",
    "Scale",
    "Scope",
    "UpgradePlan",
    "VmAction",
    "is_large",
]
