"""Shared by the auth tests (owner: AUTH): a TLS loopback fake authority and Rule-0 guards.

The fake Entra routes are served by uvicorn on 127.0.0.1 with the simulator's throw-away
CA (``tests.plugins.sim.serve_tls``), and msal talks to it through an httpx client that
trusts only that CA and refuses any host that is not loopback before a socket is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette

from tests.plugins.sim import serve_tls
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.sim.entra import FakeEntra

TENANT = "11111111-2222-3333-4444-555555555555"

# A cloud whose every host is on the reserved `.test` domain: msal talks to it only through
# an in-process or loopback client, and a stray request could not resolve anyway.
FAKE_CLOUD = Cloud(
    name="fake",
    authority_host="https://login.fake.test",
    arm_endpoint="https://management.fake.test",
    arm_scope="https://management.fake.test/.default",
    validate_authority=False,
)


def self_signed_cert(
    key: CertificateIssuerPrivateKeyTypes, common_name: str = "vmssdash-test"
) -> x509.Certificate:
    """A one-day self-signed certificate for ``key``: a service principal's credential."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


# Variables that could send msal or the chain somewhere real (auth.md, Rule 0.5).
_SCRUB = (
    "MSAL_FORCE_REGION",
    "REGION_NAME",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
)


def scrub_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name in _SCRUB or (
            (name.startswith("AZURE_") or name.startswith("VMSSDASH_"))
            and name != "VMSSDASH_DISABLE_MANAGED_IDENTITY"
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VMSSDASH_DISABLE_MANAGED_IDENTITY", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LoopbackOnlyTransport(httpx.BaseTransport):
    """Rule 0's allowlist: refuse before any DNS lookup or socket for a non-loopback host."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.refused: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not is_loopback_host(request.url.host):
            self.refused.append(str(request.url))
            raise httpx.ConnectError(
                f"refused non-loopback host {request.url.host}", request=request
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def in_process_client(app: Starlette) -> httpx.Client:
    """A sync httpx client whose requests go straight into the ASGI app: no sockets at all.

    msal calls it from a worker thread with no running loop, so each request gets its own.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.send(request)
                await response.aread()
                return response

        response = asyncio.run(call())
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )

    return httpx.Client(transport=httpx.MockTransport(handle))


def msal_http_client(ca_file: str | None) -> tuple[MsalHttpClient, LoopbackOnlyTransport]:
    verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
    transport = LoopbackOnlyTransport(httpx.HTTPTransport(verify=verify))
    return MsalHttpClient.create(transport=transport), transport


@dataclass
class RunningAuthority:
    base_url: str
    ca_file: str
    entra: FakeEntra

    def cloud(self) -> Cloud:
        return Cloud(
            name="fake",
            authority_host=self.base_url,
            arm_endpoint="https://127.0.0.1:1",
            arm_scope="https://management.azure.com/.default",
            instance_discovery=False,
            validate_authority=False,
            ca_file=self.ca_file,
        )


@contextlib.contextmanager
def fake_authority(tmp_path: Path, **kwargs: Any) -> Iterator[RunningAuthority]:
    entra = FakeEntra(**kwargs)
    app = Starlette(routes=entra.routes())
    with serve_tls(app, tmp_path / "authority-tls") as (server, ca_file):
        yield RunningAuthority(base_url=server.base_url, ca_file=str(ca_file), entra=entra)
