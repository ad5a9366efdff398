"""`vmssdash serve` protection: loopback by default, a token off it, same-origin websockets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vmssdash.demo import free_port, stop_process
from vmssdash.serve import encode_target, protection, session_command

TOKEN = "s3cret-token"
RID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
    "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web"
)


def test_loopback_needs_no_token_and_elsewhere_warns_and_requires_one() -> None:
    assert protection("127.0.0.1", None, None) == (None, None)
    assert protection("::1", None, None) == (None, None)
    assert protection("localhost", "given", None) == ("given", None)
    token, warning = protection("0.0.0.0", None, None)
    assert token and len(token) >= 24
    assert warning is not None and "token is required" in warning
    assert protection("192.0.2.7", None, "from-env")[0] == "from-env"


def test_each_tab_runs_the_dashboard_args_plus_the_chosen_target() -> None:
    demo = session_command(["demo", "--speed", "4"], RID)
    assert demo[-5:] == ["demo", "--speed", "4", "--set", "vmss-web"]
    dash = session_command(["--", "--endpoint", "http://127.0.0.1:8765"], RID)
    assert dash[-4:] == ["--endpoint", "http://127.0.0.1:8765", "--resource-id", RID]
    assert session_command(["demo"], None)[-1] == "demo"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull, "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash", "serve", "--port", str(port), "--token", TOKEN, "demo"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        stop_process(proc)  # type: ignore[arg-type]


def test_token_then_cookie_and_cross_origin_websockets_refused(guarded: str) -> None:
    assert httpx.get(f"{guarded}/").status_code == 401
    assert httpx.get(f"{guarded}/?token=wrong").status_code == 401
    assert httpx.get(f"{guarded}/static/js/textual.js").status_code == 401
    with httpx.Client(base_url=guarded) as browser:
        first = browser.get("/", params={"token": TOKEN})
        assert first.status_code == 200
        assert "httponly" in first.headers["set-cookie"].lower()
        assert browser.get("/").status_code == 200  # the cookie now
        page = browser.get("/", params={"target": RID}).text
        assert f"/ws/{encode_target(RID)}" in page
        assert browser.get("/", params={"target": "/not/a/set"}).status_code == 400
        evil = browser.get("/ws", headers={"Origin": "http://evil.test"})
        assert evil.status_code == 403
