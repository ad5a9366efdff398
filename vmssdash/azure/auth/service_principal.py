"""A service principal (msal confidential client), from arguments or the environment."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msal

from vmssdash.azure.auth.base import (
    AccessToken,
    AuthError,
    CachingProvider,
    Clock,
    CredentialUnavailableError,
    _first_line,
    _token_from_result,
    msal_app_options,
)
from vmssdash.azure.clouds import Cloud
from vmssdash.azure.msal_http import MsalHttpClient
from vmssdash.azure.token_cache import TokenCacheStore


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
                    azure_region=False,
                    **msal_app_options(self.cloud, self.tenant_id, self._store, self._http),
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
