"""Editing the scale set's image and capacity: validate, diff, and build a minimal PATCH.

The old editor PUT the whole cached model (read-only fields included, no ETag) and could
silently overwrite a colleague's change; it also crashed on image forms it did not expect.
Here an edit is a small value (``ModelDraft``) compared against the model it was read
from, so we can refuse bad input before anything is sent, show exactly what will change,
send only that fragment with ``If-Match``, and keep the previous model for a revert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from vmssdash.azure.models.scaleset import IMAGE_KEYS, ScaleSet
from vmssdash.core.image_order import Versioned, is_older, split_id


class ImageKind(Enum):
    PLATFORM = "platform image"
    MANAGED_IMAGE = "managed image"
    GALLERY = "gallery image"
    SHARED_GALLERY = "shared gallery image"
    COMMUNITY_GALLERY = "community gallery image"
    VHD = "unmanaged VHD"
    NONE = "no image"


@dataclass(frozen=True)
class ImageSpec:
    """One image, in whichever of the five forms the model uses."""

    kind: ImageKind
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    version: str = ""
    id: str = ""
    uri: str = ""

    @classmethod
    def platform(cls, publisher: str, offer: str, sku: str, version: str) -> ImageSpec:
        return cls(ImageKind.PLATFORM, publisher=publisher, offer=offer, sku=sku, version=version)

    @classmethod
    def from_id(cls, image_id: str) -> ImageSpec:
        """Pick the form from the id's shape (``/SharedGalleries/…`` etc.)."""
        image_id = image_id.strip()
        low = image_id.lower()
        if low.startswith("/sharedgalleries/"):
            return cls(ImageKind.SHARED_GALLERY, id=image_id)
        if low.startswith("/communitygalleries/"):
            return cls(ImageKind.COMMUNITY_GALLERY, id=image_id)
        if "/galleries/" in low:
            return cls(ImageKind.GALLERY, id=image_id)
        return cls(ImageKind.MANAGED_IMAGE, id=image_id)

    @classmethod
    def vhd(cls, uri: str) -> ImageSpec:
        return cls(ImageKind.VHD, uri=uri.strip())

    @classmethod
    def from_scale_set(cls, scale_set: ScaleSet) -> ImageSpec:
        """Detection order of the reference: id → custom/gallery; no id → platform; else VHD."""
        ref = scale_set.image_reference
        if ref is not None:
            if ref.id:
                return cls.from_id(ref.id)
            if ref.shared_gallery_image_id:
                return cls(ImageKind.SHARED_GALLERY, id=ref.shared_gallery_image_id)
            if ref.community_gallery_image_id:
                return cls(ImageKind.COMMUNITY_GALLERY, id=ref.community_gallery_image_id)
            if ref.publisher or ref.offer or ref.sku or ref.version:
                return cls.platform(
                    ref.publisher or "", ref.offer or "", ref.sku or "", ref.version or ""
                )
        uri = scale_set.os_disk_image_uri
        if uri:
            return cls.vhd(uri)
        return cls(ImageKind.NONE)

    def describe(self) -> str:
        if self.kind is ImageKind.PLATFORM:
            return f"{self.publisher}:{self.offer}:{self.sku}:{self.version}"
        if self.kind is ImageKind.VHD:
            return self.uri
        if self.kind is ImageKind.NONE:
            return "(no image)"
        return self.id

    def image_reference(self) -> dict[str, Any]:
        """This image as an ``imageReference`` (empty for a VHD or no image)."""
        if self.kind is ImageKind.PLATFORM:
            return {
                "publisher": self.publisher,
                "offer": self.offer,
                "sku": self.sku,
                "version": self.version,
            }
        if self.kind in (ImageKind.MANAGED_IMAGE, ImageKind.GALLERY):
            return {"id": self.id}
        if self.kind is ImageKind.SHARED_GALLERY:
            return {"sharedGalleryImageId": self.id}
        if self.kind is ImageKind.COMMUNITY_GALLERY:
            return {"communityGalleryImageId": self.id}
        return {}

    def versioned(self) -> Versioned | None:
        """The image and its version, when this form names one (for the downgrade rule)."""
        if self.kind is ImageKind.PLATFORM:
            image = f"{self.publisher}:{self.offer}:{self.sku}".lower()
            return Versioned(image, self.version)
        if self.kind in (ImageKind.VHD, ImageKind.NONE):
            return None
        return split_id(self.id)

    def fields(self) -> dict[str, str]:
        """The user-visible fields of this form, keyed by their wire path."""
        if self.kind is ImageKind.VHD:
            return {"osDisk.image.uri": self.uri}
        return {f"imageReference.{key}": value for key, value in self.image_reference().items()}


