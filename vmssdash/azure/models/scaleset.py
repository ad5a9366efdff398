"""The scale set's model: its SKU, image, OS disk, profiles and upgrade policy.

``ScaleSet`` keeps the JSON it was read from (``RawModel``), so a model PUT or PATCH built
from it never drops the fields not modelled here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool, field_validator, model_validator

from vmssdash.azure.models.base import ArmModel, RawModel, first_text
from vmssdash.azure.models.durations import parse_duration


class Sku(ArmModel):
    name: str | None = None
    tier: str | None = None
    capacity: int | None = None


class ImageReference(ArmModel):
    """One of the image forms: platform (publisher/offer/sku/version), or an ``id``."""

    id: str | None = None
    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None
    version: str | None = None
    exact_version: str | None = None
    shared_gallery_image_id: str | None = None
    community_gallery_image_id: str | None = None


#: The fields of an image reference that name the image (``exactVersion`` is only what
#: ``latest`` resolved to), on the wire.
IMAGE_KEYS = (
    "id",
    "publisher",
    "offer",
    "sku",
    "version",
    "sharedGalleryImageId",
    "communityGalleryImageId",
)


class VirtualHardDisk(ArmModel):
    uri: str | None = None


class OsDisk(ArmModel):
    name: str | None = None
    create_option: str | None = None
    os_type: str | None = None
    image: VirtualHardDisk | None = None
    disk_size_gb: int | None = Field(default=None, alias="diskSizeGB")


class StorageProfile(ArmModel):
    image_reference: ImageReference | None = None
    os_disk: OsDisk | None = None


Percent = Annotated[int, Field(ge=0, le=100)]


class RollingUpgradePolicy(ArmModel):
    # Out-of-range percentages or an unreadable pause are refused at the edge (a typed
    # error naming the field), never turned into "upgrade everything at once" later.
    max_batch_instance_percent: Percent = 20
    max_unhealthy_instance_percent: Percent = 20
    max_unhealthy_upgraded_instance_percent: Percent = 20
    pause_time_between_batches: str = "PT0S"
    enable_cross_zone_upgrade: StrictBool | None = None
    prioritize_unhealthy_instances: StrictBool | None = None
    rollback_failed_instances_on_policy_breach: StrictBool | None = None
    max_surge: StrictBool | None = None

    @field_validator("pause_time_between_batches")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        parse_duration(value or "PT0S")
        return value

    @property
    def pause_seconds(self) -> float:
        """``pauseTimeBetweenBatches`` in seconds (ValueError when it is not ISO-8601)."""
        return parse_duration(self.pause_time_between_batches or "PT0S")


class AutomaticOSUpgradePolicy(ArmModel):
    enable_automatic_os_upgrade: StrictBool | None = Field(
        default=None, alias="enableAutomaticOSUpgrade"
    )
    disable_automatic_rollback: StrictBool | None = None


class UpgradePolicy(ArmModel):
    mode: str = "Manual"
    rolling_upgrade_policy: RollingUpgradePolicy | None = None
    automatic_os_upgrade_policy: AutomaticOSUpgradePolicy | None = Field(
        default=None, alias="automaticOSUpgradePolicy"
    )


class HardwareProfile(ArmModel):
    vm_size: str | None = None


class OsProfile(ArmModel):
    computer_name_prefix: str | None = None
    computer_name: str | None = None


class VirtualMachineProfile(ArmModel):
    storage_profile: StorageProfile | None = None
    os_profile: OsProfile | None = None
    hardware_profile: HardwareProfile | None = None


class ScaleSetProperties(ArmModel):
    upgrade_policy: UpgradePolicy | None = None
    virtual_machine_profile: VirtualMachineProfile | None = None
    provisioning_state: str | None = None
    overprovision: StrictBool | None = None
    single_placement_group: StrictBool | None = None
    platform_fault_domain_count: int | None = None
    orchestration_mode: str | None = None
    unique_id: str | None = None
    time_created: datetime | None = None


class ScaleSet(RawModel):
    # The spec marks id and name read-only (optional); the published minimum examples
    # omit them. ``ScaleSetApi`` fills them from the resource id it asked for.
    id: str = ""
    name: str = ""
    type: str | None = None
    location: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    sku: Sku | None = None
    zones: list[str] = Field(default_factory=list)
    etag: str | None = None
    properties: ScaleSetProperties = Field(default_factory=ScaleSetProperties)

    @model_validator(mode="before")
    @classmethod
    def _name_from_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not first_text(data, "name") and first_text(data, "id"):
            return {**data, "name": first_text(data, "id").rstrip("/").rsplit("/", 1)[-1]}
        return data

    @property
    def image_reference(self) -> ImageReference | None:
        vmp = self.properties.virtual_machine_profile
        sp = vmp.storage_profile if vmp else None
        return sp.image_reference if sp else None

    @property
    def os_disk_image_uri(self) -> str | None:
        vmp = self.properties.virtual_machine_profile
        sp = vmp.storage_profile if vmp else None
        disk = sp.os_disk if sp else None
        return disk.image.uri if disk and disk.image else None

    @property
    def upgrade_mode(self) -> str:
        up = self.properties.upgrade_policy
        return up.mode if up else "Manual"

    @property
    def capacity(self) -> int:
        return self.sku.capacity or 0 if self.sku else 0
