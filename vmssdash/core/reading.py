"""How a run reads the VMs it gates on: the ``VmReader`` seam.

The orchestrator states what it needs ("fresh health of these VMs, read no earlier than
this time") and does not care how it is read. The scale set's observer (issue 11) is the
reader in the app and in headless runs; ``ListingReader`` is the plain one-list-per-read
reader that it replaces.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from vmssdash.azure.models import ScaleSetVM
from vmssdash.core.state import VmInfo, classify


class VmReader(Protocol):
    async def read_vms(
        self, ids: Collection[str], *, newer_than: float, reason: str
    ) -> dict[str, VmInfo]:
        """Every VM of the set known to the reader, with ``ids`` read at or after
        ``newer_than`` (on the pacing clock)."""
        ...


class ListableApi(Protocol):
    async def list_vms(self) -> list[ScaleSetVM]: ...


class ListingReader:
    """Lists every VM for every read (what the orchestrator did on its own before)."""

    def __init__(self, api: ListableApi) -> None:
        self.api = api

    async def read_vms(
        self, ids: Collection[str], *, newer_than: float, reason: str
    ) -> dict[str, VmInfo]:
        return {vm.instance_id: classify(vm) for vm in await self.api.list_vms()}
