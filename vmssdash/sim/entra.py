"""A fake Entra ID authority: just enough OAuth for msal to sign in against the simulator.

It serves OIDC discovery, the token endpoint (client credentials with a secret or a
certificate assertion, device code with one ``authorization_pending``, refresh tokens)
and the device-code endpoint, all under ``/{tenant}/`` so msal's tenant-first paths work.
Tokens are unsigned JWTs: readable claims (who, which tenant, audience, expiry) for the
simulator and the UI, never valid anywhere real. Instance discovery is expected to be off
on the client; ``/common/discovery/instance`` exists only so a mistake fails locally.
The JWTs, the client-assertion check and the error body are in ``entra_oauth``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from vmssdash.sim.entra_oauth import (
    ClientRegistration,
    audience,
    b64url,
    check_assertion,
    oauth_error,
    read_form,
    resource_scopes,
    unsigned_jwt,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_TENANT_ID = "11111111-2222-3333-4444-555555555555"
DEFAULT_USER = "engineer@contoso.example"


@dataclass
class _DeviceCode:
    client_id: str
    tenant: str
    scopes: list[str]
    pending_left: int
    expires_at: float


@dataclass
class _RefreshToken:
    client_id: str
    tenant: str


@dataclass
class EntraState:
    """Inspectable by tests: which grants were asked for, and an approval switch."""

    requests: list[dict[str, str]] = field(default_factory=list)
    device_codes: dict[str, _DeviceCode] = field(default_factory=dict)
    refresh_tokens: dict[str, _RefreshToken] = field(default_factory=dict)

    def count(self, **match: str) -> int:
        return sum(all(r.get(k) == v for k, v in match.items()) for r in self.requests)


class FakeEntra:
    """The authority's behaviour; ``routes()`` gives Starlette routes to mount at ``/``.

    ``clients=None`` accepts every client (the simulator's default: any secret works);
    pass registrations to test rejection. ``clock`` lets tests expire tokens.
    """

    def __init__(
        self,
        *,
        clients: Mapping[str, ClientRegistration] | None = None,
        home_tenant: str = DEFAULT_TENANT_ID,
        user: str = DEFAULT_USER,
        pending_polls: int = 1,
        token_lifetime: int = 3599,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = dict(clients) if clients is not None else None
        self.home_tenant = home_tenant
        self.user = user
        self.user_oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vmssdash-user:{user}"))
        self.pending_polls = pending_polls
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.state = EntraState()
        self._lock = threading.Lock()

    def approve_all(self) -> int:
        """Let every waiting device code succeed on its next poll (tests pace sign-in)."""
        with self._lock:
            for entry in self.state.device_codes.values():
                entry.pending_left = 0
            return len(self.state.device_codes)

    # ------------------------------------------------------------------ helpers

    def _tenant_id(self, tenant: str) -> str:
        return self.home_tenant if tenant in ("common", "organizations", "consumers") else tenant

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _record(self, endpoint: str, tenant: str, **extra: str) -> None:
        with self._lock:
            self.state.requests.append({"endpoint": endpoint, "tenant": tenant, **extra})

    # ------------------------------------------------------------------ endpoints

    async def discovery(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        self._record("discovery", tenant)
        base = f"{self._base(request)}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{self._base(request)}/{self._tenant_id(tenant)}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
            }
        )

    async def instance_discovery(self, request: Request) -> Response:
        self._record("instance_discovery", "common")
        host = request.url.netloc
        return JSONResponse(
            {
                "tenant_discovery_endpoint": (
                    f"{self._base(request)}/common/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                ],
            }
        )

    async def authorize(self, request: Request) -> Response:
        return PlainTextResponse(
            "The simulator's fake authority has no browser sign-in; use device code.",
            status_code=400,
        )

    async def device_login(self, request: Request) -> Response:
        return PlainTextResponse(
            "Simulator: device codes are approved automatically after the first poll.\n"
        )

    async def device_code(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        form = await read_form(request)
        client_id = str(form.get("client_id") or "")
        self._record("devicecode", tenant, client_id=client_id)
        if not client_id:
            return oauth_error("invalid_request", "AADSTS900144: 'client_id' is required.")
        scopes = resource_scopes(str(form.get("scope") or ""))
        code = secrets.token_urlsafe(24)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        with self._lock:
            self.state.device_codes[code] = _DeviceCode(
                client_id=client_id,
                tenant=tenant,
                scopes=scopes,
                pending_left=self.pending_polls,
                expires_at=self.clock() + 900,
            )
        uri = f"{self._base(request)}/{tenant}/devicelogin"
        return JSONResponse(
            {
                "device_code": code,
                "user_code": user_code,
                "verification_uri": uri,
                "expires_in": 900,
                "interval": 1,
                "message": (
                    f"To sign in, use a web browser to open the page {uri} "
                    f"and enter the code {user_code} to authenticate."
                ),
            }
        )

    async def token(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        form = await read_form(request)
        grant = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        self._record("token", tenant, grant_type=grant, client_id=client_id)
        if grant == "client_credentials":
            return self._client_credentials(request, tenant, form)
        if grant == DEVICE_GRANT:
            return self._device_grant(request, tenant, form)
        if grant == "refresh_token":
            return self._refresh_grant(request, tenant, form)
        return oauth_error(
            "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
        )

    # ------------------------------------------------------------------ grants

    def _client_credentials(
        self, request: Request, tenant: str, form: Mapping[str, str]
    ) -> Response:
        client_id = form.get("client_id", "")
        if tenant in ("common", "organizations", "consumers"):
            return oauth_error(
                "invalid_request",
                "AADSTS90002: client credentials need a tenant id, not a multi-tenant alias.",
            )
        registration: ClientRegistration | None = None
        if self.clients is not None:
            registration = self.clients.get(client_id)
            if registration is None:
                return oauth_error(
                    "unauthorized_client",
                    f"AADSTS700016: Application with identifier '{client_id}' was not found.",
                )
        if "client_secret" in form:
            secret = form["client_secret"]
            expected = registration.secret if registration else None
            if not secret or (registration is not None and expected != secret):
                return oauth_error(
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.",
                    status=401,
                )
        elif form.get("client_assertion_type") == ASSERTION_TYPE:
            token_endpoint = f"{self._base(request)}/{tenant}/oauth2/v2.0/token"
            problem = check_assertion(
                form.get("client_assertion", ""),
                client_id,
                token_endpoint,
                registration,
                self.clock(),
            )
            if problem:
                return oauth_error("invalid_client", problem, status=401)
        else:
            return oauth_error(
                "invalid_client",
                "AADSTS7000218: The request body must contain client_assertion or client_secret.",
                status=401,
            )
        scopes = resource_scopes(form.get("scope", ""))
        tid = self._tenant_id(tenant)
        now = int(self.clock())
        access = unsigned_jwt(
            {
                "aud": audience(scopes),
                "iss": f"https://sts.fake.test/{tid}/",
                "iat": now,
                "nbf": now,
                "exp": now + self.token_lifetime,
                "appid": client_id,
                "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vmssdash-sp:{client_id}")),
                "tid": tid,
                "idtyp": "app",
                "jti": secrets.token_hex(8),
            }
        )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": access,
            }
        )

    def _user_token_body(
        self, request: Request, tenant: str, client_id: str, scopes: list[str]
    ) -> dict[str, Any]:
        tid = self._tenant_id(tenant)
        now = int(self.clock())
        common = {"tid": tid, "oid": self.user_oid, "iat": now, "nbf": now}
        access = unsigned_jwt(
            {
                **common,
                "aud": audience(scopes),
                "iss": f"https://sts.fake.test/{tid}/",
                "exp": now + self.token_lifetime,
                "upn": self.user,
                "scp": "user_impersonation",
                "appid": client_id,
                "jti": secrets.token_hex(8),
            }
        )
        id_token = unsigned_jwt(
            {
                **common,
                "aud": client_id,
                "iss": f"{self._base(request)}/{tid}/v2.0",
                "exp": now + self.token_lifetime,
                "sub": self.user_oid,
                "preferred_username": self.user,
                "name": self.user.split("@")[0],
                "ver": "2.0",
            }
        )
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self.state.refresh_tokens[refresh] = _RefreshToken(client_id=client_id, tenant=tenant)
        client_info = b64url(json.dumps({"uid": self.user_oid, "utid": tid}).encode())
        return {
            "token_type": "Bearer",
            "scope": " ".join([*scopes, f"{audience(scopes).rstrip('/')}/user_impersonation"]),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "client_info": client_info,
        }

    def _device_grant(self, request: Request, tenant: str, form: Mapping[str, str]) -> Response:
        code = form.get("device_code") or form.get("code") or ""
        with self._lock:
            entry = self.state.device_codes.get(code)
            if entry is None or entry.client_id != form.get("client_id"):
                return oauth_error("invalid_grant", "AADSTS70000: The device code is invalid.")
            if entry.expires_at < self.clock():
                del self.state.device_codes[code]
                return oauth_error("expired_token", "AADSTS70020: The device code expired.")
            if entry.pending_left > 0:
                entry.pending_left -= 1
                return oauth_error(
                    "authorization_pending",
                    "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.",
                )
            del self.state.device_codes[code]
        return JSONResponse(self._user_token_body(request, tenant, entry.client_id, entry.scopes))

    def _refresh_grant(self, request: Request, tenant: str, form: Mapping[str, str]) -> Response:
        rt = form.get("refresh_token", "")
        with self._lock:
            entry = self.state.refresh_tokens.get(rt)
        if entry is None or entry.client_id != form.get("client_id"):
            return oauth_error(
                "invalid_grant",
                "AADSTS700082: The refresh token has expired or is invalid. Sign in again.",
            )
        scopes = resource_scopes(form.get("scope", ""))
        return JSONResponse(self._user_token_body(request, tenant, entry.client_id, scopes))

    async def imds(self, request: Request) -> Response:
        """Managed identity (IMDS shape), reachable via AZURE_POD_IDENTITY_AUTHORITY_HOST."""
        self._record("imds", "managed_identity")
        if request.headers.get("metadata", "").lower() != "true":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        resource = request.query_params.get("resource", "https://management.azure.com")
        now = int(self.clock())
        access = unsigned_jwt(
            {
                "aud": resource,
                "tid": self.home_tenant,
                "oid": "00000000-0000-0000-0000-00000000beef",
                "appid": "00000000-0000-0000-0000-00000000cafe",
                "idtyp": "app",
                "iat": now,
                "exp": now + self.token_lifetime,
            }
        )
        return JSONResponse(
            {
                "access_token": access,
                "expires_in": str(self.token_lifetime),
                "expires_on": str(now + self.token_lifetime),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/common/discovery/instance", self.instance_discovery, methods=["GET"]),
            Route("/metadata/identity/oauth2/token", self.imds, methods=["GET"]),
            Route(
                "/{tenant}/v2.0/.well-known/openid-configuration", self.discovery, methods=["GET"]
            ),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/devicecode", self.device_code, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/authorize", self.authorize, methods=["GET"]),
            Route("/{tenant}/devicelogin", self.device_login, methods=["GET"]),
        ]


def entra_routes(**kwargs: Any) -> list[BaseRoute]:
    """Routes for a fresh fake authority (keyword arguments as for ``FakeEntra``)."""
    return FakeEntra(**kwargs).routes()
