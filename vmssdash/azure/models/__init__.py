"""Pydantic models of the Compute REST API payloads vmssdash reads, one module per job.

- ``base``: ``ArmModel`` (wire names, unknown fields ignored) and ``RawModel`` (keeps the
  JSON it came from, so a PUT round-trips what is not modelled);
- ``scaleset``: ``ScaleSet``, its profiles, image reference and upgrade policy;
- ``vm``: ``ScaleSetVM``, its instance view and ``with_identity`` (mirroring ``vm_json``);
- ``operations``: ARM errors, operation and rolling-upgrade status, list pages;
- ``durations``: ISO-8601 durations (``parse_duration``, ``format_duration``).

Import from those modules. The names below are re-exported only for the importers in
``core``, ``ui`` and ``sim``, which were being edited by others when this package was
split; once they import from the modules, this list goes.
"""

from vmssdash.azure.models.durations import format_duration, parse_duration
from vmssdash.azure.models.operations import RollingUpgradeStatus
from vmssdash.azure.models.scaleset import IMAGE_KEYS, RollingUpgradePolicy, ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM

__all__ = [
    "IMAGE_KEYS",
    "RollingUpgradePolicy",
    "RollingUpgradeStatus",
    "ScaleSet",
    "ScaleSetVM",
    "format_duration",
    "parse_duration",
]
