"""msal against the fake Entra authority over loopback TLS (a throw-away CA).

Covers the service principal with a secret and with a certificate, device code (one
``authorization_pending`` then success), silent use and refresh from the persisted cache,
early renewal before expiry, and the cache file's permissions.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.auth_helpers import (
    TENANT,
    RunningAuthority,
    fake_authority,
    msal_http_client,
    scrub_environment,
    self_signed_cert,
)
from vmssdash.azure.auth import (
    AuthError,
    ChainProvider,
    DeviceCodePrompt,
    build_token_provider,
    jwt_claims,
)
from vmssdash.azure.token_cache import PLAIN_NAME, TokenCacheStore
from vmssdash.sim.entra import DEVICE_GRANT
from vmssdash.sim.entra_oauth import ClientRegistration

CLIENT_ID = "aaaaaaaa-0000-0000-0000-000000000001"
SECRET = "s3cret-value-never-shown"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("VMSSDASH_PLAINTEXT_TOKEN_CACHE", "1")


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[RunningAuthority]:
    with fake_authority(tmp_path, clients={CLIENT_ID: ClientRegistration(secret=SECRET)}) as a:
        yield a


def _sp_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


async def test_client_secret_token_then_cache_then_forced_refresh(
    authority: RunningAuthority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _sp_env(monkeypatch, AZURE_CLIENT_SECRET=SECRET)
    http, guard = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "env", authority.cloud(), None, http_client=http, store=TokenCacheStore(tmp_path / "c")
    )
    token = await provider.get_token()
    claims = jwt_claims(token)
    assert claims["appid"] == CLIENT_ID
    assert claims["tid"] == TENANT
    assert claims["aud"] == "https://management.azure.com"
    assert provider.identity == f"sp {CLIENT_ID} (tenant {TENANT})"

    assert await provider.get_token() == token
    assert authority.entra.state.count(grant_type="client_credentials") == 1

    fresh = await provider.get_token(force_refresh=True)
    assert fresh != token
    assert authority.entra.state.count(grant_type="client_credentials") == 2
    assert guard.refused == []


async def test_nothing_secret_reaches_the_logs(
    authority: RunningAuthority,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _sp_env(monkeypatch, AZURE_CLIENT_SECRET=SECRET)
    http, _ = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "env", authority.cloud(), None, http_client=http, store=TokenCacheStore(tmp_path / "c")
    )
    token = await provider.get_token()
    await provider.get_token(force_refresh=True)
    prompts: list[DeviceCodePrompt] = []
    user = build_token_provider(
        "device-code",
        authority.cloud(),
        None,
        on_device_code=prompts.append,
        http_client=http,
        store=TokenCacheStore(tmp_path / "u"),
    )
    user_token = await user.get_token()
    assert caplog.records  # logging was on
    text = caplog.text
    for secret in (SECRET, token, user_token, prompts[0].user_code):
        assert secret not in text
    assert not [r for r in caplog.records if r.name.startswith("msal") and r.levelno < logging.INFO]


async def test_wrong_secret_is_one_clear_line_without_the_secret(
    authority: RunningAuthority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _sp_env(monkeypatch, AZURE_CLIENT_SECRET="wrong-" + SECRET)
    http, _ = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "env", authority.cloud(), None, http_client=http, store=TokenCacheStore(tmp_path / "c")
    )
    with pytest.raises(AuthError) as info:
        await provider.get_token()
    message = str(info.value)
    assert "invalid_client" in message
    assert "AADSTS7000215" in message
    assert SECRET not in message
    assert "\n" not in message


def _make_cert(path: Path) -> bytes:
    """An RSA service-principal certificate; the key in the traditional (PKCS#1) form."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_pem = self_signed_cert(key).public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path.write_bytes(key_pem + cert_pem)
    return cert_pem


async def test_certificate_assertion_is_verified_by_the_authority(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = tmp_path / "good.pem"
    other = tmp_path / "other.pem"
    registered = _make_cert(good)
    _make_cert(other)
    clients = {CLIENT_ID: ClientRegistration(certificate_pem=registered)}
    with fake_authority(tmp_path, clients=clients) as authority:
        _sp_env(monkeypatch, AZURE_CLIENT_CERTIFICATE_PATH=str(good))
        http, _ = msal_http_client(authority.ca_file)
        provider = build_token_provider(
            "env", authority.cloud(), None, http_client=http, store=TokenCacheStore(persist=False)
        )
        token = await provider.get_token()
        assert jwt_claims(token)["appid"] == CLIENT_ID

        # A certificate the app does not know is refused by the authority, not by us.
        monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(other))
        http2, _ = msal_http_client(authority.ca_file)
        provider2 = build_token_provider(
            "env", authority.cloud(), None, http_client=http2, store=TokenCacheStore(persist=False)
        )
        with pytest.raises(AuthError, match="AADSTS700027"):
            await provider2.get_token()


async def _device_sign_in(
    authority: RunningAuthority, cache_dir: Path
) -> tuple[str, list[DeviceCodePrompt], object]:
    prompts: list[DeviceCodePrompt] = []
    http, guard = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "device-code",
        authority.cloud(),
        None,
        on_device_code=prompts.append,
        http_client=http,
        store=TokenCacheStore(cache_dir),
    )
    token = await provider.get_token()
    assert guard.refused == []
    return token, prompts, provider


