"""Azure clouds: where to sign in, where ARM lives and which audience its tokens need.

We keep our own table rather than msal's constants (msal renamed ``AZURE_CHINA`` in 1.36,
so importing it breaks across versions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

AUTHORITY_HOST_ENV = "AZURE_AUTHORITY_HOST"
SDK_CLOUD_ENV = "AZURE_SDK_CLOUD_CONF"


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str
    arm_endpoint: str
    arm_scope: str
    # Instance discovery asks login.microsoftonline.com about the authority. It is only
    # useful for alias lookup, and it must never run against a fake or private authority.
    instance_discovery: bool = False
    validate_authority: bool = True
    # CA bundle for the authority (a private cloud or the simulator's fake Entra over TLS).
    ca_file: str | None = None

    @property
    def arm_resource(self) -> str:
        """The resource form of the scope, for managed identity and ``az --resource``."""
        scope = self.arm_scope
        return scope[: -len("/.default")] if scope.endswith("/.default") else scope

    def authority(self, tenant: str) -> str:
        return f"{self.authority_host.rstrip('/')}/{tenant}"


AZURE_PUBLIC = Cloud(
    name="AzureCloud",
    authority_host="https://login.microsoftonline.com",
    arm_endpoint="https://management.azure.com",
    arm_scope="https://management.azure.com/.default",
)
AZURE_CHINA = Cloud(
    name="AzureChinaCloud",
    authority_host="https://login.chinacloudapi.cn",
    arm_endpoint="https://management.chinacloudapi.cn",
    arm_scope="https://management.chinacloudapi.cn/.default",
)
AZURE_US_GOVERNMENT = Cloud(
    name="AzureUSGovernment",
    authority_host="https://login.microsoftonline.us",
    arm_endpoint="https://management.usgovcloudapi.net",
    arm_scope="https://management.core.usgovcloudapi.net/.default",
)

KNOWN_CLOUDS: dict[str, Cloud] = {
    c.name: c for c in (AZURE_PUBLIC, AZURE_CHINA, AZURE_US_GOVERNMENT)
}

# Other spellings users bring from azure-core (AZURE_SDK_CLOUD_CONF) and habit.
_ALIASES = {
    "azurecloud": "AzureCloud",
    "azure_public_cloud": "AzureCloud",
    "public": "AzureCloud",
    "azurechinacloud": "AzureChinaCloud",
    "azure_china_cloud": "AzureChinaCloud",
    "china": "AzureChinaCloud",
    "azureusgovernment": "AzureUSGovernment",
    "azure_us_government": "AzureUSGovernment",
    "usgov": "AzureUSGovernment",
}


class CloudError(ValueError):
    """A cloud name or endpoint that cannot be used; ``str()`` is one line for the user.

    Defined here, not in ``vmssdash.config``: the azure layer imports nothing above it
    (the commands catch it next to ``ConfigError``)."""


def normalize_authority_host(value: str) -> str:
    """Add ``https://`` when no scheme is given and refuse anything else, like azure-identity."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise CloudError(f"authority host must be an https URL, got {value!r}")
    return value


def _custom_from(config: Any) -> Cloud | None:
    custom = getattr(config, "custom_cloud", None) if config is not None else None
    if custom is None:
        return None
    return Cloud(
        name=str(getattr(custom, "name", None) or "custom"),
        authority_host=normalize_authority_host(str(custom.authority_host)),
        arm_endpoint=str(custom.arm_endpoint).rstrip("/"),
        arm_scope=str(custom.arm_scope),
        instance_discovery=bool(getattr(custom, "instance_discovery", False)),
        # A deliberately configured private authority is not one msal knows; validating
        # it would need the public discovery endpoint.
        validate_authority=False,
        ca_file=str(custom.ca_file) if getattr(custom, "ca_file", None) else None,
    )


def get_cloud(name: str | None = None, config: Any = None) -> Cloud:
    """Resolve a cloud by name (``custom`` reads ``config.custom_cloud``).

    With no name, ``AZURE_SDK_CLOUD_CONF`` is consulted, then the public cloud is used.
    ``AZURE_AUTHORITY_HOST`` overrides the authority host of whichever cloud results.
    """
    if not name:
        name = os.environ.get(SDK_CLOUD_ENV) or "AzureCloud"
    key = name.strip()
    cloud: Cloud | None
    if key.lower() == "custom" or (
        config is not None
        and getattr(getattr(config, "custom_cloud", None), "name", None) == key
        and key not in KNOWN_CLOUDS
    ):
        cloud = _custom_from(config)
        if cloud is None:
            raise CloudError("cloud 'custom' needs a [custom_cloud] section in the config file")
    else:
        canonical = _ALIASES.get(key.lower(), key)
        cloud = KNOWN_CLOUDS.get(canonical)
        if cloud is None:
            names = ", ".join([*KNOWN_CLOUDS, "custom"])
            raise CloudError(f"unknown cloud {name!r} (known: {names})")
    override = os.environ.get(AUTHORITY_HOST_ENV)
    if override:
        cloud = replace(cloud, authority_host=normalize_authority_host(override))
    return cloud


def cloud_for_arm_endpoint(endpoint: str) -> Cloud | None:
    """The known cloud whose ARM host matches ``endpoint`` (used to sanity-check targets)."""
    host = urlsplit(endpoint).hostname
    for cloud in KNOWN_CLOUDS.values():
        if urlsplit(cloud.arm_endpoint).hostname == host:
            return cloud
    return None
