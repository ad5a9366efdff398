"""A scale-set VM's ``properties`` as validated JSON: what the heatmap and the planners read.

A refresh of 1,000 VMs validates every VM, and building ~15 pydantic objects per VM cost
more than decoding the bytes (issue 11). These ``TypedDict``s are validated by
pydantic-core in one pass straight from the bytes and come out as plain dicts with wire
(camelCase) keys; ``ScaleSetVM.properties`` builds the attribute models from them only
when someone asks. They name exactly the fields somebody reads: one that nobody reads is
neither validated nor able to make a VM unreadable. The types are those of the models in
``models.vm`` (``StrictBool`` included), so a dict that validates here always validates
there too.

A VM validated from a page's bytes has no dict of its JSON yet: its ``raw`` is a
``RawItem``, decoded (once for the whole page) only if somebody reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic_core
from pydantic import StrictBool
from typing_extensions import TypedDict


class PageBody:
    """The bytes of one list page whose items were validated without decoding them to
    dicts; ``items`` decodes them on first use (the body is known to be a JSON object
    with a ``value`` list)."""

    __slots__ = ("_body", "_items")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._items: list[Any] | None = None

    def items(self) -> list[Any]:
        if self._items is None:
            self._items = pydantic_core.from_json(self._body)["value"]
        return self._items


class RawItem:
    """Item ``index`` of a ``PageBody``: a model's raw JSON, not decoded yet."""

    __slots__ = ("index", "page")

    def __init__(self, page: PageBody, index: int) -> None:
        self.page = page
        self.index = index

    def load(self) -> dict[str, Any]:
        item: dict[str, Any] = self.page.items()[self.index]
        return item


class StatusJson(TypedDict, total=False):
    code: str | None
    displayStatus: str | None
    time: datetime | None


class VmHealthJson(TypedDict, total=False):
    status: StatusJson | None


class InstanceViewJson(TypedDict, total=False):
    platformUpdateDomain: int | None
    platformFaultDomain: int | None
    placementGroupId: str | None
    computerName: str | None
    statuses: list[StatusJson]
    vmHealth: VmHealthJson | None


class ProtectionPolicyJson(TypedDict, total=False):
    protectFromScaleIn: StrictBool
    protectFromScaleSetActions: StrictBool


class ImageReferenceJson(TypedDict, total=False):
    id: str | None
    publisher: str | None
    offer: str | None
    sku: str | None
    version: str | None
    exactVersion: str | None
    sharedGalleryImageId: str | None
    communityGalleryImageId: str | None


class VmStorageProfileJson(TypedDict, total=False):
    imageReference: ImageReferenceJson | None


class VmOsProfileJson(TypedDict, total=False):
    computerNamePrefix: str | None
    computerName: str | None


class VmPropertiesJson(TypedDict, total=False):
    latestModelApplied: StrictBool | None
    vmId: str | None
    provisioningState: str | None
    protectionPolicy: ProtectionPolicyJson | None
    instanceView: InstanceViewJson | None
    storageProfile: VmStorageProfileJson | None
    osProfile: VmOsProfileJson | None
