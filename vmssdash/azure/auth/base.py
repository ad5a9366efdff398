"""Errors, the token value, JWT labels, msal options and the caching base every provider shares.

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
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from vmssdash.azure.clouds import Cloud
    from vmssdash.azure.msal_http import MsalHttpClient
    from vmssdash.azure.token_cache import TokenCacheStore

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


def msal_app_options(
    cloud: Cloud, tenant_id: str, store: TokenCacheStore, http_client: MsalHttpClient
) -> dict[str, Any]:
    """What every msal client application of ours is built with, whatever credential it
    holds: the cloud's authority for the tenant, discovered and validated only as the cloud
    says (never against a fake or private authority), our token cache and HTTP client."""
    return {
        "authority": cloud.authority(tenant_id),
        "validate_authority": cloud.validate_authority,
        "instance_discovery": cloud.instance_discovery,
        "token_cache": store.cache,
        "http_client": http_client,
    }


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
