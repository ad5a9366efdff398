"""A raw loopback HTTP/1.1 server that misbehaves on purpose (no tests here).

Starlette would refuse to send most of these answers (an endless chunked body, one byte
at a time, a Content-Length it never honours), so this is plain ``asyncio.start_server``:
each connection reads one request head and hands the writer to a scripted behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Behaviour = Callable[[str, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class HostileServer:
    behaviour: Behaviour
    port: int = 0
    paths: list[str] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            self.paths.append(target)
            await self.behaviour(target, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def serve(behaviour: Behaviour) -> AsyncIterator[HostileServer]:
    server = HostileServer(behaviour)
    listener = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        # A handler stuck in an endless body stops at its next write once its connection
        # is closed.
        for writer in server.writers:
            writer.close()
        await listener.wait_closed()


def head(status: int = 200, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", "Connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
