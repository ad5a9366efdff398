"""Token providers for ARM: service principal, managed identity, Azure CLI, msal user sign-in.

Everything msal does is blocking and may sit on the network (device code blocks until the
user finishes), so every acquisition runs in ``asyncio.to_thread``. Providers cache the
token in memory and renew it a few minutes before expiry, so an hour-long upgrade never
sends an expired token; ``force_refresh`` skips that cache after a 401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msal

from vmssdash.azure import azure_cli
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore
from vmssdash.azure.tokens import NoAuth, TokenProvider

log = logging.getLogger(__name__)
# msal's DEBUG records include the device code unmasked; never let them through.
_msal_log = logging.getLogger("msal")
if _msal_log.level < logging.INFO:
    _msal_log.setLevel(logging.INFO)

REFRESH_MARGIN_SECONDS = 300.0
DISABLE_MI_ENV = "VMSSDASH_DISABLE_MANAGED_IDENTITY"
DEFAULT_PUBLIC_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
# Multi-tenant user sign-in when no tenant is configured.
DEFAULT_USER_TENANT = "organizations"
BROWSER_TIMEOUT_SECONDS = 300

Clock = Callable[[], float]


class AuthError(Exception):
    """Getting a token failed; ``str()`` is one line for the user (never a token)."""


class CredentialUnavailableError(AuthError):
    """This credential cannot work here (not configured, not installed, not signed in).

    The ``auto`` chain moves on to the next credential on this error and stops on others.
    """


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_on: float


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


def jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT without verifying it: only for labels (who am I, which tenant)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        data = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _identity_from_claims(claims: Mapping[str, Any], fallback: str) -> str:
    who = (
        claims.get("preferred_username")
        or claims.get("upn")
        or claims.get("unique_name")
        or (f"sp {claims['appid']}" if claims.get("appid") and not claims.get("scp") else None)
        or fallback
    )
    tenant = claims.get("tid")
    return f"{who} (tenant {tenant})" if tenant else str(who)


def _first_line(text: str | None) -> str:
    if not text:
        return ""
    return text.strip().splitlines()[0].strip()


def _result_error(result: Mapping[str, Any] | None, what: str) -> AuthError:
    if not result:
        return AuthError(f"{what}: no token returned")
    err = str(result.get("error", "error"))
    desc = _first_line(str(result.get("error_description", "")))
    corr = result.get("correlation_id")
    tail = f" (correlation id {corr})" if corr else ""
    return AuthError(f"{what}: {err}: {desc}{tail}" if desc else f"{what}: {err}{tail}")


def _token_from_result(result: Mapping[str, Any] | None, what: str, clock: Clock) -> AccessToken:
    if not result or "access_token" not in result:
        raise _result_error(result, what)
    expires_in = float(result.get("expires_in", 3600))
    log.debug(
        "%s: token from %s, expires in %.0f s", what, result.get("token_source", "?"), expires_in
    )
    return AccessToken(str(result["access_token"]), clock() + expires_in)


# --------------------------------------------------------------------------- base provider


class CachingProvider:
    """In-memory token reuse with early renewal; subclasses implement ``_acquire_blocking``
    (or ``_acquire``, when they are async already).

    One lock per event loop serialises refreshes (the CLI preflight and the TUI run on
    different loops, and an asyncio lock cannot be shared between them).
    """

    identity: str = "not signed in"

    def __init__(self, *, clock: Clock = time.time, margin: float = REFRESH_MARGIN_SECONDS) -> None:
        self._clock = clock
        self._margin = margin
        self._token: AccessToken | None = None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.acquisitions = 0

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _fresh(self) -> AccessToken | None:
        tok = self._token
        if tok is not None and tok.expires_on - self._margin > self._clock():
            return tok
        return None

    async def get_token(self, *, force_refresh: bool = False) -> str:
        if not force_refresh and (tok := self._fresh()) is not None:
            return tok.token
        async with self._lock():
            # Another task may have refreshed while we waited.
            if not force_refresh and (tok := self._fresh()) is not None:
                return tok.token
            stale = self._token
            # Near expiry, msal's own cache would hand back the same token; ask past it.
            tok = await self._acquire(force_refresh or stale is not None)
            self.acquisitions += 1
            self._token = tok
            return tok.token

    async def _acquire(self, force_refresh: bool) -> AccessToken:
        """By default ``_acquire_blocking`` (msal, ``az``) on a worker thread."""
        return await _off_thread(self._acquire_blocking, force_refresh)

    def _acquire_blocking(self, force_refresh: bool) -> AccessToken:
        raise NotImplementedError

    @property
    def expires_on(self) -> float | None:
        return self._token.expires_on if self._token else None


# --------------------------------------------------------------------------- msal: service principal


def load_certificate(path: str | Path, password: str | None = None) -> dict[str, Any]:
    """msal's ``client_credential`` dict from a PEM (key + cert) or PKCS12 file.

    We compute the SHA-1 thumbprint ourselves: that form works on every msal 1.x.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read certificate {p}: {exc.strerror}") from None
    pw = password.encode() if password else None
    try:
        if b"-----BEGIN" in data:
            blocks = re.findall(rb"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", data, re.S)
            key_pem = re.search(
                rb"-----BEGIN ((?:RSA |ENCRYPTED |EC )?PRIVATE KEY)-----.*?-----END \1-----",
                data,
                re.S,
            )
            if key_pem is None or not blocks:
                raise AuthError(f"certificate {p} must hold a private key and a certificate")
            key = serialization.load_pem_private_key(key_pem.group(0), pw)
            certs = x509.load_pem_x509_certificates(data)
        else:
            loaded_key, cert, extra = pkcs12.load_key_and_certificates(data, pw)
            if loaded_key is None or cert is None:
                raise AuthError(f"certificate {p} must hold a private key and a certificate")
            key = loaded_key
            certs = [cert, *extra]
    except AuthError:
        raise
    except (ValueError, TypeError) as exc:
        raise AuthError(f"cannot load certificate {p}: {_first_line(str(exc))}") from None
    if not certs:
        raise AuthError(f"certificate {p} holds no certificate")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError(f"certificate {p}: only RSA keys are supported by Entra ID")
    key_text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "private_key": key_text,
        "thumbprint": certs[0].fingerprint(hashes.SHA1()).hex(),
        "_public_certificate": certs[0].public_bytes(serialization.Encoding.PEM).decode(),
    }