@dataclass(frozen=True)
class ModelDraft:
    """What the user wants the model to be (only the fields vmssdash edits)."""

    image: ImageSpec
    capacity: int

    @classmethod
    def from_scale_set(cls, scale_set: ScaleSet) -> ModelDraft:
        return cls(image=ImageSpec.from_scale_set(scale_set), capacity=scale_set.capacity)

    def with_version(self, version: str) -> ModelDraft:
        return replace(self, image=replace(self.image, version=version))

    def with_capacity(self, capacity: int) -> ModelDraft:
        return replace(self, capacity=capacity)


@dataclass(frozen=True)
class Problem:
    """One validation failure, tied to the field the user must fix."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}"


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return str(value)


# ----------------------------------------------------------------------------- validation

MAX_CAPACITY = 1000

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Azure image versions are Major.Minor.Build, three groups of digits.
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SEG = r"[^/\s]+"
_RG_PREFIX = rf"/subscriptions/{_GUID}/resourceGroups/{_SEG}/providers/Microsoft\.Compute"
_MANAGED_IMAGE_ID = re.compile(rf"^{_RG_PREFIX}/images/{_SEG}$", re.IGNORECASE)
_GALLERY_ID = re.compile(
    rf"^{_RG_PREFIX}/galleries/{_SEG}/images/{_SEG}(/versions/{_SEG})?$", re.IGNORECASE
)
_SHARED_ID = re.compile(
    rf"^/SharedGalleries/{_SEG}/Images/{_SEG}(/Versions/{_SEG})?$", re.IGNORECASE
)
_COMMUNITY_ID = re.compile(
    rf"^/CommunityGalleries/{_SEG}/Images/{_SEG}(/Versions/{_SEG})?$", re.IGNORECASE
)

_ID_SHAPES: dict[ImageKind, tuple[re.Pattern[str], str]] = {
    ImageKind.MANAGED_IMAGE: (
        _MANAGED_IMAGE_ID,
        "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name>",
    ),
    ImageKind.GALLERY: (
        _GALLERY_ID,
        "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>"
        "/images/<definition>[/versions/<version>]",
    ),
    ImageKind.SHARED_GALLERY: (
        _SHARED_ID,
        "/SharedGalleries/<unique name>/Images/<definition>[/Versions/<version>]",
    ),
    ImageKind.COMMUNITY_GALLERY: (
        _COMMUNITY_ID,
        "/CommunityGalleries/<public name>/Images/<definition>[/Versions/<version>]",
    ),
}


def is_valid_version(version: str) -> bool:
    return version.lower() == "latest" or bool(_VERSION.match(version))


def validate(
    draft: ModelDraft,
    *,
    known_versions: list[str] | None = None,
    max_capacity: int = MAX_CAPACITY,
) -> list[Problem]:
    """Every reason the draft must not be sent; empty means it may go.

    ``known_versions`` are the versions the image list endpoint offered: a version the
    server itself listed is accepted even when it does not fit Major.Minor.Build.
    """
    problems: list[Problem] = []
    image = draft.image
    if image.kind is ImageKind.PLATFORM:
        for name, value in (
            ("publisher", image.publisher),
            ("offer", image.offer),
            ("sku", image.sku),
        ):
            if not value.strip():
                problems.append(Problem(name, f"the {name} is required for a platform image"))
            elif not _NAME.match(value):
                problems.append(
                    Problem(name, f"{value!r} is not a valid {name} (letters, digits, . _ -)")
                )
        version = image.version.strip()
        if not version:
            problems.append(Problem("version", "the version is required (or 'latest')"))
        elif not is_valid_version(version) and version not in (known_versions or []):
            problems.append(
                Problem(
                    "version",
                    f"{version!r} is not a valid image version: use 'latest' or "
                    "Major.Minor.Build, e.g. 24.04.202611010",
                )
            )
    elif image.kind in _ID_SHAPES:
        pattern, shape = _ID_SHAPES[image.kind]
        if not image.id:
            problems.append(Problem("id", f"the {image.kind.value} id is required"))
        elif not pattern.match(image.id):
            problems.append(
                Problem("id", f"{image.id!r} is not a {image.kind.value} id; expected {shape}")
            )
    elif image.kind is ImageKind.VHD:
        problems.extend(_validate_uri(image.uri))
    else:
        problems.append(Problem("image", "choose an image"))
    if draft.capacity < 0:
        problems.append(Problem("capacity", "the capacity cannot be negative"))
    elif draft.capacity > max_capacity:
        problems.append(
            Problem("capacity", f"the capacity {draft.capacity} exceeds the maximum {max_capacity}")
        )
    return problems


def _validate_uri(uri: str) -> list[Problem]:
    if not uri:
        return [Problem("uri", "the VHD URI is required")]
    parts = urlsplit(uri)
    if parts.scheme.lower() != "https":
        return [Problem("uri", f"{uri!r} must be an https:// URI")]
    if not parts.hostname or " " in uri:
        return [Problem("uri", f"{uri!r} has no valid host")]
    if not parts.path or parts.path == "/":
        return [Problem("uri", f"{uri!r} names no blob (expected /<container>/<name>.vhd)")]
    if not parts.path.lower().endswith(".vhd"):
        return [Problem("uri", f"{uri!r} does not name a .vhd blob")]
    return []


# ----------------------------------------------------------------------------- diff & patch


def diff(base: ModelDraft, draft: ModelDraft) -> list[Change]:
    """Exactly the fields that the PATCH built from ``draft`` will change."""
    changes: list[Change] = []
    if base.image.kind is not draft.image.kind:
        changes.append(Change("image form", base.image.kind.value, draft.image.kind.value))
    old_fields = base.image.fields()
    new_fields = draft.image.fields()
    for path in list(old_fields) + [p for p in new_fields if p not in old_fields]:
        old = old_fields.get(path, "")
        new = new_fields.get(path, "")
        if old != new:
            changes.append(Change(path, old, new))
    if base.capacity != draft.capacity:
        changes.append(Change("sku.capacity", base.capacity, draft.capacity))
    return changes


def build_patch(base: ModelDraft, draft: ModelDraft) -> dict[str, Any]:
    """The smallest ``VirtualMachineScaleSetUpdate`` body that moves ``base`` to ``draft``.

    The image fragment is sent whole for its form (so a server that replaces rather than
    merges ``imageReference`` still gets a complete reference); when the form changes,
    the old form's keys are sent as null so a merge-patch removes them. Empty when
    nothing changed.
    """
    body: dict[str, Any] = {}
    if base.image != draft.image:
        storage: dict[str, Any] = {}
        if draft.image.kind is ImageKind.VHD:
            storage["osDisk"] = {"image": {"uri": draft.image.uri}}
            if base.image.kind not in (ImageKind.VHD, ImageKind.NONE):
                storage["imageReference"] = None
        else:
            ref = draft.image.image_reference()
            if base.image.kind is not draft.image.kind:
                for key in IMAGE_KEYS:
                    ref.setdefault(key, None)
                if base.image.kind is ImageKind.VHD:
                    storage["osDisk"] = {"image": None}
            storage["imageReference"] = ref
        body["properties"] = {"virtualMachineProfile": {"storageProfile": storage}}
    if base.capacity != draft.capacity:
        body["sku"] = {"capacity": draft.capacity}
    return body


# ----------------------------------------------------------------------------- edit session


@dataclass
class ModelEdit:
    """One edit of one scale set: the model it started from, and what to send.

    ``previous`` is the scale set as it was before the last applied change, so the pane
    can offer a revert (which is itself just another edit, back to that draft).
    """

    base: ScaleSet
    draft: ModelDraft
    previous: ScaleSet | None = None

    @classmethod
    def start(cls, scale_set: ScaleSet, previous: ScaleSet | None = None) -> ModelEdit:
        return cls(base=scale_set, draft=ModelDraft.from_scale_set(scale_set), previous=previous)

    @property
    def base_draft(self) -> ModelDraft:
        return ModelDraft.from_scale_set(self.base)

    def problems(self, known_versions: list[str] | None = None) -> list[Problem]:
        return validate(self.draft, known_versions=known_versions)

    def changes(self) -> list[Change]:
        return diff(self.base_draft, self.draft)

    def patch(self) -> dict[str, Any]:
        return build_patch(self.base_draft, self.draft)

    def downgrade(self) -> str | None:
        """A warning when the draft's image version sorts below the current one (same
        image), else None. Any confirmation of this edit asks for the typed name then."""
        old, new = self.base_draft.image.versioned(), self.draft.image.versioned()
        if old is None or new is None or not is_older(new, old):
            return None
        return (
            f"DOWNGRADE: {new.version} is older than the current {old.version}; "
            "every VM upgraded after this goes back to the older image."
        )

    def warnings(self) -> list[str]:
        """Consequences the user should read before confirming (downgrade, upgrade mode,
        latest)."""
        downgrade = self.downgrade()
        notes: list[str] = [downgrade] if downgrade else []
        mode = self.base.upgrade_mode.lower()
        image_changed = self.base_draft.image != self.draft.image
        if image_changed and mode == "automatic":
            notes.append(
                "Upgrade mode is Automatic: this edit itself starts upgrading every VM, "
                "possibly all at once."
            )
        elif image_changed and mode == "rolling":
            notes.append(
                "Upgrade mode is Rolling: the platform rolls this change out in batches "
                "(watch it with the rolling-upgrade status)."
            )
        elif image_changed:
            notes.append(
                "Upgrade mode is Manual: existing VMs keep their image until you upgrade them."
            )
        if (
            self.draft.image.kind is ImageKind.PLATFORM
            and self.draft.image.version.lower() == "latest"
        ):
            notes.append("'latest' follows new platform versions; VMs report the exact version.")
        return notes

    def applied(self, fresh: ScaleSet) -> ModelEdit:
        """The edit session after a successful PATCH: the old base becomes revertable."""
        return ModelEdit.start(fresh, previous=self.base)

    def revert(self) -> ModelEdit | None:
        """An edit back to the previous model (image and capacity), or None."""
        if self.previous is None:
            return None
        return ModelEdit(
            base=self.base, draft=ModelDraft.from_scale_set(self.previous), previous=self.previous
        )

    def rebased(self, fresh: ScaleSet) -> tuple[ModelEdit, list[Change]]:
        """After a 412: re-apply only the fields the user changed onto the fresh model,
        and say what moved underneath."""
        underneath = changed_underneath(self.base, fresh)
        mine = self.base_draft
        draft = ModelDraft.from_scale_set(fresh)
        if self.draft.image != mine.image:
            draft = replace(draft, image=self.draft.image)
        if self.draft.capacity != mine.capacity:
            draft = replace(draft, capacity=self.draft.capacity)
        return ModelEdit(base=fresh, draft=draft, previous=self.previous), underneath


_IGNORED = {"provisioningState", "timeCreated", "etag"}


def changed_underneath(before: ScaleSet, after: ScaleSet, *, limit: int = 20) -> list[Change]:
    """What someone else changed between two reads of the model (shown after a 412)."""
    changes: list[Change] = []
    if before.etag != after.etag:
        changes.append(Change("etag", before.etag, after.etag))
    _walk(before.raw.get("sku"), after.raw.get("sku"), "sku", changes)
    _walk(before.raw.get("properties"), after.raw.get("properties"), "properties", changes)
    _walk(before.raw.get("tags"), after.raw.get("tags"), "tags", changes)
    return changes[:limit]


def _walk(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key in _IGNORED:
                continue
            _walk(old.get(key), new.get(key), f"{path}.{key}", out)
    elif old != new:
        out.append(Change(path, old, new))
