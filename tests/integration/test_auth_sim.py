"""End to end through the simulator over https: its own CA (``vmssdash.sim.tls``), its
mounted fake Entra authority, a custom cloud from a config file, and the production
wiring (no injected HTTP client) from settings to an ARM call with a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import SUB
from tests.integration.auth_helpers import scrub_environment
from tests.plugins.sim import serve_tls
from vmssdash.azure.auth import DeviceCodePrompt, build_token_provider, jwt_claims
from vmssdash.azure.client import ArmClient
from vmssdash.azure.clouds import get_cloud
from vmssdash.azure.errors import AuthFailedError
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.azure.tokens import NoAuth
from vmssdash.config import load_settings
from vmssdash.sim.app import create_app
from vmssdash.sim.server import RunningServer

TENANT = "72f988bf-0000-0000-0000-000000000001"
VMSS = f"/subscriptions/{SUB}/resourceGroups/vmssdash-demo/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-small"


@pytest.fixture
def tls_sim(tmp_path: Path) -> Iterator[tuple[RunningServer, Path]]:
    with serve_tls(
        create_app("small", manual_clock=True, require_auth=True), tmp_path / "tls"
    ) as served:
        yield served


@pytest.fixture
def settings_file(
    tls_sim: tuple[RunningServer, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    scrub_environment(monkeypatch, tmp_path)
    server, ca = tls_sim
    path = tmp_path / "config.toml"
    path.write_text(
        f'cloud = "custom"\ntenant_id = "{TENANT}"\n'
        f'[custom_cloud]\nname = "simulator"\nauthority_host = "{server.base_url}"\n'
        f'arm_endpoint = "{server.base_url}"\n'
        'arm_scope = "https://management.azure.com/.default"\n'
        f'ca_file = "{ca}"\n'
    )
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    return path


async def _get_scale_set(provider: Any, settings: Any) -> str:
    cloud = get_cloud(settings.cloud, settings)
    async with ArmClient(
        cloud.arm_endpoint, token_provider=provider, verify=str(cloud.ca_file)
    ) as client:
        scale_set = await ScaleSetApi(client, VMSS).get()
    return scale_set.name


async def test_service_principal_from_env_against_the_simulator(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "bbbbbbbb-0000-0000-0000-000000000002")
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "simulator-accepts-any-secret")
    settings = load_settings({})
    provider = build_token_provider("auto", get_cloud(settings.cloud, settings), settings)
    assert await _get_scale_set(provider, settings) == "vmss-small"
    token = await provider.get_token()
    assert jwt_claims(token)["tid"] == TENANT
    assert provider.identity == f"sp bbbbbbbb-0000-0000-0000-000000000002 (tenant {TENANT})"


async def test_the_simulator_really_demands_the_token(settings_file: Path) -> None:
    settings = load_settings({})
    with pytest.raises(AuthFailedError):
        await _get_scale_set(NoAuth(), settings)


async def test_device_code_against_the_simulator(settings_file: Path) -> None:
    settings = load_settings({"auth": "device-code"})
    prompts: list[DeviceCodePrompt] = []
    provider = build_token_provider(
        settings.auth, get_cloud(settings.cloud, settings), settings, on_device_code=prompts.append
    )
    assert await _get_scale_set(provider, settings) == "vmss-small"
    assert len(prompts) == 1
    assert provider.identity == f"engineer@contoso.example (tenant {TENANT})"