class ClientCredentialProvider(CachingProvider):
    """A service principal with a secret or a certificate (msal confidential client)."""

    def __init__(
        self,
        cloud: Cloud,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict[str, Any],
        store: TokenCacheStore,
        http_client: MsalHttpClient,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.cloud = cloud
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._credential = credential
        self._store = store
        self._http = http_client
        self._app: msal.ConfidentialClientApplication | None = None
        self.identity = f"sp {client_id} (tenant {tenant_id})"

    def _build_app(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.cloud.authority(self.tenant_id),
                    validate_authority=self.cloud.validate_authority,
                    instance_discovery=self.cloud.instance_discovery,
                    azure_region=False,
                    token_cache=self._store.cache,
                    http_client=self._http,
                )
            except ValueError as exc:
                raise AuthError(
                    f"service principal {self.client_id}: {_first_line(str(exc))}"
                ) from None
        return self._app

    def _acquire_blocking(self, force_refresh: bool) -> AccessToken:
        app = self._build_app()
        if force_refresh:
            app.remove_tokens_for_client()
        result = app.acquire_token_for_client([self.cloud.arm_scope])
        self._store.save()
        return _token_from_result(result, f"service principal {self.client_id}", self._clock)


async def _off_thread(fn: Callable[[bool], AccessToken], force: bool) -> AccessToken:
    try:
        return await asyncio.to_thread(fn, force)
    except AuthError:
        raise
    except OSError as exc:
        raise AuthError(f"cannot reach the sign-in service: {_first_line(str(exc))}") from None
    except httpx.HTTPError as exc:
        raise AuthError(
            f"cannot reach the sign-in service: {type(exc).__name__}: {_first_line(str(exc))}"
        ) from None


def environment_provider(
    cloud: Cloud,
    environ: Mapping[str, str],
    store: TokenCacheStore,
    http_client: MsalHttpClient,
    *,
    clock: Clock = time.time,
) -> ClientCredentialProvider:
    """The service principal described by ``AZURE_*`` variables (azure-identity's names)."""
    client_id = environ.get("AZURE_CLIENT_ID")
    tenant_id = environ.get("AZURE_TENANT_ID")
    secret = environ.get("AZURE_CLIENT_SECRET")
    cert_path = environ.get("AZURE_CLIENT_CERTIFICATE_PATH")
    if not client_id or not tenant_id or not (secret or cert_path):
        raise CredentialUnavailableError(
            "environment service principal not configured (need AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)"
        )
    credential: str | dict[str, Any]
    if secret:
        credential = secret
    else:
        assert cert_path is not None
        loaded = load_certificate(cert_path, environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"))
        public = loaded.pop("_public_certificate")
        if environ.get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "").lower() in ("1", "true"):
            loaded["public_certificate"] = public
        credential = loaded
    return ClientCredentialProvider(
        cloud,
        tenant_id=tenant_id,
        client_id=client_id,
        credential=credential,
        store=store,
        http_client=http_client,
        clock=clock,
    )


# --------------------------------------------------------------------------- managed identity


def managed_identity_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get(DISABLE_MI_ENV, "").lower() in ("1", "true", "yes")


class ManagedIdentityProvider(CachingProvider):
    """The VM's (or App Service's) identity via msal; first call doubles as a 1 s probe."""

    def __init__(
        self,
        cloud: Cloud,
        *,
        client_id: str | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock=clock)
        env = os.environ if environ is None else environ
        if managed_identity_disabled(env):
            raise CredentialUnavailableError(f"managed identity is disabled ({DISABLE_MI_ENV}=1)")
        self.cloud = cloud
        self.client_id = client_id
        # Off Azure the metadata address does not answer: connect timeout 1 s, no retry.
        self._http = MsalHttpClient.create(timeout=httpx.Timeout(10.0, connect=1.0))
        self.identity = f"managed identity {client_id}" if client_id else "managed identity"

    def _acquire_blocking(self, force_refresh: bool) -> AccessToken:
        identity: Any = (
            msal.UserAssignedManagedIdentity(client_id=self.client_id)
            if self.client_id
            else msal.SystemAssignedManagedIdentity()
        )
        # A fresh in-memory cache per acquisition: force_refresh then really refreshes,
        # and our own layer already reuses tokens until shortly before expiry.
        client = msal.ManagedIdentityClient(
            identity, http_client=self._http, token_cache=msal.TokenCache()
        )
        try:
            result = client.acquire_token_for_client(resource=self.cloud.arm_resource)
        except (httpx.TransportError, OSError):
            raise CredentialUnavailableError(
                "no managed identity endpoint answered (not running on Azure?)"
            ) from None
        if "access_token" not in result:
            # E.g. an Azure VM without an identity: not usable here, so auto moves on.
            raise CredentialUnavailableError(str(_result_error(result, "managed identity")))
        return _token_from_result(result, "managed identity", self._clock)


# --------------------------------------------------------------------------- Azure CLI


class AzureCliProvider(CachingProvider):
    """Reuses ``az login``; the token is kept until shortly before it expires."""

    def __init__(
        self,
        cloud: Cloud,
        *,
        tenant_id: str | None = None,
        runner: azure_cli.Runner | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.cloud = cloud
        self.tenant_id = tenant_id
        self._runner = runner
        self.identity = "Azure CLI"

    def _acquire_blocking(self, force_refresh: bool) -> AccessToken:
        try:
            tok = azure_cli.get_access_token(
                self.cloud.arm_resource, tenant=self.tenant_id, runner=self._runner
            )
        except azure_cli.AzureCliError as exc:
            if exc.kind in ("not-installed", "not-logged-in", "expired"):
                raise CredentialUnavailableError(str(exc)) from None
            raise AuthError(str(exc)) from None
        if tok.expires_on <= self._clock():
            raise CredentialUnavailableError(
                "Azure CLI login has expired (it returned an expired token): run `az login` again"
            )
        claims = jwt_claims(tok.token)
        if tok.tenant and "tid" not in claims:
            claims = {**claims, "tid": tok.tenant}
        self.identity = _identity_from_claims(claims, "Azure CLI user")
        return AccessToken(tok.token, tok.expires_on)


# --------------------------------------------------------------------------- msal: user sign-in


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
                    authority=self.cloud.authority(self.tenant_id),
                    validate_authority=self.cloud.validate_authority,
                    instance_discovery=self.cloud.instance_discovery,
                    token_cache=self._store.cache,
                    http_client=self._http,
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


# --------------------------------------------------------------------------- auto chain


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
