"""Bounds on every request, against real loopback servers that misbehave (issue 13, item 2).

Before issue 13 a 200 MB body was read whole, an endless chunked body grew until memory
ran out, a body trickled one byte at a time was waited on forever (httpx's timeout applies
per read), and an endless chain of fresh nextLinks was followed forever. Each case now
ends in a typed error naming the URL and the bound. The limits are set small so each
test ends in well under a second; which bound trips does not depend on timing.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.chaos.hostile import Behaviour, head, serve
from tests.unit.test_client__fakes import BASE
from vmssdash.azure.bounds import MB, RequestLimits
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import (
    RequestDeadlineError,
    ResponseTooLargeError,
    TooManyPagesError,
)
from vmssdash.azure.scaleset import ScaleSetApi

SMALL = RequestLimits(max_body_bytes=1 * MB, deadline=0.5, max_pages=25)


async def endless_chunks(target: str, writer: asyncio.StreamWriter) -> None:
    writer.write(head(200, Transfer_Encoding="chunked"))
    chunk = b"[" * 65536
    while True:
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()


async def declared_huge(target: str, writer: asyncio.StreamWriter) -> None:
    writer.write(head(200, Content_Length=str(200 * MB)))
    writer.write(b"{" * 1024)
    await writer.drain()
    await asyncio.Event().wait()  # never sends the rest


async def trickle(target: str, writer: asyncio.StreamWriter) -> None:
    writer.write(head(200, Content_Length="1000000"))
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def endless_pages(target: str, writer: asyncio.StreamWriter) -> None:
    port = writer.get_extra_info("sockname")[1]
    page = len(target)  # every link is longer than the last: never a repeat
    body = json.dumps(
        {"value": [], "nextLink": f"http://127.0.0.1:{port}{target}&p={page}"}
    ).encode()
    writer.write(head(200, Content_Length=str(len(body))) + body)
    await writer.drain()


@pytest.mark.parametrize("behaviour", [endless_chunks, declared_huge], ids=["chunked", "declared"])
async def test_a_body_past_the_size_bound_is_refused(behaviour: Behaviour) -> None:
    async with serve(behaviour) as server, ArmClient(server.base_url, limits=SMALL) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await client.get_json(BASE)
    error = info.value
    assert error.bound == "max_body_bytes" and "max_body_bytes=1,048,576" in str(error)
    assert error.url and BASE in error.url
    assert error.client_request_id


async def test_a_trickled_body_hits_the_request_deadline() -> None:
    async with serve(trickle) as server, ArmClient(server.base_url, limits=SMALL) as client:
        with pytest.raises(RequestDeadlineError) as info:
            await client.get_json(BASE)
    assert info.value.bound == "deadline" and "deadline=0.5 s" in str(info.value)
    assert len(server.paths) == 1  # a deadline is final: not retried


async def test_an_endless_chain_of_next_links_stops_at_the_page_bound() -> None:
    async with serve(endless_pages) as server, ArmClient(server.base_url, limits=SMALL) as client:
        with pytest.raises(TooManyPagesError) as info:
            await ScaleSetApi(client, BASE).list_vms()
    assert info.value.bound == "max_pages" and "max_pages=25" in str(info.value)
    assert len(server.paths) == 25
