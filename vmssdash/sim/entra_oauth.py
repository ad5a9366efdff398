"""The fake authority's OAuth pieces, apart from its endpoints and state (``entra``).

Tokens are unsigned JWTs (readable claims, never valid anywhere real); a client proves
itself with a secret or a certificate-signed assertion, checked here the way Entra does;
errors come back in Entra's body with its AADSTS numbers; requests are read as msal sends
them (urlencoded forms).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

RESERVED_SCOPES = {"openid", "profile", "offline_access"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsigned_jwt(claims: Mapping[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(dict(claims), sort_keys=True).encode())}."


@dataclass
class ClientRegistration:
    """A registered app. With neither field set, any secret or assertion is accepted."""

    secret: str | None = None
    certificate_pem: bytes | None = None


def resource_scopes(scope: str) -> list[str]:
    return [s for s in scope.split() if s and s not in RESERVED_SCOPES]


def audience(scopes: list[str]) -> str:
    first = scopes[0] if scopes else "https://management.azure.com/.default"
    return first.rsplit("/", 1)[0] if "/" in first.split("://", 1)[-1] else first


def check_assertion(
    assertion: str,
    client_id: str,
    token_endpoint: str,
    registration: ClientRegistration | None,
    now: float,
) -> str | None:
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64url_decode(head_b64))
        claims = json.loads(_b64url_decode(body_b64))
    except ValueError:
        return "AADSTS50027: JWT token is invalid or malformed."
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return "AADSTS700021: Client assertion application identifier doesn't match."
    if claims.get("aud") != token_endpoint:
        return "AADSTS700212: No matching federated identity record found for audience."
    if float(claims.get("exp", 0)) < now:
        return "AADSTS700024: Client assertion is not within its valid time range."
    if registration is None or registration.certificate_pem is None:
        return None
    return _verify_signature(
        header, f"{head_b64}.{body_b64}".encode(), sig_b64, registration.certificate_pem
    )


def _verify_signature(
    header: Mapping[str, Any], signing_input: bytes, sig_b64: str, cert_pem: bytes
) -> str | None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    expected = {
        "x5t": b64url(hashlib.sha1(der).digest()),  # x5t is defined as SHA-1
        "x5t#S256": b64url(hashlib.sha256(der).digest()),
    }
    # msal keeps the base64 padding on x5t; the JOSE spec omits it. Accept both.
    if not any(str(header.get(k, "")).rstrip("=") == v for k, v in expected.items()):
        return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return "AADSTS700027: Unsupported key type."
    signature = _b64url_decode(sig_b64)
    alg = header.get("alg")
    try:
        if alg == "RS256":
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            key.verify(
                signature,
                signing_input,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        else:
            return f"AADSTS700027: Unsupported signing algorithm {alg!r}."
    except InvalidSignature:
        return "AADSTS700027: Client assertion contains an invalid signature."
    return None


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """Entra's error body: the AADSTS number of the description is also in ``error_codes``."""
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(m.group(1))]
            if (m := re.match(r"AADSTS(\d+)", description))
            else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status_code=status,
    )


async def read_form(request: Request) -> dict[str, str]:
    """Form fields without python-multipart (msal only sends urlencoded bodies)."""
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))
