"""Typed errors: the envelope, details, ids, and bodies that are not ARM errors at all."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.test_client__fakes import BASE, FakeArm, js, make_client
from vmssdash.azure.errors import (
    ArmError,
    AuthFailedError,
    BadResponseError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ThrottledError,
    error_from_response,
)
from vmssdash.azure.retry import RetryPolicy
from vmssdash.azure.scaleset import ScaleSetApi

HTML_502 = """<!DOCTYPE html><html><head><title>502 Bad Gateway</title>
<style>body{color:red}</style></head><body><h1>Bad Gateway</h1>
<p>The proxy server received an invalid response from an upstream server.</p></body></html>"""


def _resp(
    status: int, content: bytes | str, headers: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    request = httpx.Request(method, "https://management.example.test" + BASE)
    data = content.encode() if isinstance(content, str) else content
    return httpx.Response(status, content=data, headers=headers or {}, request=request)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthFailedError),
        (403, AuthFailedError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (429, ThrottledError),
        (400, ArmError),
        (500, ArmError),
    ],
)
def test_status_maps_to_type(status: int, cls: type[ArmError]) -> None:
    err = error_from_response(_resp(status, '{"error":{"code":"X","message":"m"}}'))
    assert type(err) is cls


def test_envelope_with_details_target_and_ids() -> None:
    body = (
        '{"error":{"code":"InvalidParameter","message":"The request URL is not valid.","target":"$skiptoken",'
        '"details":[{"code":"Inner","target":"t","message":"more"}],"innererror":{"exceptiontype":"x"}}}'
    )
    err = error_from_response(
        _resp(400, body, {"x-ms-request-id": "r-1", "x-ms-correlation-request-id": "c-1"})
    )
    assert (err.status, err.code, err.target) == (400, "InvalidParameter", "$skiptoken")
    assert err.details[0].code == "Inner" and err.details[0].message == "more"
    assert (err.request_id, err.correlation_id) == ("r-1", "c-1")
    assert (
        str(err)
        == "InvalidParameter (HTTP 400): The request URL is not valid. [details: Inner] [request id r-1]"
    )
    text = err.describe()
    assert (
        "x-ms-correlation-request-id: c-1" in text
        and "target: $skiptoken" in text
        and "Inner (t): more" in text
    )


def test_bare_compute_429_body_without_wrapper() -> None:
    body = '{"code":"OperationNotAllowed","message":"too many requests","details":[{"code":"TooManyRequests","target":"HighCostGet"}]}'
    err = error_from_response(_resp(429, body))
    assert isinstance(err, ThrottledError)
    assert err.code == "OperationNotAllowed" and err.details[0].target == "HighCostGet"


def test_html_gateway_page_gives_clear_error() -> None:
    err = error_from_response(_resp(502, HTML_502, {"content-type": "text/html"}))
    assert err.status == 502 and err.code is None
    text = str(err)
    assert text.startswith(
        "HTTP 502: Bad Gateway from management.example.test; the body is not an ARM error (text/html)"
    )
    assert "502 Bad Gateway" in text
    assert "<" not in text and "color:red" not in text


def test_json_but_not_an_envelope_and_empty_body() -> None:
    err = error_from_response(_resp(500, '["unexpected"]', {"content-type": "application/json"}))
    assert "not an ARM error" in str(err)
    empty = error_from_response(_resp(503, b""))
    assert "empty body" in str(empty) and empty.status == 503
    truncated = error_from_response(_resp(500, '{"error": {"code": "Internal'))
    assert "not an ARM error" in str(truncated)


def test_multiline_message_stays_one_line() -> None:
    err = error_from_response(
        _resp(409, '{"error":{"code":"Conflict","message":"line one\\r\\n  line two"}}')
    )
    assert str(err) == "Conflict (HTTP 409): line one line two"


async def test_html_502_through_the_client_after_retries() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        httpx.Response(502, content=HTML_502.encode(), headers={"content-type": "text/html"}),
    )
    async with make_client(arm, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ArmError, match="Bad Gateway") as info:
            await ScaleSetApi(client, BASE).get()
    assert info.value.status == 502 and len(arm.requests) == 3


async def test_html_200_is_a_bad_response_not_a_crash() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        httpx.Response(
            200,
            content=b"<html><title>Sign in to Wi-Fi</title></html>",
            headers={"content-type": "text/html"},
        ),
    )
    async with make_client(arm) as client:
        with pytest.raises(
            BadResponseError, match=r"expected JSON .* text/html: 'Sign in to Wi-Fi'"
        ):
            await client.get_json(BASE)


async def test_json_array_where_object_expected() -> None:
    arm = FakeArm().on("GET", BASE, js(200, [1, 2]))
    async with make_client(arm) as client:
        with pytest.raises(BadResponseError, match="expected a JSON object"):
            await client.get_json(BASE)
