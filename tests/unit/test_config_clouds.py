"""Clouds: the three public ones, a custom one from config, and AZURE_AUTHORITY_HOST."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.auth_helpers import scrub_environment
from vmssdash.azure.clouds import CloudError, get_cloud
from vmssdash.config import load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


@pytest.mark.parametrize(
    ("name", "authority", "resource"),
    [
        ("AzureCloud", "https://login.microsoftonline.com", "https://management.azure.com"),
        (
            "azure_china_cloud",
            "https://login.chinacloudapi.cn",
            "https://management.chinacloudapi.cn",
        ),
        (
            "AzureUSGovernment",
            "https://login.microsoftonline.us",
            "https://management.core.usgovcloudapi.net",
        ),
    ],
)
def test_known_clouds(name: str, authority: str, resource: str) -> None:
    cloud = get_cloud(name)
    assert cloud.authority_host == authority
    assert cloud.arm_resource == resource
    assert cloud.arm_scope == resource + "/.default"
    assert cloud.instance_discovery is False
    assert cloud.authority("t-1") == f"{authority}/t-1"


def test_sdk_cloud_conf_and_authority_host_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SDK_CLOUD_CONF", "AZURE_US_GOVERNMENT")
    assert get_cloud(None).name == "AzureUSGovernment"
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "login.example.test/")
    assert get_cloud("AzureCloud").authority_host == "https://login.example.test"
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "http://login.example.test")
    with pytest.raises(CloudError, match="must be an https URL"):
        get_cloud("AzureCloud")


def test_custom_cloud_from_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'cloud = "custom"\n[custom_cloud]\nauthority_host = "https://127.0.0.1:8443"\n'
        'arm_endpoint = "https://127.0.0.1:8765/"\narm_scope = "https://management.azure.com/.default"\n'
        f'ca_file = "{tmp_path / "ca.pem"}"\n'
    )
    settings = load_settings({}, path=path)
    cloud = get_cloud(settings.cloud, settings)
    assert cloud.name == "custom"
    assert cloud.authority_host == "https://127.0.0.1:8443"
    assert cloud.arm_endpoint == "https://127.0.0.1:8765"
    assert cloud.validate_authority is False
    assert cloud.ca_file == str(tmp_path / "ca.pem")


def test_unknown_and_unconfigured_clouds_are_config_errors() -> None:
    # CloudError lives in the azure layer (which imports nothing from vmssdash.config);
    # the commands catch it beside ConfigError.
    with pytest.raises(CloudError, match="unknown cloud 'AzureGermany'"):
        get_cloud("AzureGermany")
    with pytest.raises(CloudError, match=r"\[custom_cloud\]"):
        get_cloud("custom", load_settings({}))
