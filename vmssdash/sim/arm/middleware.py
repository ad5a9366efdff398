"""The checks every ARM request passes before its handler: bearer auth, api-version,
subscription, route-not-found wording, injected faults and the throttling bucket.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from typing import Any

from vmssdash.sim.arm.routes import Route_
from vmssdash.sim.errors import SimError
from vmssdash.sim.world import World

COMPUTE_API_VERSIONS = (
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
)
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def check_api_version(route: Route_, ctx_query: dict[str, str]) -> str:
    version = ctx_query.get("api-version")
    if not version:
        raise SimError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if route.compute and version not in COMPUTE_API_VERSIONS:
        raise SimError(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location 'westeurope' and API version "
            f"'{version}' for type 'virtualMachineScaleSets'. The supported api-versions are "
            f"'{', '.join(COMPUTE_API_VERSIONS)}'. The supported locations are 'westeurope'.",
        )
    if not route.compute and not _DATED.match(version):
        raise SimError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are "
            "'2022-12-01,2021-04-01,2020-01-01'.",
        )
    return version


def check_subscription(world: World, low: list[str]) -> None:
    if len(low) >= 2 and low[1] not in world.subscriptions:
        raise SimError(
            404, "SubscriptionNotFound", f"The subscription '{low[1]}' could not be found."
        )


def bucket_of(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method, "writes")


def _auth_error(code: str, message: str, base: str, description: str) -> SimError:
    challenge = (
        f'Bearer authorization_uri="{base}/common", error="invalid_token", '
        f'error_description="{description}"'
    )
    return SimError(401, code, message, headers={"WWW-Authenticate": challenge})


def check_auth(header: str | None, base: str) -> None:
    """ARM's front door: a bearer token must be present, well formed and unexpired.

    The signature is not checked (the fake Entra authority signs nothing)."""
    if not header:
        raise _auth_error(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            base,
            "The authentication failed because of missing 'Authorization' header.",
        )
    scheme, _, token = header.partition(" ")
    parts = token.strip().split(".")
    claims: Any = None
    if scheme.lower() == "bearer" and len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, binascii.Error):
            claims = None
    if not isinstance(claims, dict):
        raise _auth_error(
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            base,
            "The access token is invalid.",
        )
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise _auth_error(
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time "
            f"'{time.strftime('%m/%d/%Y %I:%M:%S %p', time.gmtime(exp))}' is earlier than "
            "current UTC time.",
            base,
            "The access token has expired.",
        )


def no_route(method: str, low: list[str], query: dict[str, str]) -> SimError:
    if "microsoft.compute" in low:
        i = low.index("microsoft.compute")
        kind = "/".join(low[i + 1 : i + 2]) or "?"
        return SimError(
            404,
            "InvalidResourceType",
            f"The resource type '{kind}' could not be found in the namespace "
            f"'Microsoft.Compute' for api version '{query.get('api-version', '')}'.",
        )
    return SimError(
        404, "NotFound", f"No HTTP resource was found that matches the request URI for {method}."
    )


def injected_fault(fault: str, retry_after: float) -> SimError:
    if fault == "429":
        return SimError(
            429,
            "OperationNotAllowed",
            "The server rejected the request because too many requests have been received "
            "for this subscription.",
            details=[
                {
                    "code": "TooManyRequests",
                    "target": "HighCostGetVMScaleSet3Min",
                    "message": json.dumps(
                        {"operationGroup": "HighCostGetVMScaleSet3Min", "allowedRequestCount": 180},
                        separators=(",", ":"),
                    ),
                }
            ],
        )
    if fault == "503":
        return SimError(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
    return SimError(
        500,
        "InternalServerError",
        "Encountered internal server error. Diagnostic information: timestamp "
        "'simulated', tracking id 'simulated'.",
    )
