"""How a run reads the VMs it gates on: the ``VmReader`` seam.

The orchestrator states what it needs ("fresh health of these VMs, read no earlier than
this time") and does not care how it is read. The scale set's observer (issue 11) is the
reader in the app and in headless runs (``core.observer.Observer``); its read planner
decides which reads serve a need.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from vmssdash.core.state import VmInfo


class VmReader(Protocol):
    async def read_vms(
        self, ids: Collection[str], *, newer_than: float, reason: str
    ) -> dict[str, VmInfo]:
        """Every VM of the set known to the reader, with ``ids`` read at or after
        ``newer_than`` (on the pacing clock)."""
        ...

    def expect_change(self, ids: Collection[str]) -> None:
        """A change was just sent to ``ids``: their last reading says nothing of what they
        will be (an upgraded VM leaves the stale-VM list), and the set is busy."""
        ...
