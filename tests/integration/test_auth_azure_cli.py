"""Reusing ``az login`` with a fake ``az`` first on PATH (a real one would contact Entra ID).

The fake records its argv, so the tests can also prove the call is made without a shell,
with the cloud-correct ``--resource``, and only once per token lifetime.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from pathlib import Path

import msal
import pytest

from tests.integration.auth_helpers import scrub_environment
from vmssdash.azure import auth
from vmssdash.azure.auth import (
    AuthError,
    ChainProvider,
    CredentialUnavailableError,
    build_token_provider,
)
from vmssdash.azure.clouds import get_cloud

TENANT = "72f988bf-0000-4000-8000-000000000001"

FAKE_AZ = r"""#!{python}
import json, os, sys, time, base64
log = os.environ["FAKE_AZ_LOG"]
with open(log, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\n")
mode = os.environ.get("FAKE_AZ_MODE", "ok")
def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
if mode == "ok" or mode == "legacy":
    n = sum(1 for _ in open(log))
    claims = {{"upn": "alice@contoso.example", "tid": "{tenant}", "scp": "user_impersonation", "n": n}}
    token = b64({{"alg": "none"}}) + "." + b64(claims) + "."
    exp = int(time.time()) + 3600
    out = {{"accessToken": token, "tokenType": "Bearer", "tenant": "{tenant}",
           "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(exp))}}
    if mode == "ok":
        out["expires_on"] = exp
    print(json.dumps(out))
elif mode == "stale":
    print(json.dumps({{"accessToken": "x.y.z", "expires_on": int(time.time()) - 60}}))
elif mode == "not-logged-in":
    sys.stderr.write("ERROR: Please run 'az login' to setup account.\n")
    sys.exit(1)
elif mode == "expired":
    sys.stderr.write("ERROR: AADSTS700082: The refresh token has expired due to inactivity. "
                     "Trace ID: 1\nRun the command below to authenticate interactively; "
                     "additional arguments may be added as needed:\naz logout\naz login\n")
    sys.exit(1)
elif mode == "leaky":
    sys.stderr.write('ERROR: weird failure {{"accessToken": "SECRET-TOKEN-VALUE", "x": 1}}\n')
    sys.exit(2)
elif mode == "missing":
    sys.exit(127)
"""


@pytest.fixture
def fake_az(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    scrub_environment(monkeypatch, tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "az"
    script.write_text(FAKE_AZ.format(python=sys.executable, tenant=TENANT))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "az-calls.jsonl"
    monkeypatch.setenv("FAKE_AZ_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def _calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


async def test_logged_in_token_identity_and_reuse(
    fake_az: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = build_token_provider("cli", get_cloud("AzureCloud"), None)
    token = await provider.get_token()
    assert provider.identity == f"alice@contoso.example (tenant {TENANT})"
    assert await provider.get_token() == token
    [argv] = _calls(fake_az)
    assert argv == [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        "https://management.azure.com",
    ]
    again = await provider.get_token(force_refresh=True)
    assert again != token
    assert len(_calls(fake_az)) == 2


async def test_resource_follows_the_cloud(fake_az: Path) -> None:
    provider = build_token_provider("cli", get_cloud("AzureUSGovernment"), None)
    await provider.get_token()
    [argv] = _calls(fake_az)
    assert argv[argv.index("--resource") + 1] == "https://management.core.usgovcloudapi.net"


async def test_legacy_expires_on_is_parsed(fake_az: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AZ_MODE", "legacy")
    provider = build_token_provider("cli", get_cloud("AzureCloud"), None)
    await provider.get_token()
    assert isinstance(provider, auth.AzureCliProvider)
    assert provider.expires_on is not None
    assert abs(provider.expires_on - (time.time() + 3600)) < 120


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("not-logged-in", "not logged in: run `az login`"),
        ("expired", "expired (AADSTS700082): run `az login` again"),
        ("missing", "not installed"),
        ("stale", "expired"),
    ],
)
async def test_unusable_login_is_a_clear_line(
    fake_az: Path, monkeypatch: pytest.MonkeyPatch, mode: str, expected: str
) -> None:
    monkeypatch.setenv("FAKE_AZ_MODE", mode)
    provider = build_token_provider("cli", get_cloud("AzureCloud"), None)
    with pytest.raises(CredentialUnavailableError) as info:
        await provider.get_token()
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


async def test_not_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    provider = build_token_provider("cli", get_cloud("AzureCloud"), None)
    with pytest.raises(CredentialUnavailableError, match="not installed"):
        await provider.get_token()


async def test_other_failures_hide_tokens_from_stderr(
    fake_az: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_AZ_MODE", "leaky")
    provider = build_token_provider("cli", get_cloud("AzureCloud"), None)
    with pytest.raises(AuthError) as info:
        await provider.get_token()
    assert not isinstance(info.value, CredentialUnavailableError)
    assert "SECRET-TOKEN-VALUE" not in str(info.value)
    assert "Azure CLI failed" in str(info.value)


async def test_auto_picks_the_cli_and_never_probes_managed_identity(
    fake_az: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("managed identity must not be probed under tests")

    monkeypatch.setattr(auth.chain, "ManagedIdentityProvider", forbidden)
    monkeypatch.setattr(msal, "ManagedIdentityClient", forbidden)
    provider = build_token_provider("auto", get_cloud("AzureCloud"), None)
    assert isinstance(provider, ChainProvider)
    await provider.get_token()
    assert provider.chosen_name == "Azure CLI"
    assert provider.skipped and provider.skipped[0].startswith("environment:")
    claims_b64 = (await provider.get_token()).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4)))
    assert claims["upn"] == "alice@contoso.example"
