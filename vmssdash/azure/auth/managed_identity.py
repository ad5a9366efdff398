"""The VM's (or App Service's) managed identity through msal."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import httpx
import msal

from vmssdash.azure.auth.base import (
    DISABLE_MI_ENV,
    AccessToken,
    CachingProvider,
    Clock,
    CredentialUnavailableError,
    _result_error,
    _token_from_result,
)
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient


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
