"""api-version per operation group, in one place.

ARM rejects a request without ``api-version`` and every resource provider has its own set
of versions, so the client picks the version from the path's provider namespace. Change a
version here, never at a call site.
"""

from __future__ import annotations

import re

#: Compute RP, newest stable (reference §1): VMSS, VMSS VMs, operations, platform images.
COMPUTE = "2026-04-01"
#: Compute galleries and disks have their own release train (reference §1).
COMPUTE_GALLERIES = "2026-03-03"
COMPUTE_DISKS = "2026-03-02"
#: Microsoft.Resources: subscriptions and resource groups (no 2026 version exists).
RESOURCES = "2022-12-01"

_PROVIDER = re.compile(r"/providers/([^/?]+)(?:/([^/?]+))?", re.IGNORECASE)


def api_version_for(path: str) -> str:
    """The api-version for a request path (relative or absolute URL)."""
    matches = _PROVIDER.findall(path)
    if not matches:
        # /subscriptions, /subscriptions/{id}/resourceGroups, ... belong to Microsoft.Resources.
        return RESOURCES
    namespace, resource_type = matches[-1]
    if namespace.lower() == "microsoft.compute":
        kind = resource_type.lower()
        if kind == "galleries":
            return COMPUTE_GALLERIES
        if kind in ("disks", "snapshots", "diskaccesses", "diskencryptionsets"):
            return COMPUTE_DISKS
        return COMPUTE
    if namespace.lower() == "microsoft.resources":
        return RESOURCES
    return COMPUTE
