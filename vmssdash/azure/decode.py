"""Response bodies as JSON, with a clear error naming what came back instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pydantic_core

from vmssdash.azure.errors import BadResponseError

T = TypeVar("T")


def json_object(data: Any, response: httpx.Response) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    return_type = "nothing" if data is None else type(data).__name__
    raise BadResponseError(
        f"expected a JSON object from {response.request.url.path}, got {return_type}",
        status=response.status_code,
        request_id=response.headers.get("x-ms-request-id"),
        method=response.request.method,
        url=str(response.request.url),
    )


# Bodies above this size are decoded in a worker thread: a 50-VM page with instance views
# takes ~2 ms to decode, and a 1,000-VM refresh would otherwise hold the event loop (and
# every keystroke) for tens of ms.
OFF_LOOP_DECODE_BYTES = 32 * 1024


async def decode_json_off_loop(response: httpx.Response) -> Any:
    """``decode_json``, in a worker thread when the body is big enough to stall the loop."""
    return await off_loop_if_big(response, decode_json)


async def off_loop_if_big(response: httpx.Response, read: Callable[[httpx.Response], T]) -> T:
    """``read(response)``, in a worker thread when the body is big enough to stall the loop."""
    if len(response.content) < OFF_LOOP_DECODE_BYTES:
        return read(response)
    return await asyncio.to_thread(read, response)


def list_page(response: httpx.Response) -> tuple[list[Any], object]:
    """A list page's ``value`` items and its ``nextLink`` as sent (the pager checks it)."""
    data = json_object(decode_json(response), response)
    value = data.get("value") or []
    if not isinstance(value, list):
        raise BadResponseError(
            "page 'value' is not a list",
            url=str(response.request.url),
            request_id=response.headers.get("x-ms-request-id"),
        )
    return value, data.get("nextLink")


def decode_json(response: httpx.Response) -> Any:
    """The response's JSON, or a clear error naming what came back instead."""
    if not response.content:
        return None
    try:
        # pydantic-core's parser is markedly faster than json.loads on 1,000-VM pages.
        return pydantic_core.from_json(response.content)
    except ValueError:
        from vmssdash.azure.errors import body_excerpt

        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise BadResponseError(
            f"expected JSON from {response.request.url.path} but got {kind}: "
            f"{body_excerpt(response.text)!r}",
            status=response.status_code,
            request_id=response.headers.get("x-ms-request-id"),
            method=response.request.method,
            url=str(response.request.url),
        ) from None
