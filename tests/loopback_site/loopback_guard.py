"""The loopback-only socket guard, for the test process and every child of it.

``tests/conftest.py`` installs it in the pytest process; this folder is put first on
``PYTHONPATH`` for the whole run, so its ``sitecustomize`` installs it too in every Python
a test starts (``python -m vmssdash …``, the simulator, the fake ``az``): a child process
cannot reach a real Azure host or the instance-metadata address either. ``connect`` and
``connect_ex`` refuse any address that is not loopback, and ``getaddrinfo`` refuses to
resolve any name but ``localhost`` (a DNS query is already traffic).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


class NonLoopbackConnection(RuntimeError):
    """Raised when a test tries to leave the machine."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NonLoopbackConnection(f"test tried to connect to non-loopback address {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NonLoopbackConnection(f"test tried to connect to non-loopback address {address!r}")
    return _real_connect_ex(self, address)


_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # Name lookups leave the box too (a DNS query for login.microsoftonline.com is already
    # traffic): only loopback names and IP literals (checked again at connect) resolve.
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "", "localhost"):
        try:
            ipaddress.ip_address(str(name).split("%", 1)[0])
        except ValueError:
            raise NonLoopbackConnection(f"test tried to resolve host name {name!r}") from None
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo
