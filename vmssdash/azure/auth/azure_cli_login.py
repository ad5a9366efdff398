"""Reusing ``az login``: tokens from the Azure CLI."""

from __future__ import annotations

import time

from vmssdash.azure import azure_cli
from vmssdash.azure.auth.base import (
    AccessToken,
    AuthError,
    CachingProvider,
    Clock,
    CredentialUnavailableError,
    _identity_from_claims,
    jwt_claims,
)
from vmssdash.azure.clouds import Cloud


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
