"""The ``auto`` chain and the factory that turns ``--auth`` and settings into a provider."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from vmssdash.azure import azure_cli
from vmssdash.azure.auth.azure_cli_login import AzureCliProvider
from vmssdash.azure.auth.base import (
    DEFAULT_PUBLIC_CLIENT_ID,
    DEFAULT_USER_TENANT,
    AuthError,
    Clock,
    CredentialUnavailableError,
)
from vmssdash.azure.auth.managed_identity import ManagedIdentityProvider, managed_identity_disabled
from vmssdash.azure.auth.service_principal import environment_provider
from vmssdash.azure.auth.user import DeviceCodeCallback, DeviceCodeRelay, UserProvider
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore
from vmssdash.azure.tokens import NoAuth, TokenProvider

log = logging.getLogger(__name__)


class ChainProvider:
    """Tries credentials in order until one yields a token, then sticks with that one."""

    def __init__(
        self,
        steps: list[tuple[str, Callable[[], TokenProvider]]],
        *,
        device_code_relay: DeviceCodeRelay | None = None,
    ) -> None:
        self._steps = steps
        self.chosen: TokenProvider | None = None
        self.chosen_name: str | None = None
        self.skipped: list[str] = []
        self.device_code_relay = device_code_relay or DeviceCodeRelay()
        self._trying: TokenProvider | None = None

    def cancel(self) -> None:
        """Stop an interactive sign-in that is waiting for the user."""
        current = self._trying or self.chosen
        cancel = getattr(current, "cancel", None)
        if callable(cancel):
            cancel()

    @property
    def identity(self) -> str:
        return self.chosen.identity if self.chosen is not None else "not signed in yet"

    async def get_token(self, *, force_refresh: bool = False) -> str:
        if self.chosen is not None:
            return await self.chosen.get_token(force_refresh=force_refresh)
        reasons: list[str] = []
        for name, factory in self._steps:
            try:
                provider = factory()
                self._trying = provider
                token = await provider.get_token(force_refresh=force_refresh)
            except CredentialUnavailableError as exc:
                log.info("auth: %s unavailable: %s", name, exc)
                reasons.append(f"{name}: {exc}")
                continue
            finally:
                self._trying = None
            self.chosen, self.chosen_name, self.skipped = provider, name, reasons
            return token
        raise CredentialUnavailableError("no credential worked; " + "; ".join(reasons))


# --------------------------------------------------------------------------- factory


def _has_display(environ: Mapping[str, str]) -> bool:
    if sys.platform in ("darwin", "win32"):
        return not environ.get("SSH_CONNECTION")
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")) and not environ.get(
        "SSH_CONNECTION"
    )


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    value = getattr(settings, name, None) if settings is not None else None
    return default if value is None else value


def build_token_provider(
    mode: str,
    cloud: Cloud,
    settings: Any = None,
    *,
    on_device_code: DeviceCodeCallback | None = None,
    http_client: MsalHttpClient | None = None,
    store: TokenCacheStore | None = None,
    environ: Mapping[str, str] | None = None,
    az_runner: azure_cli.Runner | None = None,
    clock: Clock = time.time,
) -> TokenProvider:
    """A provider for ``mode`` (none, auto, env, cli, managed-identity, cache, device-code,
    browser). Nothing touches the network here; the first ``get_token`` does.

    Keyword arguments exist for the TUI (device-code prompt) and for tests (an httpx client
    that trusts a test CA, a private cache directory, a fake ``az``).
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if mode == "none":
        return NoAuth()
    relay = DeviceCodeRelay(on_device_code)
    persist = bool(_setting(settings, "persist_token_cache", True))
    lazy_store: list[TokenCacheStore] = [store] if store is not None else []
    lazy_http: list[MsalHttpClient] = [http_client] if http_client is not None else []

    def get_store() -> TokenCacheStore:
        if not lazy_store:
            lazy_store.append(TokenCacheStore(persist=persist))
        return lazy_store[0]

    def get_http() -> MsalHttpClient:
        if not lazy_http:
            lazy_http.append(MsalHttpClient.create(verify=cloud.ca_file or True))
        return lazy_http[0]

    tenant = _setting(settings, "tenant_id") or env.get("AZURE_TENANT_ID")
    public_client = _setting(settings, "client_id", DEFAULT_PUBLIC_CLIENT_ID)

    def make_env() -> TokenProvider:
        secret = _setting(settings, "client_secret")
        merged = dict(env)
        if secret is not None and not merged.get("AZURE_CLIENT_SECRET"):
            merged["AZURE_CLIENT_SECRET"] = secret.get_secret_value()
            merged.setdefault("AZURE_CLIENT_ID", _setting(settings, "client_id", ""))
            merged.setdefault("AZURE_TENANT_ID", tenant or "")
        cert = _setting(settings, "client_certificate_path")
        if cert is not None:
            merged.setdefault("AZURE_CLIENT_CERTIFICATE_PATH", str(cert))
        return environment_provider(cloud, merged, get_store(), get_http(), clock=clock)

    def make_mi() -> TokenProvider:
        return ManagedIdentityProvider(
            cloud,
            client_id=_setting(settings, "managed_identity_client_id"),
            environ=env,
            clock=clock,
        )

    def make_cli() -> TokenProvider:
        return AzureCliProvider(cloud, tenant_id=tenant, runner=az_runner, clock=clock)

    def make_user(interactive: str | None) -> Callable[[], TokenProvider]:
        def factory() -> TokenProvider:
            return UserProvider(
                cloud,
                client_id=public_client,
                tenant_id=tenant or DEFAULT_USER_TENANT,
                store=get_store(),
                http_client=get_http(),
                interactive=interactive,
                on_device_code=relay,
                clock=clock,
            )

        return factory

    single: dict[str, Callable[[], TokenProvider]] = {
        "env": make_env,
        "managed-identity": make_mi,
        "cli": make_cli,
        "cache": make_user(None),
        "device-code": make_user("device-code"),
        "browser": make_user("browser"),
    }
    if mode in single:
        return single[mode]()
    if mode != "auto":
        raise AuthError(f"unknown auth mode {mode!r} (use one of: none, auto, {', '.join(single)})")
    preference = _setting(settings, "interactive", "auto")
    if preference == "auto":
        preference = "browser" if _has_display(env) else "device-code"
    steps: list[tuple[str, Callable[[], TokenProvider]]] = [("environment", make_env)]
    if not managed_identity_disabled(env):
        steps.append(("managed identity", make_mi))
    steps += [
        ("Azure CLI", make_cli),
        ("token cache", make_user(None)),
        (preference, make_user(preference)),
    ]
    return ChainProvider(steps, device_code_relay=relay)


def describe_provider(provider: TokenProvider) -> str:
    """Short label for headers: the identity plus which credential produced it."""
    if isinstance(provider, ChainProvider) and provider.chosen_name:
        return f"{provider.identity} via {provider.chosen_name}"
    return provider.identity
