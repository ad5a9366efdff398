"""Token providers for ARM, one module per kind of credential (as azure-identity does).

- ``base``: ``AuthError``, ``AccessToken``, JWT labels, msal options, ``CachingProvider``;
- ``service_principal``: a secret or a certificate, from arguments or the environment;
- ``managed_identity``: the VM's or App Service's identity;
- ``azure_cli_login``: reusing ``az login``;
- ``user``: a user account (msal cache, device code, browser);
- ``chain``: the ``auto`` chain and ``build_token_provider``.
"""

from vmssdash.azure.auth.azure_cli_login import AzureCliProvider
from vmssdash.azure.auth.base import (
    BROWSER_TIMEOUT_SECONDS,
    DEFAULT_PUBLIC_CLIENT_ID,
    DEFAULT_USER_TENANT,
    DISABLE_MI_ENV,
    REFRESH_MARGIN_SECONDS,
    AccessToken,
    AuthError,
    CachingProvider,
    CredentialUnavailableError,
    jwt_claims,
)
from vmssdash.azure.auth.chain import ChainProvider, build_token_provider, describe_provider
from vmssdash.azure.auth.managed_identity import ManagedIdentityProvider, managed_identity_disabled
from vmssdash.azure.auth.service_principal import (
    ClientCredentialProvider,
    environment_provider,
    load_certificate,
)
from vmssdash.azure.auth.user import DeviceCodePrompt, DeviceCodeRelay, UserProvider

__all__ = [
    "BROWSER_TIMEOUT_SECONDS",
    "DEFAULT_PUBLIC_CLIENT_ID",
    "DEFAULT_USER_TENANT",
    "DISABLE_MI_ENV",
    "REFRESH_MARGIN_SECONDS",
    "AccessToken",
    "AuthError",
    "AzureCliProvider",
    "CachingProvider",
    "ChainProvider",
    "ClientCredentialProvider",
    "CredentialUnavailableError",
    "DeviceCodePrompt",
    "DeviceCodeRelay",
    "ManagedIdentityProvider",
    "UserProvider",
    "build_token_provider",
    "describe_provider",
    "environment_provider",
    "jwt_claims",
    "load_certificate",
    "managed_identity_disabled",
]
