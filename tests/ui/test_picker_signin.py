"""Device-code sign-in shown inside the TUI (the picker host and the dashboard use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Static

from tests.integration.auth_helpers import FAKE_CLOUD, in_process_client, scrub_environment
from vmssdash.azure.auth import AuthError, build_token_provider, jwt_claims
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore
from vmssdash.sim.entra import FakeEntra
from vmssdash.ui.signin import DeviceCodeScreen, attach_device_code_prompts


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


class SignInApp(App[None]):
    def __init__(self, provider: Any) -> None:
        super().__init__()
        self.provider = provider
        self.outcome: str | Exception | None = None

    def compose(self) -> ComposeResult:
        yield Static("dashboard")

    def on_mount(self) -> None:
        attach_device_code_prompts(self, self.provider)
        self.sign_in()

    @work(exit_on_error=False)
    async def sign_in(self) -> None:
        try:
            self.outcome = await self.provider.get_token()
        except AuthError as exc:
            self.outcome = exc


def _provider(entra: FakeEntra, mode: str = "device-code") -> Any:
    return build_token_provider(
        mode,
        FAKE_CLOUD,
        None,
        http_client=MsalHttpClient(in_process_client(Starlette(routes=entra.routes()))),
        store=TokenCacheStore(persist=False),
    )


def _prompt_ready(app: App[None]) -> bool:
    screen = app.screen
    return (
        isinstance(screen, DeviceCodeScreen)
        and bool(screen.query("#signin-cancel"))
        and screen.focused is not None
    )


async def _wait(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("mode", ["device-code", "auto"])
async def test_prompt_shows_code_and_url_then_closes_on_success(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no az: auto falls through to sign-in
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    entra = FakeEntra(pending_polls=10**6)  # pending until the test approves
    app = SignInApp(_provider(entra, mode))
    async with app.run_test(size=(100, 30)) as pilot:
        await _wait(pilot, lambda: _prompt_ready(app), "prompt")
        screen = app.screen
        assert isinstance(screen, DeviceCodeScreen)
        code = str(screen.query_one("#signin-code", Static).render())
        assert code == screen.prompt.user_code and len(code) == 9
        uri = str(screen.query_one("#signin-uri", Static).render())
        assert "https://login.fake.test/organizations/devicelogin" in uri
        assert app.outcome is None
        assert entra.approve_all() == 1
        await _wait(pilot, lambda: app.outcome is not None, "token")
        await _wait(pilot, lambda: not isinstance(app.screen, DeviceCodeScreen), "close")
    assert isinstance(app.outcome, str)
    assert jwt_claims(app.outcome)["upn"] == "engineer@contoso.example"
    assert "engineer@contoso.example" in app.provider.identity


async def test_cancel_stops_the_sign_in() -> None:
    entra = FakeEntra(pending_polls=10**6)
    app = SignInApp(_provider(entra))
    async with app.run_test(size=(100, 30)) as pilot:
        await _wait(pilot, lambda: _prompt_ready(app), "prompt")
        await pilot.press("enter")  # Cancel has the focus
        await _wait(pilot, lambda: app.outcome is not None, "cancellation")
        assert not isinstance(app.screen, DeviceCodeScreen)
    assert isinstance(app.outcome, AuthError)
    assert "cancelled" in str(app.outcome)
