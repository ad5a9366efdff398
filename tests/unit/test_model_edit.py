"""Model edits: image forms, validation messages, the diff, the minimal PATCH, revert, 412."""

from __future__ import annotations

import pytest

from tests.factories import scale_set
from vmssdash.core.model_edit import (
    ImageKind,
    ImageSpec,
    ModelDraft,
    ModelEdit,
    build_patch,
    changed_underneath,
    diff,
    validate,
)

GALLERY = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Compute/galleries/gal/images/web/versions/1.2.3"
)
MANAGED = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Compute/images/golden"
)


def test_detects_every_image_form() -> None:
    assert ImageSpec.from_scale_set(scale_set()).kind is ImageKind.PLATFORM
    assert ImageSpec.from_scale_set(scale_set(image={"id": GALLERY})).kind is ImageKind.GALLERY
    assert (
        ImageSpec.from_scale_set(scale_set(image={"id": MANAGED})).kind is ImageKind.MANAGED_IMAGE
    )
    shared = scale_set(image={"sharedGalleryImageId": "/SharedGalleries/x/Images/y/Versions/1.0.0"})
    assert ImageSpec.from_scale_set(shared).kind is ImageKind.SHARED_GALLERY
    community = scale_set(image={"communityGalleryImageId": "/CommunityGalleries/c/Images/y"})
    assert ImageSpec.from_scale_set(community).kind is ImageKind.COMMUNITY_GALLERY
    vhd = scale_set(
        os_disk={
            "createOption": "FromImage",
            "image": {"uri": "https://a.blob.core.windows.net/c/x.vhd"},
        }
    )
    spec = ImageSpec.from_scale_set(vhd)
    assert spec.kind is ImageKind.VHD
    assert spec.uri.endswith("x.vhd")


@pytest.mark.parametrize("version", ["latest", "Latest", "24.04.202611010", "1.0.0"])
def test_valid_versions(version: str) -> None:
    draft = ModelDraft.from_scale_set(scale_set()).with_version(version)
    assert validate(draft) == []


@pytest.mark.parametrize("version", ["24.04", "v1.2.3", "1.2.3.4", "", "24.04.x", "1.2.3-bad"])
def test_invalid_versions_are_refused_with_a_clear_message(version: str) -> None:
    problems = validate(ModelDraft.from_scale_set(scale_set()).with_version(version))
    assert [p.field for p in problems] == ["version"]
    assert "latest" in problems[0].message


def test_a_version_the_server_listed_is_accepted_even_if_unusual() -> None:
    draft = ModelDraft.from_scale_set(scale_set()).with_version("24.04.202611990-bad")
    assert validate(draft, known_versions=["24.04.202611990-bad"]) == []


def test_arm_id_shapes() -> None:
    base = ModelDraft.from_scale_set(scale_set())
    ok = ModelDraft(ImageSpec.from_id(GALLERY), base.capacity)
    assert validate(ok) == []
    assert validate(ModelDraft(ImageSpec.from_id(MANAGED), 3)) == []
    truncated = GALLERY.replace("/galleries/gal/images/web/versions/1.2.3", "/galleries/gal")
    problems = validate(ModelDraft(ImageSpec(ImageKind.GALLERY, id=truncated), 3))
    assert problems and "expected" in problems[0].message
    bad_sub = MANAGED.replace("00000000-0000-0000-0000-000000000000", "not-a-guid")
    assert validate(ModelDraft(ImageSpec.from_id(bad_sub), 3))[0].field == "id"


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://a.blob.core.windows.net/c/x.vhd", "https"),
        ("https:///c/x.vhd", "host"),
        ("https://a.blob.core.windows.net/", "blob"),
        ("https://a.blob.core.windows.net/c/x.txt", ".vhd"),
    ],
)
def test_vhd_uri_validation(uri: str, fragment: str) -> None:
    problems = validate(ModelDraft(ImageSpec.vhd(uri), 2))
    assert problems and fragment in problems[0].message


def test_capacity_bounds() -> None:
    base = ModelDraft.from_scale_set(scale_set())
    assert validate(base.with_capacity(-1))[0].field == "capacity"
    assert validate(base.with_capacity(1001))[0].field == "capacity"
    assert validate(base.with_capacity(1000)) == []


def test_version_change_diff_and_minimal_patch() -> None:
    base = ModelDraft.from_scale_set(scale_set())
    new = base.with_version("24.04.202611010")
    changes = diff(base, new)
    assert [c.path for c in changes] == ["imageReference.version"]
    assert str(changes[0]) == "imageReference.version: 24.04.202601010 → 24.04.202611010"
    patch = build_patch(base, new)
    assert patch == {
        "properties": {
            "virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": {
                        "publisher": "Canonical",
                        "offer": "ubuntu-24_04-lts",
                        "sku": "server",
                        "version": "24.04.202611010",
                    }
                }
            }
        }
    }
    assert "sku" not in patch


