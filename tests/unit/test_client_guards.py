"""Read-only mode, host checks, 401 refresh, TLS options and the debug log."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from tests.unit.test_client__fakes import BASE, ENDPOINT, FakeArm, arm_error, js, make_client
from vmssdash.azure.client import ArmClient
from vmssdash.azure.debuglog import redact_headers, redact_url
from vmssdash.azure.errors import AuthFailedError, NotFoundError, ReadOnlyError, UntrustedHostError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.azure.tls import build_ssl_context
from vmssdash.azure.tokens import StaticToken
from vmssdash.azure.transport import GuardTransport

SS = {"id": BASE, "name": "vmss-web", "location": "westeurope", "etag": '"1"'}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_read_only_refuses_writes_before_any_byte(method: str) -> None:
    arm = FakeArm()
    token = StaticToken("t")
    async with make_client(arm, read_only=True, token_provider=token) as client:
        with pytest.raises(ReadOnlyError, match=f"refused to send {method}"):
            await client.request(method, BASE, json={})
    assert arm.requests == []
    assert token.calls == 0


async def test_read_only_blocks_every_scale_set_write_but_allows_reads() -> None:
    arm = FakeArm().on("GET", BASE, js(200, SS))
    async with make_client(arm, read_only=True) as client:
        api = ScaleSetApi(client, BASE)
        assert (await api.get()).name == "vmss-web"
        with pytest.raises(ReadOnlyError):
            await api.begin_manual_upgrade(["1"])
        with pytest.raises(ReadOnlyError):
            await api.update_model({"sku": {"capacity": 1}}, etag='"1"')
        with pytest.raises(ReadOnlyError):
            await api.begin_action("deallocate", ["1"])
        with pytest.raises(ReadOnlyError):
            await api.begin_rolling_upgrade()
    assert [r.method for r in arm.requests] == ["GET"]


async def test_read_only_is_enforced_in_the_transport_itself() -> None:
    """Even code that bypasses ArmClient.request cannot get a write out."""
    arm = FakeArm().on("GET", BASE, js(200, SS))
    async with make_client(arm, read_only=True) as client:
        with pytest.raises(ReadOnlyError):
            await client._http.post(ENDPOINT + BASE + "/restart", json={})
        assert (await client._http.get(ENDPOINT + BASE)).status_code == 200
        assert (
            await client._http.head(ENDPOINT + BASE)
        ).status_code == 404  # HEAD passes the guard
    assert [r.method for r in arm.requests] == ["GET", "HEAD"]


async def test_guard_transport_standalone() -> None:
    seen: list[httpx.Request] = []
    guard = GuardTransport(
        httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)),
        read_only=True,
        allowed_hosts={"127.0.0.1:8765"},
    )
    async with httpx.AsyncClient(transport=guard) as http:
        assert (await http.get("http://127.0.0.1:8765/x")).status_code == 200
        with pytest.raises(UntrustedHostError):
            await http.get("http://127.0.0.1:9999/x")
        with pytest.raises(ReadOnlyError):
            await http.patch("http://127.0.0.1:8765/x")
    assert len(seen) == 1


async def test_allowlist_refuses_other_hosts() -> None:
    arm = FakeArm().on("GET", BASE, js(200, SS))
    client = ArmClient(
        "https://other.example.test",
        transport=httpx.MockTransport(arm),
        allowed_hosts={"management.example.test"},
    )
    async with client:
        with pytest.raises(UntrustedHostError, match="not in the allowed hosts"):
            await client.get_json(BASE)
    assert arm.requests == []
    async with make_client(arm, allowed_hosts={"management.example.test"}) as ok:
        assert (await ok.get_json(BASE))["name"] == "vmss-web"


async def test_next_link_to_another_host_is_refused() -> None:
    arm = FakeArm().on(
        "GET",
        BASE + "/virtualMachines",
        js(200, {"value": [], "nextLink": "https://attacker.test/page2?api-version=1"}),
    )
    token = StaticToken("secret-token")
    async with make_client(arm, token_provider=token) as client:
        with pytest.raises(UntrustedHostError, match=r"attacker\.test"):
            await ScaleSetApi(client, BASE).list_vms()
    assert all(r.url.host == "management.example.test" for r in arm.requests)


async def test_next_link_with_default_port_is_same_origin() -> None:
    link = (
        "https://management.example.test:443"
        + BASE
        + "/virtualMachines?api-version=2026-04-01&$skiptoken=2"
    )
    arm = FakeArm().on(
        "GET",
        BASE + "/virtualMachines",
        lambda r: js(
            200,
            {"value": []} if r.url.params.get("$skiptoken") else {"value": [], "nextLink": link},
        ),
    )
    async with make_client(arm) as client:
        assert await ScaleSetApi(client, BASE).list_vms() == []
    assert len(arm.requests) == 2


async def test_repeated_next_link_stops() -> None:
    link = ENDPOINT + BASE + "/virtualMachines?api-version=2026-04-01&$skiptoken=same"
    arm = FakeArm().on("GET", BASE + "/virtualMachines", js(200, {"value": [], "nextLink": link}))
    async with make_client(arm) as client:
        with pytest.raises(Exception, match="repeated a nextLink"):
            await ScaleSetApi(client, BASE).list_vms()
    assert len(arm.requests) == 2


async def test_401_refreshes_token_once_and_retries() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        arm_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        ),
        js(200, SS),
    )
    token = StaticToken("old", refreshed="new")
    events: list[ClientEvent] = []
    async with make_client(arm, token_provider=token, events=events.append) as client:
        assert (await client.get_json(BASE))["name"] == "vmss-web"
    assert [r.headers["authorization"] for r in arm.requests] == ["Bearer old", "Bearer new"]
    assert token.forced == 1
    assert any(e.kind == "retry" and e.status == 401 for e in events)


async def test_second_401_is_auth_failed() -> None:
    arm = FakeArm().on(
        "POST",
        BASE + "/restart",
        arm_error(401, "InvalidAuthenticationToken", "The access token is invalid."),
    )
    token = StaticToken("old", refreshed="still-bad")
    async with make_client(arm, token_provider=token) as client:
        with pytest.raises(AuthFailedError, match="The access token is invalid"):
            await ScaleSetApi(client, BASE).begin_action("restart", ["1"])
    assert len(arm.requests) == 2 and token.forced == 1


async def test_403_is_auth_failed_without_refresh() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        arm_error(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/read'.",
        ),
    )
    token = StaticToken("t")
    async with make_client(arm, token_provider=token) as client:
        with pytest.raises(AuthFailedError, match="AuthorizationFailed"):
            await client.get_json(BASE)
    assert token.forced == 0 and len(arm.requests) == 1


async def test_token_provider_failure_is_auth_failed() -> None:
    class Broken:
        identity = "broken"

        async def get_token(self, *, force_refresh: bool = False) -> str:
            raise RuntimeError("AADSTS700082: refresh token expired")

    arm = FakeArm()
    async with make_client(arm, token_provider=Broken()) as client:
        with pytest.raises(AuthFailedError, match="AADSTS700082"):
            await client.get_json(BASE)
    assert arm.requests == []


def test_bad_endpoint_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an http"):
        ArmClient("ftp://x")


def test_custom_ca_bundle_builds_ssl_context(tmp_path: Path) -> None:
    ca = trustme.CA()
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    ctx = build_ssl_context(str(pem))
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert len(ctx.get_ca_certs()) == 1
    assert build_ssl_context(False) is False
    assert build_ssl_context(str(pem)) is ctx  # cached: the bundle is loaded once
    assert isinstance(build_ssl_context(True), ssl.SSLContext)
    client = ArmClient("https://127.0.0.1:1", verify=str(pem))  # constructs without warnings
    assert client.endpoint == "https://127.0.0.1:1"


def test_redaction_helpers() -> None:
    headers = redact_headers(
        [
            ("Authorization", "Bearer eyJhbGciOi.secret"),
            ("x-ms-request-id", "r1"),
            ("Cookie", "a=b"),
        ]
    )
    assert headers == [
        ("Authorization", "Bearer ***"),
        ("x-ms-request-id", "r1"),
        ("Cookie", "***"),
    ]
    url = redact_url("https://user:pw@h.test/x?api-version=1&sig=abc&code=xyz&$skiptoken=keep")
    assert "abc" not in url and "xyz" not in url and "pw" not in url
    assert "api-version=1" in url and "skiptoken=keep" in url


async def test_debug_log_records_calls_without_secrets(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "http.log"
    arm = FakeArm().on(
        "GET",
        BASE,
        js(200, SS, {"x-ms-request-id": "req-42", "x-ms-correlation-request-id": "corr-9"}),
    )
    async with make_client(
        arm, token_provider=StaticToken("super-secret-token"), debug_log=log
    ) as client:
        await client.get_json(BASE)
        with pytest.raises(NotFoundError):
            await client.get_json(BASE + "/missing")
    text = log.read_text()
    lines = text.splitlines()
    assert len(lines) == 2
    assert (
        "GET" in lines[0]
        and "200" in lines[0]
        and "request-id=req-42" in lines[0]
        and "correlation-id=corr-9" in lines[0]
    )
    assert " 404 " in lines[1]
    sent_id = arm.requests[0].headers["x-ms-client-request-id"]
    assert f"client-request-id={sent_id}" in lines[0]
    assert sent_id != arm.requests[1].headers["x-ms-client-request-id"]
    assert "super-secret-token" not in text
    assert "Bearer" not in text


async def test_stdlib_logging_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    arm = FakeArm().on("GET", BASE, js(200, SS))
    with caplog.at_level("DEBUG", logger="vmssdash.azure.http"):
        async with make_client(arm, token_provider=StaticToken("tok-123")) as client:
            await client.get_json(BASE, params={"sig": "s3cret"})
    text = caplog.text
    assert "GET" in text and "-> 200" in text
    assert "tok-123" not in text and "s3cret" not in text
