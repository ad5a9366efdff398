"""`vmssdash serve` in a real headless Chromium: fleet → heatmap → mark a VM → a dialog.

Debian's chromium driven by playwright's Python API (no browser download). It fails, never
skips, when chromium is missing: `.ci/run` installs it. Reading the screen: xterm.js draws
to the DOM when WebGL is off, so the test waits on the text a person would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from vmssdash.demo import free_port, stop_process

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-webgl",  # xterm.js falls back to DOM rows the test can read
    # Chromium is not a Python child, so the socket guard does not reach it: no name but
    # the loopback one it serves on may resolve (it would otherwise call home).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
#: The kept screenshot is refreshed only when asked (``make screenshots`` sets this), so a
#: test run never dirties the work tree.
KEPT_SCREENSHOT = Path(__file__).resolve().parents[2] / "screenshots" / "browser.png"

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`vmssdash serve demo` on a free loopback port; its URL."""
    port = free_port()
    env = {
        **os.environ,
        "VMSSDASH_CONFIG": os.devnull,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash", "serve", "--port", str(port), "demo", "--speed", "20"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "serve exited"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        stop_process(proc)


def screen_text(page: Page) -> str:
    return str(page.evaluate("() => document.querySelector('.xterm-rows')?.innerText ?? ''"))


def wait_for_text(page: Page, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = screen_text(page)
        if text in seen:
            return seen
        page.wait_for_timeout(100)  # the browser's own event loop keeps running meanwhile
    raise AssertionError(f"never saw {text!r} in the browser; last screen:\n{seen}")


def test_browser_fleet_heatmap_mark_and_dialog(served: str, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "chromium is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 760},
        )
        try:
            page = browser.new_page()
            page.goto(served)
            # The start screen is the fleet; filter to one set and open it.
            wait_for_text(page, "vmss-zonal")
            page.focus("textarea.xterm-helper-textarea")  # where xterm.js takes key presses
            page.keyboard.press("/")
            wait_for_text(page, "Close filter")  # the filter line has the keys now
            page.keyboard.type("vmss-web")
            wait_for_text(page, "1 of 4 scale sets")
            page.keyboard.press("Enter")  # back to the table
            page.keyboard.press("Enter")  # open the heatmap: the page reopens on it
            # A new app process starts behind the reopened page: generous on a loaded machine.
            page.wait_for_url("**/?target=*", timeout=120_000)
            screen = wait_for_text(page, "UD 4")  # rows appear with the first snapshot
            page.focus("textarea.xterm-helper-textarea")
            assert "vmss-web" in screen
            # The third VM of UD 0 is stale in the demo (seed 0): mark it, then upgrade.
            for key in ("l", "l", " "):
                page.keyboard.press(key)
            wait_for_text(page, "marked 1")
            page.keyboard.press("U")
            dialog = wait_for_text(page, "Cancel")
            assert "upgrade" in dialog.lower()
            shot = tmp_path / "browser.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000  # a real picture of the page, not a blank
            if os.environ.get("VMSSDASH_KEEP_SCREENSHOTS") == "1":
                KEPT_SCREENSHOT.write_bytes(shot.read_bytes())
            page.keyboard.press("Escape")
            wait_for_text(page, "marked 1")
        finally:
            browser.close()