def test_capacity_only_patch_and_no_op() -> None:
    base = ModelDraft.from_scale_set(scale_set(capacity=10))
    assert build_patch(base, base.with_capacity(12)) == {"sku": {"capacity": 12}}
    assert diff(base, base.with_capacity(12))[0].path == "sku.capacity"
    assert build_patch(base, base) == {}
    assert diff(base, base) == []


def test_switching_form_nulls_the_old_keys() -> None:
    base = ModelDraft.from_scale_set(scale_set())
    new = ModelDraft(ImageSpec.from_id(GALLERY), base.capacity)
    ref = build_patch(base, new)["properties"]["virtualMachineProfile"]["storageProfile"][
        "imageReference"
    ]
    assert ref["id"] == GALLERY
    assert ref["publisher"] is None and ref["version"] is None
    paths = [c.path for c in diff(base, new)]
    assert paths[0] == "image form"
    assert "imageReference.id" in paths and "imageReference.version" in paths


def test_switching_to_vhd_drops_the_image_reference() -> None:
    base = ModelDraft.from_scale_set(scale_set())
    new = ModelDraft(ImageSpec.vhd("https://a.blob.core.windows.net/c/x.vhd"), base.capacity)
    storage = build_patch(base, new)["properties"]["virtualMachineProfile"]["storageProfile"]
    assert storage == {
        "osDisk": {"image": {"uri": "https://a.blob.core.windows.net/c/x.vhd"}},
        "imageReference": None,
    }


def test_apply_then_revert_restores_the_previous_draft() -> None:
    before = scale_set(etag='"1"')
    edit = ModelEdit.start(before)
    edit.draft = edit.draft.with_version("24.04.202611010").with_capacity(12)
    assert len(edit.changes()) == 2
    after = scale_set(
        etag='"2"',
        capacity=12,
        image={
            "publisher": "Canonical",
            "offer": "ubuntu-24_04-lts",
            "sku": "server",
            "version": "24.04.202611010",
        },
    )
    applied = edit.applied(after)
    assert applied.changes() == []
    back = applied.revert()
    assert back is not None
    assert {c.path for c in back.changes()} == {"imageReference.version", "sku.capacity"}
    assert back.patch()["sku"] == {"capacity": 10}
    assert ModelEdit.start(before).revert() is None


def test_412_rebase_lists_what_changed_underneath_and_keeps_the_draft() -> None:
    before = scale_set(etag='"1"', capacity=10)
    edit = ModelEdit.start(before)
    edit.draft = edit.draft.with_version("24.04.202611010")
    theirs = scale_set(etag='"2"', capacity=15)
    rebased, underneath = edit.rebased(theirs)
    assert {c.path for c in underneath} == {"etag", "sku.capacity"}
    assert rebased.draft.image.version == "24.04.202611010"
    # Only what the user changed is re-applied; their capacity 15 is kept.
    assert [c.path for c in rebased.changes()] == ["imageReference.version"]
    assert changed_underneath(before, before) == []


def test_warnings_follow_the_upgrade_mode() -> None:
    for mode, word in (
        ("Automatic", "all at once"),
        ("Rolling", "batches"),
        ("Manual", "until you upgrade"),
    ):
        edit = ModelEdit.start(scale_set(mode=mode))
        edit.draft = edit.draft.with_version("latest")
        notes = " ".join(edit.warnings())
        assert word in notes
        assert "latest" in notes


def test_a_model_without_any_image_does_not_crash() -> None:
    ss = scale_set(os_disk={"createOption": "Attach"})
    spec = ImageSpec.from_scale_set(ss)
    assert spec.kind is ImageKind.NONE
    assert validate(ModelDraft(spec, 1))[0].field == "image"


@pytest.mark.parametrize(
    ("current", "new", "downgrade"),
    [
        ("24.04.202612010", "24.04.202611150", True),
        ("24.04.202611150", "24.04.202612010", False),
        ("1.10.0", "1.9.0", True),  # numbers, not text: 1.9 is below 1.10
        ("1.9.0", "1.10.0", False),
        ("24.04.202612010", "latest", False),
        ("latest", "24.04.202611150", False),
        ("24.04.202612010", "24.04.202612010", False),
    ],
)
def test_a_version_below_the_current_one_is_a_downgrade(
    current: str, new: str, downgrade: bool
) -> None:
    edit = ModelEdit.start(scale_set(version=current))
    edit.draft = edit.draft.with_version(new)
    warning = edit.downgrade()
    assert (warning is not None) is downgrade
    if downgrade:
        assert warning is not None and new in warning and current in warning
        assert warning in edit.warnings()


def test_a_gallery_version_below_the_current_one_is_a_downgrade_another_image_is_not() -> None:
    edit = ModelEdit.start(scale_set(image={"id": GALLERY}))
    edit.draft = ModelDraft(ImageSpec.from_id(GALLERY.replace("1.2.3", "1.2.0")), 10)
    assert edit.downgrade() is not None
    other = GALLERY.replace("/images/web/", "/images/api/").replace("1.2.3", "1.0.0")
    edit.draft = ModelDraft(ImageSpec.from_id(other), 10)
    assert edit.downgrade() is None