async def test_device_code_pending_then_success(
    authority: RunningAuthority, tmp_path: Path
) -> None:
    token, prompts, provider = await _device_sign_in(authority, tmp_path / "cache")
    [prompt] = prompts
    assert prompt.user_code and prompt.user_code in prompt.message
    assert prompt.verification_uri.startswith(authority.base_url)
    polls = [r for r in authority.entra.state.requests if r.get("grant_type") == DEVICE_GRANT]
    assert len(polls) == 2  # authorization_pending, then the token
    claims = jwt_claims(token)
    assert claims["upn"] == "engineer@contoso.example"
    assert provider.identity == f"engineer@contoso.example (tenant {TENANT})"  # type: ignore[attr-defined]


async def test_silent_sign_in_from_persisted_cache_and_refresh_token(
    authority: RunningAuthority, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    first, _, _ = await _device_sign_in(authority, cache_dir)
    before = len(authority.entra.state.requests)

    # A new process: the cache on disk is all it has.
    http, guard = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "cache", authority.cloud(), None, http_client=http, store=TokenCacheStore(cache_dir)
    )
    assert await provider.get_token() == first
    token_calls = [r for r in authority.entra.state.requests[before:] if r["endpoint"] == "token"]
    assert token_calls == []

    refreshed = await provider.get_token(force_refresh=True)
    assert refreshed != first
    assert authority.entra.state.count(grant_type="refresh_token") == 1
    assert provider.identity.startswith("engineer@contoso.example")
    assert guard.refused == []


async def test_cache_mode_without_sign_in_says_how_to_sign_in(
    authority: RunningAuthority, tmp_path: Path
) -> None:
    http, _ = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "cache", authority.cloud(), None, http_client=http, store=TokenCacheStore(tmp_path / "c")
    )
    with pytest.raises(AuthError, match="device-code"):
        await provider.get_token()
    assert authority.entra.state.requests == []  # an empty cache needs no network at all


async def test_token_is_renewed_before_it_expires(
    authority: RunningAuthority, tmp_path: Path
) -> None:
    now = [1_000_000.0]
    http, _ = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "device-code",
        authority.cloud(),
        None,
        on_device_code=lambda p: None,
        http_client=http,
        store=TokenCacheStore(tmp_path / "c"),
        clock=lambda: now[0],
    )
    first = await provider.get_token()
    now[0] += 3599 - 600  # ten minutes left: still reused
    assert await provider.get_token() == first
    now[0] += 400  # under five minutes left: renewed with the refresh token
    second = await provider.get_token()
    assert second != first
    assert authority.entra.state.count(grant_type="refresh_token") == 1


async def test_cache_file_is_0600_in_a_0700_directory(
    authority: RunningAuthority, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "state" / "auth"
    await _device_sign_in(authority, cache_dir)
    path = cache_dir / PLAIN_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert "refresh_token" not in path.read_text() or "RefreshToken" in path.read_text()


def test_loose_cache_permissions_are_tightened(tmp_path: Path) -> None:
    cache_dir = tmp_path / "auth"
    cache_dir.mkdir(mode=0o755)
    os.chmod(cache_dir, 0o755)
    path = cache_dir / PLAIN_NAME
    path.write_text("{}")
    os.chmod(path, 0o644)
    store = TokenCacheStore(cache_dir)
    assert store.status == "plaintext 0600"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


async def test_auto_uses_the_environment_principal_first(
    authority: RunningAuthority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _sp_env(monkeypatch, AZURE_CLIENT_SECRET=SECRET)
    http, _ = msal_http_client(authority.ca_file)
    provider = build_token_provider(
        "auto", authority.cloud(), None, http_client=http, store=TokenCacheStore(tmp_path / "c")
    )
    assert isinstance(provider, ChainProvider)
    assert provider.identity == "not signed in yet"
    await provider.get_token()
    assert provider.chosen_name == "environment"
    assert provider.identity.startswith(f"sp {CLIENT_ID}")
