"""The image catalogue: which image versions exist, and whether a reference is valid."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vmssdash.sim import delivery
from vmssdash.sim.errors import invalid_parameter


def version_key(version: str) -> tuple[int, ...]:
    """Order image versions numerically ('24.04.202610010' < '24.04.202612010')."""
    return tuple(int(p) for p in re.findall(r"\d+", version))


def image_kind(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "vhd"
    if ref.get("id"):
        return "gallery" if "/galleries/" in str(ref["id"]).lower() else "managed"
    if ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"):
        return "shared"
    return "platform"


_GALLERY_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/galleries/"
    r"(?P<gallery>[^/]+)/images/(?P<image>[^/]+)(?:/versions/(?P<version>[^/]+))?$",
    re.IGNORECASE,
)
_VHD_RE = re.compile(r"^https://[a-z0-9]{3,24}\.blob\.core\.[a-z0-9.]+/[^/?#]+/[^?#]+\.vhd$", re.I)
_MANAGED_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/images/[^/]+$",
    re.IGNORECASE,
)


@dataclass
class ImageCatalog:
    """Platform image versions per (location, publisher, offer, sku) and gallery versions
    per image definition id (all keys lower-case)."""

    platform: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)
    gallery: dict[str, list[str]] = field(default_factory=dict)

    def add_platform(
        self, location: str, publisher: str, offer: str, sku: str, versions: Iterable[str]
    ) -> None:
        key = (location.lower(), publisher.lower(), offer.lower(), sku.lower())
        self.platform[key] = sorted(set(versions), key=version_key)

    def add_gallery(self, image_definition_id: str, versions: Iterable[str]) -> None:
        self.gallery[image_definition_id.lower()] = sorted(set(versions), key=version_key)

    def platform_versions(self, location: str, publisher: str, offer: str, sku: str) -> list[str]:
        return self.platform.get(
            (location.lower(), publisher.lower(), offer.lower(), sku.lower()), []
        )

    def newest(self, versions: list[str]) -> str | None:
        """The newest version that is a real release: 'latest' never picks a test marker."""
        good = [v for v in versions if not re.search(r"bad|fail", v, re.IGNORECASE)]
        pool = good or versions
        return pool[-1] if pool else None

    def validate(self, location: str, ref: dict[str, Any] | None, os_disk: dict[str, Any]) -> None:
        kind = image_kind(ref)
        if kind == "vhd":
            uri = (os_disk.get("image") or {}).get("uri")
            if not uri:
                raise invalid_parameter(
                    "Required parameter 'imageReference' is missing (null).",
                    "imageReference",
                )
            if not _VHD_RE.match(str(uri)):
                raise invalid_parameter(
                    f"The value '{uri}' of parameter 'osDisk.image.uri' is invalid. It must be "
                    "the URI of a VHD blob in an Azure storage account.",
                    "osDisk.image.uri",
                )
            return
        assert ref is not None
        if kind == "platform":
            parts = [str(ref.get(k) or "") for k in ("publisher", "offer", "sku", "version")]
            if not all(parts[:3]):
                raise invalid_parameter(
                    "The value of parameter imageReference is invalid.", "imageReference"
                )
            version = parts[3] or "latest"
            known = self.platform_versions(location, *parts[:3])
            if not known or (version.lower() != "latest" and version not in known):
                urn = ":".join([*parts[:3], version])
                raise invalid_parameter(
                    f"The platform image '{urn}' is not available. Verify that all fields in "
                    "the storage profile are correct. For more details about storage profile "
                    "information, please refer to https://aka.ms/storageprofile",
                    "imageReference",
                )
            return
        if kind == "gallery":
            m = _GALLERY_RE.match(str(ref["id"]))
            if not m:
                raise invalid_parameter(
                    f"The value '{ref['id']}' of parameter 'imageReference.id' is invalid.",
                    "imageReference.id",
                )
            definition = str(ref["id"]).lower().split("/versions/")[0]
            versions = self.gallery.get(definition)
            version = m.group("version")
            if versions is None or (version is not None and version not in versions):
                raise invalid_parameter(
                    f"The gallery image version '{ref['id']}' does not exist or is not "
                    "replicated to this region.",
                    "imageReference.id",
                )
            return
        if kind == "managed" and not _MANAGED_RE.match(str(ref["id"])):
            raise invalid_parameter(
                f"The value '{ref['id']}' of parameter 'imageReference.id' is invalid.",
                "imageReference.id",
            )

    def resolve(self, location: str, ref: dict[str, Any] | None) -> str:
        """The exact version a VM built from ``ref`` runs."""
        kind = image_kind(ref)
        if ref is None or kind == "vhd":
            return ""
        if kind in ("managed", "shared"):
            # No versions: the image's own name stands in (and carries the test markers).
            rid = str(ref.get("id") or ref.get("sharedGalleryImageId") or "")
            rid = rid or str(ref.get("communityGalleryImageId") or "")
            return rid.rstrip("/").rsplit("/", 1)[-1]
        if kind == "platform":
            version = str(ref.get("version") or "latest")
            if version.lower() != "latest":
                return version
            known = self.platform_versions(
                location, str(ref.get("publisher")), str(ref.get("offer")), str(ref.get("sku"))
            )
            return self.newest(known) or "1.0.0"
        if kind == "gallery":
            rid = str(ref["id"])
            m = _GALLERY_RE.match(rid)
            if m and m.group("version"):
                return m.group("version")
            return self.newest(self.gallery.get(rid.lower(), [])) or "1.0.0"
        return "1.0.0"


def marker_of(version: str) -> str | None:
    """Scenario markers: a version containing 'fail' fails to provision, 'bad' turns unhealthy."""
    low = version.lower()
    if "fail" in low:
        return "fail"
    if delivery.is_late_bad(low):
        return delivery.LATE_MARKER
    if "bad" in low:
        return "bad"
    return None
