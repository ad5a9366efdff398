"""A user account through msal: silent from the cache, else device code or browser."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msal

from vmssdash.azure.auth.base import (
    BROWSER_TIMEOUT_SECONDS,
    DEFAULT_USER_TENANT,
    AccessToken,
    AuthError,
    CachingProvider,
    Clock,
    CredentialUnavailableError,
    _first_line,
    _identity_from_claims,
    _result_error,
    _token_from_result,
    msal_app_options,
)
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore


@dataclass(frozen=True)
class DeviceCodePrompt:
    """What the user must do to finish a device-code sign-in.

    Delivered from a worker thread: a Textual handler must use ``call_from_thread``.
    """

    user_code: str
    verification_uri: str
    message: str
    expires_at: float


DeviceCodeCallback = Callable[[DeviceCodePrompt], None]


def _print_device_code(prompt: DeviceCodePrompt) -> None:
    print(prompt.message, file=sys.stderr, flush=True)


class DeviceCodeRelay:
    """Where device-code prompts go; the TUI re-points it once it is running.

    The provider is built before any screen exists (the CLI needs it to pick a target),
    so the callback cannot be fixed at build time. Both hooks run on a worker thread.
    """

    def __init__(self, fallback: DeviceCodeCallback | None = None) -> None:
        self.fallback: DeviceCodeCallback = fallback or _print_device_code
        self.handler: DeviceCodeCallback | None = None
        self.finished: Callable[[bool], None] | None = None

    def __call__(self, prompt: DeviceCodePrompt) -> None:
        (self.handler or self.fallback)(prompt)

    def done(self, success: bool) -> None:
        if self.finished is not None:
            self.finished(success)


class UserProvider(CachingProvider):
    """A user account: silent from the msal cache, else device code or browser sign-in.

    ``interactive=None`` means cache only (the ``cache`` mode and that step of ``auto``).
    """

    def __init__(
        self,
        cloud: Cloud,
        *,
        client_id: str,
        tenant_id: str,
        store: TokenCacheStore,
        http_client: MsalHttpClient,
        interactive: str | None,
        on_device_code: DeviceCodeCallback | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.cloud = cloud
        self.client_id = client_id
        self.tenant_id = tenant_id
        self._store = store
        self._http = http_client
        self._interactive = interactive
        self.device_code_relay = (
            on_device_code
            if isinstance(on_device_code, DeviceCodeRelay)
            else DeviceCodeRelay(on_device_code)
        )
        self._cancel = threading.Event()
        self._app: msal.PublicClientApplication | None = None
        self.identity = "not signed in"

    def cancel(self) -> None:
        """Stop a device-code wait from another thread (the TUI's Cancel button)."""
        self._cancel.set()

    def _build_app(self) -> msal.PublicClientApplication:
        if self._app is None:
            try:
                self._app = msal.PublicClientApplication(
                    self.client_id,
                    **msal_app_options(self.cloud, self.tenant_id, self._store, self._http),
                )
            except ValueError as exc:
                raise AuthError(f"sign-in authority: {_first_line(str(exc))}") from None
        return self._app

    def _accounts(self, app: msal.PublicClientApplication) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = app.get_accounts()
        if self.tenant_id not in (DEFAULT_USER_TENANT, "common"):
            in_tenant = [a for a in accounts if a.get("realm") == self.tenant_id]
            accounts = in_tenant or accounts
        return accounts

    def _label(self, result: Mapping[str, Any], account: Mapping[str, Any] | None) -> None:
        claims = dict(result.get("id_token_claims") or {})
        if not claims.get("preferred_username") and account is not None:
            claims["preferred_username"] = account.get("username")
        if "tid" not in claims and account is not None:
            claims["tid"] = account.get("realm")
        self.identity = _identity_from_claims(claims, "user")

    def _acquire_blocking(self, force_refresh: bool) -> AccessToken:
        if self._interactive is None and not any(
            True for _ in self._store.cache.search(msal.TokenCache.CredentialType.ACCOUNT)
        ):
            # Nothing cached: say so without a discovery round-trip to the authority.
            raise CredentialUnavailableError(
                "no cached sign-in; use --auth device-code or --auth browser to sign in"
            )
        app = self._build_app()
        scopes = [self.cloud.arm_scope]
        accounts = self._accounts(app)
        failure: AuthError | None = None
        if accounts:
            result = app.acquire_token_silent_with_error(
                scopes, account=accounts[0], force_refresh=force_refresh
            )
            self._store.save()
            if result and "access_token" in result:
                self._label(result, accounts[0])
                return _token_from_result(result, "cached sign-in", self._clock)
            if result:
                failure = _result_error(result, "refreshing the cached sign-in")
        if self._interactive is None:
            if failure is not None:
                raise CredentialUnavailableError(str(failure))
            raise CredentialUnavailableError(
                "no cached sign-in; use --auth device-code or --auth browser to sign in"
            )
        if self._interactive == "browser":
            result = app.acquire_token_interactive(
                scopes, prompt=msal.Prompt.SELECT_ACCOUNT, timeout=BROWSER_TIMEOUT_SECONDS
            )
        else:
            result = self._device_code(app, scopes)
        self._store.save()
        if result and "access_token" in result:
            self._label(result, None)
        return _token_from_result(result, "sign-in", self._clock)

    def _device_code(
        self, app: msal.PublicClientApplication, scopes: list[str]
    ) -> Mapping[str, Any]:
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise _result_error(flow, "device code sign-in")
        self._cancel.clear()
        self.device_code_relay(
            DeviceCodePrompt(
                user_code=str(flow["user_code"]),
                verification_uri=str(flow.get("verification_uri", "")),
                message=str(flow.get("message", "")),
                expires_at=float(flow.get("expires_at", 0)),
            )
        )
        result: Mapping[str, Any] = {}
        try:
            result = app.acquire_token_by_device_flow(
                flow,
                exit_condition=lambda f: (
                    self._cancel.is_set() or f.get("expires_at", 0) < time.time()
                ),
            )
        finally:
            self.device_code_relay.done("access_token" in result)
        if self._cancel.is_set() and "access_token" not in result:
            raise AuthError("device code sign-in cancelled")
        return result
