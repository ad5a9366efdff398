"""From parsed flags to a connected client: one settings path for every command.

Every command builds its ``Settings`` here (config file < ``VMSSDASH_*`` < flags, through
``config.load_settings``), resolves the target, the endpoint, the token provider and the
CA bundle the same way, and checks the set is reachable with the same short preflight,
so a mistyped endpoint fails in seconds whichever command it was given to.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmssdash.cli_common import EXIT_USAGE, CliError
from vmssdash.config import Settings, load_settings

#: Flags that are also settings (``--journal-dir`` → ``journal_dir``).
_SETTING_FLAGS = ("read_only", "cloud", "auth", "subscription", "endpoint", "journal_dir")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The effective settings for this invocation: file < environment < flags."""
    overrides: dict[str, Any] = {}
    for name in _SETTING_FLAGS:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            overrides[name] = value
    ca = getattr(args, "ca_bundle", None)
    if ca is not None:
        overrides["ca_bundle"] = ca
    return load_settings(overrides, environ=environ)


def resolve_resource_id(
    args: argparse.Namespace, settings: Settings, env: Mapping[str, str]
) -> str | None:
    """Full id from TARGET / --resource-id / -s -g -n; None means 'ask with the picker'."""
    from vmssdash.azure.scaleset import parse_resource_id

    target = getattr(args, "target", None)
    candidate = getattr(args, "resource_id", None) or (
        target if target and target.startswith("/") else None
    )
    if candidate:
        try:
            parse_resource_id(candidate)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        return str(candidate)
    group, name = getattr(args, "resource_group", None), getattr(args, "name", None)
    if target:
        if "/" not in target:
            raise CliError(
                f"target {target!r} is neither a resource id nor RESOURCE_GROUP/NAME", EXIT_USAGE
            )
        group, name = target.split("/", 1)
    if not (group or name):
        return None
    if not (group and name):
        raise CliError("give both --resource-group and --name (or RESOURCE_GROUP/NAME)", EXIT_USAGE)
    sub = settings.subscription or env.get("AZURE_SUBSCRIPTION_ID")
    if not sub:
        raise CliError(
            "no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID, "
            "or put subscription in the config file",
            EXIT_USAGE,
        )
    return (
        f"/subscriptions/{sub}/resourceGroups/{group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )


def require_target(args: argparse.Namespace, settings: Settings) -> str:
    rid = resolve_resource_id(args, settings, os.environ)
    if rid is None:
        raise CliError(
            "which scale set? give TARGET (a resource id or RESOURCE_GROUP/NAME) or --resource-id",
            EXIT_USAGE,
        )
    return rid


def private_file(path: Path) -> Path:
    """Create ``path`` (and its folder) as 0600 before anyone appends to it."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)
    return path


@dataclass
class Connection:
    """Everything needed to build an ``ArmClient`` the same way in every command."""

    settings: Settings
    endpoint: str
    token_provider: Any
    verify: bool | str
    debug_log: Path | None = None

    @property
    def identity(self) -> str:
        return str(getattr(self.token_provider, "identity", "") or "")

    def client(
        self, *, retry: Any = None, poll_interval: float | None = None, events: Any = None
    ) -> Any:
        from vmssdash.azure.client import ArmClient

        kwargs: dict[str, Any] = {
            "token_provider": self.token_provider,
            "read_only": self.settings.read_only,
            "verify": self.verify,
        }
        if self.debug_log is not None:
            kwargs["debug_log"] = private_file(self.debug_log)
        if retry is not None:
            kwargs["retry"] = retry
        if poll_interval is not None:
            kwargs["poll_interval"] = poll_interval
        if events is not None:
            kwargs["events"] = events
        try:
            return ArmClient(self.endpoint, **kwargs)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None


def connect(args: argparse.Namespace, settings: Settings) -> Connection:
    """Cloud, token provider, endpoint and CA bundle from the settings."""
    from vmssdash.azure.auth import build_token_provider
    from vmssdash.azure.clouds import CloudError, get_cloud
    from vmssdash.azure.tokens import NoAuth

    try:
        cloud = get_cloud(settings.cloud, settings)
    except CloudError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    provider = (
        NoAuth()
        if settings.auth == "none"
        else build_token_provider(settings.auth, cloud, settings)
    )
    ca_file = getattr(cloud, "ca_file", None)
    verify: bool | str = (
        str(settings.ca_bundle) if settings.ca_bundle else (str(ca_file) if ca_file else True)
    )
    return Connection(
        settings=settings,
        endpoint=settings.endpoint or str(cloud.arm_endpoint),
        token_provider=provider,
        verify=verify,
        debug_log=getattr(args, "debug_log", None),
    )


def preflight_policy() -> Any:
    """Retries for the first read: a mistyped endpoint fails in seconds, and a server
    asking for a long Retry-After is reported at once rather than waited out."""
    from vmssdash.azure.retry import RetryPolicy

    return RetryPolicy(max_attempts=3, backoff_cap=2.0, max_retry_after=10.0)


async def preflight(conn: Connection, resource_id: str) -> Any:
    """Load the scale set once with the short policy; returns it (a ``ScaleSet``)."""
    from vmssdash.azure.scaleset import ScaleSetApi

    async with conn.client(retry=preflight_policy()) as client:
        return await ScaleSetApi(client, resource_id).get()


def describe_auth_failure(exc: BaseException, identity: str, endpoint: str) -> str:
    """One line naming who was rejected and what to do, for a 401/403 at the start."""
    status = getattr(exc, "status", None)
    who = identity or "none"
    if status == 403:
        return (
            f"{who} is not allowed to read this scale set ({exc}); "
            "it needs at least the Reader role on it"
        )
    if who == "none":
        return (
            f"authentication failed: {endpoint} requires a bearer token, but --auth none "
            f"sends none ({exc}); use --auth auto, cli, env or managed-identity"
        )
    return (
        f"authentication failed for {who}: the token was rejected ({exc}); "
        "sign in again (`vmssdash logout`) or choose another --auth mode"
    )


async def checked_preflight(conn: Connection, resource_id: str) -> Any:
    """``preflight``, with a 401/403 turned into the one line that says what to do."""
    from vmssdash.azure.errors import AuthFailedError
    from vmssdash.cli_common import EXIT_AUTH

    try:
        return await preflight(conn, resource_id)
    except AuthFailedError as exc:
        raise CliError(
            describe_auth_failure(exc, conn.identity, conn.endpoint), EXIT_AUTH
        ) from None
