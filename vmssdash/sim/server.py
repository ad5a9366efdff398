"""Serving the simulator with uvicorn: in a background thread (tests, benchmarks) or in
the foreground (``vmssdash sim``).

The listening socket is bound before uvicorn starts, so ``port=0`` yields the real port
at once and ``base_url`` is known without racing the server's startup.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn

from vmssdash.sim.arm.context import SimulatedReset


class _HideSimulatedResets(logging.Filter):
    """The ``reset`` fault raises on purpose; keep it out of the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedReset)


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideSimulatedResets) for f in logger.filters):
        logger.addFilter(_HideSimulatedResets())


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets that say so,
    # and without it every response pays a 40 ms delayed-ACK stall.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def make_server(
    app: Any,
    *,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    _install_log_filter()
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        server_header=False,
        lifespan="off",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


@dataclass
class RunningServer:
    """A simulator listening on loopback in a daemon thread; stop it (or use ``with``)."""

    base_url: str
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket
    _stopped: bool = field(default=False, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.should_exit = True
        self.thread.join(min(timeout, 0.5))
        if self.thread.is_alive():
            # A client still holds a connection mid-request: don't wait for it.
            self.server.force_exit = True
            self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    startup_timeout: float = 15.0,
) -> RunningServer:
    sock = bind_socket(host, port)
    real_port = int(sock.getsockname()[1])
    server = make_server(app, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sim:{real_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("simulator server thread died during startup")
        if time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("simulator server did not start in time")
        time.sleep(0.005)
    scheme = "https" if ssl_certfile else "http"
    url_host = f"[{host}]" if ":" in host else host
    return RunningServer(
        base_url=f"{scheme}://{url_host}:{real_port}",
        host=host,
        port=real_port,
        server=server,
        thread=thread,
        sock=sock,
    )
