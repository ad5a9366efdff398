"""Rule 0: no test run may open a connection to, or even resolve, a non-loopback host.

tests/conftest.py guards ``socket.connect``/``connect_ex`` and ``socket.getaddrinfo``.
These tests prove the guard refuses the metadata address, a public address and a real
Azure host name *before* the real call happens (the real functions are swapped for
recorders, so nothing could have been sent), that loopback still works, and that
managed-identity probing is off for the whole run.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from vmssdash.azure import auth
from vmssdash.azure.auth import ChainProvider, CredentialUnavailableError, build_token_provider
from vmssdash.azure.clouds import get_cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore


def _conftest() -> ModuleType:
    for module in list(sys.modules.values()):
        if getattr(module, "_guarded_connect", None) and getattr(module, "_real_connect", None):
            return module
    raise AssertionError("the socket guard from tests/conftest.py is not loaded")


@pytest.fixture
def recorders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Replace the *real* socket functions behind the guard: any call here means a leak."""
    module = _conftest()
    calls: list[tuple[str, Any]] = []
    real_connect = module._real_connect
    real_gai = module._real_getaddrinfo
    real_connect_ex = module._real_connect_ex

    def connect(sock: socket.socket, address: Any) -> Any:
        calls.append(("connect", address))
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        calls.append(("connect_ex", address))
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(("getaddrinfo", host))
        return real_gai(host, *args, **kwargs)

    monkeypatch.setattr(module, "_real_connect", connect)
    monkeypatch.setattr(module, "_real_connect_ex", connect_ex)
    monkeypatch.setattr(module, "_real_getaddrinfo", getaddrinfo)
    yield calls


@pytest.mark.parametrize(
    ("family", "address"),
    [
        (socket.AF_INET, ("169.254.169.254", 80)),  # instance metadata (managed identity)
        (socket.AF_INET, ("20.190.151.68", 443)),  # a public address (Entra ID's range)
        (socket.AF_INET, ("0.0.0.0", 80)),
        (socket.AF_INET6, ("2603:1006:2000::1", 443, 0, 0)),
    ],
)
def test_connect_to_non_loopback_is_refused_before_the_real_call(
    recorders: list[tuple[str, Any]], family: int, address: tuple[Any, ...]
) -> None:
    nonloop = _conftest().NonLoopbackConnection
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(nonloop, match="non-loopback"):
            sock.connect(address)
        with pytest.raises(nonloop, match="non-loopback"):
            sock.connect_ex(address)
    assert recorders == []


@pytest.mark.parametrize("host", ["login.microsoftonline.com", "management.azure.com", "x.test"])
def test_host_names_are_not_even_resolved(recorders: list[tuple[str, Any]], host: str) -> None:
    with pytest.raises(_conftest().NonLoopbackConnection, match="resolve"):
        socket.getaddrinfo(host, 443)
    assert recorders == []


def test_http_clients_cannot_reach_the_metadata_address(recorders: list[tuple[str, Any]]) -> None:
    with httpx.Client(trust_env=False) as client, pytest.raises(Exception, match="non-loopback"):
        client.get(
            "http://169.254.169.254/metadata/identity/oauth2/token", headers={"Metadata": "true"}
        )
    assert [c for c in recorders if c[0] == "connect"] == []


def test_loopback_still_connects(recorders: list[tuple[str, Any]]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = server.getsockname()
        with socket.create_connection(address) as client:
            assert client.getpeername() == address
    assert ("connect", address) in recorders


def test_managed_identity_probing_is_off_for_the_test_run(monkeypatch: pytest.MonkeyPatch) -> None:
    assert os.environ.get("VMSSDASH_DISABLE_MANAGED_IDENTITY") == "1"
    cloud = get_cloud("AzureCloud")
    with pytest.raises(CredentialUnavailableError, match="disabled"):
        auth.ManagedIdentityProvider(cloud)
    with pytest.raises(CredentialUnavailableError, match="disabled"):
        build_token_provider("managed-identity", cloud, None)
    chain = build_token_provider("auto", cloud, None)
    assert isinstance(chain, ChainProvider)
    names = [name for name, _ in chain._steps]
    assert "managed identity" not in names
    assert names[0] == "environment"


async def test_msal_for_the_public_cloud_cannot_leave_the_box(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorders: list[tuple[str, Any]]
) -> None:
    """Even a mis-wired test that builds a real-cloud provider is stopped at the guard."""
    monkeypatch.setenv("AZURE_CLIENT_ID", "aaaaaaaa-0000-0000-0000-000000000001")
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
    provider = build_token_provider(
        "env",
        get_cloud("AzureCloud"),
        None,
        http_client=MsalHttpClient.create(verify=True),
        store=TokenCacheStore(persist=False),
    )
    with pytest.raises(Exception, match=r"login\.microsoftonline\.com"):
        await provider.get_token()
    assert recorders == []


def test_no_host_named_by_the_recorded_azure_traffic_can_be_reached(
    recorders: list[tuple[str, Any]],
) -> None:
    """The recorded fixture names real ARM hosts: the guard refuses each before DNS."""
    from tests.unit.test_recorded_traffic import recorded_hosts

    hosts = recorded_hosts()
    assert hosts == {"management.azure.com"}
    for host in hosts:
        with pytest.raises(_conftest().NonLoopbackConnection):
            socket.getaddrinfo(host, 443)
        with pytest.raises(Exception, match=r"non-loopback|resolve"):
            httpx.get(f"https://{host}/subscriptions?api-version=2022-12-01", trust_env=False)
    assert recorders == []


@pytest.mark.parametrize(
    "attempt",
    [
        "socket.getaddrinfo('management.azure.com', 443)",
        "socket.getaddrinfo('login.microsoftonline.com', 443)",
        "socket.create_connection(('169.254.169.254', 80), timeout=5)",
    ],
)
def test_a_python_the_tests_start_cannot_leave_the_box_either(attempt: str) -> None:
    """``python -m vmssdash``, the simulator and the fake ``az`` run as children: the same
    guard is installed in them at start-up (``tests/loopback_site/sitecustomize.py``)."""
    import subprocess

    child = subprocess.run(
        [sys.executable, "-c", f"import socket\n{attempt}"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert child.returncode != 0
    assert "NonLoopbackConnection" in child.stderr, child.stderr
    assert "test tried to" in child.stderr


def test_a_child_can_still_use_loopback() -> None:
    import subprocess

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import socket; socket.create_connection(('127.0.0.1', {port}))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert child.returncode == 0, child.stderr
