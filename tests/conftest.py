"""Test-wide guards.

Rule 0 of the project: no test may open a connection to anything but loopback. The
guard (``tests/loopback_site/loopback_guard.py``) wraps ``socket.connect`` and
``getaddrinfo`` for the whole run and in every child Python the run starts, so a stray
request to a real Azure host or to the instance-metadata address fails loudly instead of
leaving the box.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


#: Children of the test run (``python -m vmssdash``, simulators, the fake ``az``) load the
#: same guard: this folder's ``sitecustomize`` installs it at their start-up.
_GUARD_SITE = str(Path(__file__).parent / "loopback_site")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_GUARD_SITE, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)
sys.path.insert(0, _GUARD_SITE)
import loopback_guard  # noqa: E402

NonLoopbackConnection = loopback_guard.NonLoopbackConnection


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    loopback_guard.install()
    yield
    loopback_guard.uninstall()
