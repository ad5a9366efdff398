"""Test-wide guards.

Rule 0 of the project: no test may open a connection to anything but loopback. The
guard below wraps ``socket.connect`` for the whole run, so a stray request to a real
Azure host or to the instance-metadata address fails loudly instead of leaving the box.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("NO_COLOR", "")
os.environ.pop("NO_COLOR", None)
# Managed-identity probing and real credential discovery stay off in tests.
os.environ["VMSSDASH_DISABLE_MANAGED_IDENTITY"] = "1"
for _var in (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
):
    os.environ.pop(_var, None)


# Every test run gets its own config, state and cache folders: a journal, run lock or token
# cache left by a person's `vmssdash demo` in ~/.local must never change what a test sees
# (an unfinished plan there makes the dashboard offer a resume), and tests never write there.
_HOME = tempfile.mkdtemp(prefix="vmssdash-tests-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_DATA_HOME", "data"),
):
    os.environ[_var] = os.path.join(_HOME, _sub)
# A person's own settings (VMSSDASH_READ_ONLY, _ENDPOINT, _CONFIG, …) must not leak in either.
_KEEP = {"VMSSDASH_DISABLE_MANAGED_IDENTITY", "VMSSDASH_KEEP_SCREENSHOTS"}
for _var in [v for v in os.environ if v.startswith("VMSSDASH_") and v not in _KEEP]:
    del os.environ[_var]


# Property tests draw the same examples on every run, so CI gives one answer; set
# HYPOTHESIS_PROFILE=explore to search afresh (failures are then kept in .hypothesis/).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
_hypothesis_settings.register_profile("explore", derandomize=False)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


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


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo
