"""Managed identity against a loopback fake IMDS (msal >= 1.32 honours
AZURE_POD_IDENTITY_AUTHORITY_HOST). These are the only tests that switch the
VMSSDASH_DISABLE_MANAGED_IDENTITY guard off, and only with that loopback redirect set."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.integration.auth_helpers import scrub_environment
from vmssdash.azure.auth import (
    ChainProvider,
    CredentialUnavailableError,
    ManagedIdentityProvider,
    build_token_provider,
    jwt_claims,
)
from vmssdash.azure.clouds import get_cloud
from vmssdash.sim.entra import FakeEntra
from vmssdash.sim.server import serve_in_thread


@pytest.fixture
def imds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeEntra]:
    scrub_environment(monkeypatch, tmp_path)
    entra = FakeEntra()
    with serve_in_thread(Starlette(routes=entra.routes())) as server:
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.base_url)
        monkeypatch.delenv("VMSSDASH_DISABLE_MANAGED_IDENTITY")
        monkeypatch.setenv("PATH", str(tmp_path))  # no az
        yield entra


async def test_token_from_the_metadata_endpoint_is_reused(imds: FakeEntra) -> None:
    provider = ManagedIdentityProvider(get_cloud("AzureCloud"))
    token = await provider.get_token()
    assert jwt_claims(token)["aud"] == "https://management.azure.com"
    assert await provider.get_token() == token
    assert imds.state.count(endpoint="imds") == 1
    await provider.get_token(force_refresh=True)
    assert imds.state.count(endpoint="imds") == 2


async def test_auto_uses_managed_identity_before_the_cli(imds: FakeEntra) -> None:
    provider = build_token_provider("auto", get_cloud("AzureCloud"), None)
    assert isinstance(provider, ChainProvider)
    await provider.get_token()
    assert provider.chosen_name == "managed identity"
    assert provider.identity == "managed identity"


async def test_nothing_listening_means_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scrub_environment(monkeypatch, tmp_path)
    monkeypatch.delenv("VMSSDASH_DISABLE_MANAGED_IDENTITY")
    with socket.socket() as probe:  # a loopback port that is certainly closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{port}")
    provider = ManagedIdentityProvider(get_cloud("AzureCloud"))
    with pytest.raises(CredentialUnavailableError, match="no managed identity endpoint"):
        await provider.get_token()
