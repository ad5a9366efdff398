"""What ARM answers besides resources: errors, operation status, rolling-upgrade status
and list pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from vmssdash.azure.models.base import ArmModel
from vmssdash.azure.models.scaleset import RollingUpgradePolicy


class ErrorDetail(ArmModel):
    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ArmErrorBody(ArmModel):
    """ARM's error envelope ``{"error": {...}}``."""

    error: ErrorDetail


class OperationStatus(ArmModel):
    """The body served at an ``Azure-AsyncOperation`` URL."""

    name: str | None = None
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    error: ErrorDetail | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.lower() in {"succeeded", "failed", "canceled", "cancelled"}


class RollingUpgradeRunningStatus(ArmModel):
    code: str | None = None
    start_time: datetime | None = None
    last_action: str | None = None
    last_action_time: datetime | None = None


class RollingUpgradeProgress(ArmModel):
    successful_instance_count: int = 0
    failed_instance_count: int = 0
    in_progress_instance_count: int = 0
    pending_instance_count: int = 0


class RollingUpgradeStatusProperties(ArmModel):
    policy: RollingUpgradePolicy | None = None
    running_status: RollingUpgradeRunningStatus | None = None
    progress: RollingUpgradeProgress | None = None
    error: ErrorDetail | None = None


class RollingUpgradeStatus(ArmModel):
    """``rollingUpgrades/latest``."""

    type: str | None = None
    location: str | None = None
    properties: RollingUpgradeStatusProperties = Field(
        default_factory=RollingUpgradeStatusProperties
    )


class Page(ArmModel):
    """One page of any ARM list."""

    value: list[dict[str, Any]] = Field(default_factory=list)
    next_link: str | None = None
