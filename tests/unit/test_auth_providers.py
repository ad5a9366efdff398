"""Provider mechanics without sockets: the fake authority served in-process through
Starlette's TestClient (an httpx.Client), the chain's rules, certificates, az input checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from starlette.applications import Starlette

from tests.integration.auth_helpers import (
    FAKE_CLOUD,
    in_process_client,
    scrub_environment,
    self_signed_cert,
)
from vmssdash.azure import azure_cli
from vmssdash.azure.auth import (
    AccessToken,
    AuthError,
    CachingProvider,
    ChainProvider,
    CredentialUnavailableError,
    DeviceCodePrompt,
    UserProvider,
    jwt_claims,
    load_certificate,
)
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore
from vmssdash.sim.entra import FakeEntra
from vmssdash.sim.entra_oauth import unsigned_jwt


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


class _Counting(CachingProvider):
    def __init__(self, results: list[AccessToken | Exception]) -> None:
        super().__init__(clock=lambda: 1000.0)
        self.results = results
        self.forced: list[bool] = []

    async def _acquire(self, force_refresh: bool) -> AccessToken:
        self.forced.append(force_refresh)
        await asyncio.sleep(0)
        item = self.results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


async def test_concurrent_callers_share_one_acquisition() -> None:
    provider = _Counting([AccessToken("a", 5000.0)])
    tokens = await asyncio.gather(*(provider.get_token() for _ in range(5)))
    assert tokens == ["a"] * 5
    assert provider.acquisitions == 1


async def test_chain_moves_on_only_when_a_credential_is_unavailable() -> None:
    broken = _Counting([AuthError("invalid_client: bad secret")])
    chain = ChainProvider(
        [
            ("first", lambda: _Counting([CredentialUnavailableError("not configured")])),
            ("second", lambda: broken),
            ("third", lambda: _Counting([AccessToken("never", 5000.0)])),
        ]
    )
    with pytest.raises(AuthError, match="bad secret"):
        await chain.get_token()
    assert chain.chosen is None

    none_work = ChainProvider(
        [
            ("a", lambda: _Counting([CredentialUnavailableError("no a")])),
            ("b", lambda: _Counting([CredentialUnavailableError("no b")])),
        ]
    )
    with pytest.raises(CredentialUnavailableError) as info:
        await none_work.get_token()
    assert str(info.value) == "no credential worked; a: no a; b: no b"


async def test_device_code_can_be_cancelled_from_the_ui(tmp_path: Path) -> None:
    entra = FakeEntra(pending_polls=10**6)
    client = in_process_client(Starlette(routes=entra.routes()))
    prompts: list[DeviceCodePrompt] = []
    provider: UserProvider

    def on_prompt(prompt: DeviceCodePrompt) -> None:
        prompts.append(prompt)
        provider.cancel()  # what the TUI's Cancel button does, from another thread

    provider = UserProvider(
        FAKE_CLOUD,
        client_id="client-1",
        tenant_id="organizations",
        store=TokenCacheStore(persist=False),
        http_client=MsalHttpClient(client),
        interactive="device-code",
        on_device_code=on_prompt,
    )
    with pytest.raises(AuthError, match="cancelled"):
        await provider.get_token()
    assert len(prompts) == 1
    assert "https://login.fake.test/organizations/devicelogin" in prompts[0].message
    assert entra.state.count(endpoint="token") <= 2


def _key_and_cert(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> tuple[bytes, x509.Certificate]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, self_signed_cert(key, "t")


def test_certificate_forms(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem, cert = _key_and_cert(key)
    pem = tmp_path / "sp.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)  # cert first
    loaded = load_certificate(pem)
    assert loaded["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex()
    assert "PRIVATE KEY" in loaded["private_key"]

    pfx = tmp_path / "sp.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"sp", key, cert, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    assert load_certificate(pfx, "pw")["thumbprint"] == loaded["thumbprint"]
    with pytest.raises(AuthError, match="cannot load certificate"):
        load_certificate(pfx, "wrong")

    ec_pem, ec_cert = _key_and_cert(ec.generate_private_key(ec.SECP256R1()))
    ec_file = tmp_path / "ec.pem"
    ec_file.write_bytes(ec_pem + ec_cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(AuthError, match="only RSA"):
        load_certificate(ec_file)
    with pytest.raises(AuthError, match="cannot read certificate"):
        load_certificate(tmp_path / "missing.pem")


def test_jwt_claims_are_best_effort() -> None:
    assert jwt_claims(unsigned_jwt({"tid": "t", "upn": "u@x"})) == {"tid": "t", "upn": "u@x"}
    assert jwt_claims("not a jwt") == {}
    assert jwt_claims("a.!!!.c") == {}


def test_az_inputs_are_validated_before_any_process_runs() -> None:
    ran: list[list[str]] = []

    def runner(argv: object, env: object) -> azure_cli.CliResult:
        ran.append(list(argv))  # type: ignore[call-overload]
        return azure_cli.CliResult(0, '{"accessToken": "t", "expires_on": 9999999999}', "")

    for kwargs in (
        {"tenant": "evil --debug"},
        {"subscription": "x;rm"},
    ):
        with pytest.raises(azure_cli.AzureCliError, match="invalid"):
            azure_cli.get_access_token("https://management.azure.com", runner=runner, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(azure_cli.AzureCliError, match="invalid resource"):
        azure_cli.get_access_token("https://x/ --tenant y", runner=runner)
    assert ran == []
    token = azure_cli.get_access_token(
        "https://management.azure.com", tenant="contoso.onmicrosoft.com", runner=runner
    )
    assert token.token == "t"
    assert ran[0][-2:] == ["--tenant", "contoso.onmicrosoft.com"]
    assert ran[0][0] == "az"


def test_az_stderr_is_sanitised() -> None:
    text = 'boom {"accessToken": "eyJ0eXAi.secret.sig", "expiresOn": "x"}'
    assert "eyJ0eXAi" not in azure_cli.sanitize(text)
