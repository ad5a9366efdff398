"""Reuse the Azure CLI's login: ``az account get-access-token``, run without a shell.

Engineers already ran ``az login``; this is the zero-configuration path. Inputs are
validated before they reach the argument list and ``az``'s stderr is sanitised before it
is shown, because it can echo tokens.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

TIMEOUT_SECONDS = 10.0

_TENANT_RE = re.compile(r"^[A-Za-z0-9.\-]+$")
_RESOURCE_RE = re.compile(r"^[A-Za-z0-9_.:/\-]+$")
_SUBSCRIPTION_RE = re.compile(r"^[A-Za-z0-9_. \-]+$")
_TOKEN_IN_TEXT = re.compile(r"\"accessToken\": \"(.*?)(\"|$)")
_EXPIRED_CODES = ("AADSTS700082", "AADSTS50173", "AADSTS70043", "AADSTS50078")


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str], dict[str, str]], CliResult]


class AzureCliError(Exception):
    """``kind`` is one of not-installed, not-logged-in, expired, failed, bad-output."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class CliToken:
    token: str
    expires_on: float
    tenant: str | None
    subscription: str | None


def sanitize(text: str) -> str:
    return _TOKEN_IN_TEXT.sub("****", text)


def find_az() -> str | None:
    if sys.platform.startswith("win"):
        return shutil.which("az.cmd") or shutil.which("az")
    return shutil.which("az")


def _default_runner(argv: Sequence[str], env: dict[str, str]) -> CliResult:
    cwd = os.environ.get("SYSTEMROOT") if sys.platform.startswith("win") else "/bin"
    if cwd is None or not os.path.isdir(cwd):
        cwd = None
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        return CliResult(127, "", "az: not found")
    except subprocess.TimeoutExpired:
        raise AzureCliError(
            "failed", f"Azure CLI did not answer within {TIMEOUT_SECONDS:.0f} s"
        ) from None
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _classify(result: CliResult) -> AzureCliError:
    stderr = sanitize(result.stderr.strip())
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
    if result.returncode == 127 or stderr.startswith("'az' is not recognized"):
        return AzureCliError(
            "not-installed",
            "Azure CLI is not installed (no `az` on PATH); install it or choose another --auth mode",
        )
    if any(code in stderr for code in _EXPIRED_CODES) or (
        "expired" in stderr.lower() and "az login" in stderr
    ):
        code = next((c for c in _EXPIRED_CODES if c in stderr), "")
        detail = f" ({code})" if code else ""
        return AzureCliError(
            "expired", f"Azure CLI login has expired{detail}: run `az login` again"
        )
    if ("az login" in stderr or "az account set" in stderr) and "AADSTS" not in stderr:
        return AzureCliError("not-logged-in", "Azure CLI is not logged in: run `az login`")
    return AzureCliError("failed", f"Azure CLI failed: {first or f'exit code {result.returncode}'}")


def parse_token(stdout: str) -> CliToken:
    try:
        data = json.loads(stdout)
        token = str(data["accessToken"])
    except (ValueError, KeyError, TypeError):
        raise AzureCliError(
            "bad-output", "Azure CLI returned output vmssdash cannot read"
        ) from None
    expires_on: float
    if data.get("expires_on") is not None:
        expires_on = float(int(data["expires_on"]))
    else:
        try:
            # Older az (< 2.54) only gives naive local time.
            expires_on = datetime.strptime(
                str(data["expiresOn"]), "%Y-%m-%d %H:%M:%S.%f"
            ).timestamp()
        except (KeyError, ValueError):
            raise AzureCliError(
                "bad-output", "Azure CLI returned a token without a readable expiry"
            ) from None
    tenant = data.get("tenant")
    sub = data.get("subscription")
    return CliToken(token, expires_on, str(tenant) if tenant else None, str(sub) if sub else None)


def get_access_token(
    resource: str,
    *,
    tenant: str | None = None,
    subscription: str | None = None,
    runner: Runner | None = None,
    az_path: str | None = None,
) -> CliToken:
    """Blocking: call from a thread."""
    if not _RESOURCE_RE.match(resource):
        raise AzureCliError("failed", f"invalid resource for Azure CLI: {resource!r}")
    if tenant is not None and not _TENANT_RE.match(tenant):
        raise AzureCliError("failed", f"invalid tenant id: {tenant!r}")
    if subscription is not None and not _SUBSCRIPTION_RE.match(subscription):
        raise AzureCliError("failed", f"invalid subscription: {subscription!r}")
    exe = az_path
    if exe is None and runner is None:
        exe = find_az()
        if exe is None:
            raise _classify(CliResult(127, "", ""))
    argv = [exe or "az", "account", "get-access-token", "--output", "json", "--resource", resource]
    if tenant:
        argv += ["--tenant", tenant]
    if subscription:
        argv += ["--subscription", subscription]
    env = dict(os.environ, AZURE_CORE_NO_COLOR="true")
    result = (runner or _default_runner)(argv, env)
    if result.returncode != 0:
        raise _classify(result)
    return parse_token(result.stdout)
