"""What every command shares: the exit codes, the one-line error, and JSON output.

The exit codes are a contract with pipelines (README "Exit codes"), so they live in one
place and every command maps its failures through ``exit_code_for``.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from vmssdash.azure import errors

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_HALTED = 4
EXIT_CONFLICT = 5
EXIT_AUTH = 6
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: Version of every JSON document the commands print; bumped only on a breaking change.
SCHEMA = 1


class CliError(Exception):
    """An expected failure: printed as one line, exit code attached."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class Terminated(BaseException):
    """SIGTERM arrived; raised from the signal handler so ``finally`` blocks run.

    A ``BaseException`` like ``KeyboardInterrupt``: the signal lands on any line, and an
    ``except Exception`` there (a listener guard, a retry loop) must not swallow it.
    """


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an expected failure."""
    from vmssdash.azure.auth import AuthError  # late: msal is slow to import
    from vmssdash.core.runlock import RunLockHeldError

    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, (errors.AuthFailedError, AuthError)):
        return EXIT_AUTH
    if isinstance(exc, errors.NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, (errors.ConflictError, errors.PreconditionFailedError, RunLockHeldError)):
        return EXIT_CONFLICT
    return EXIT_ERROR


def describe_error(exc: BaseException) -> str:
    """One human line for any expected failure (no traceback)."""
    if isinstance(exc, errors.AuthFailedError):
        return f"authentication failed: {exc}"
    if isinstance(exc, errors.ThrottledError):
        wait = f"; it asks to wait {exc.retry_after:g} s" if exc.retry_after else ""
        return (
            f"Azure is throttling requests for this subscription{wait}; "
            f"try again in a few minutes ({exc})"
        )
    return str(exc) or exc.__class__.__name__


def expected_errors() -> tuple[type[BaseException], ...]:
    from vmssdash.azure.auth import AuthError
    from vmssdash.azure.clouds import CloudError
    from vmssdash.config import ConfigError
    from vmssdash.core.runlock import RunLockHeldError

    return (
        errors.ArmError,
        CliError,
        ConfigError,
        CloudError,
        AuthError,
        RunLockHeldError,
        OSError,
    )


# --------------------------------------------------------------------------- secrets

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def looks_secret(token: str) -> bool:
    """A command-line word that may be a credential: long, no path or URL, mixed classes.

    Subscription ids (GUIDs), resource ids and URLs are kept: they are what a usage
    error needs to show, and none of them is a secret.
    """
    word = token.split("=", 1)[1] if token.startswith("-") and "=" in token else token
    if len(word) < 16 or "/" in word or _GUID.match(word) or " " in word:
        return False
    has_alpha = any(c.isalpha() for c in word)
    has_other = any(c.isdigit() or not c.isalnum() for c in word)
    return has_alpha and has_other


def redact_argv_words(message: str, argv: list[str]) -> str:
    """``message`` with every secret-looking word of ``argv`` replaced by ``****``."""
    for token in sorted(set(argv), key=len, reverse=True):
        if looks_secret(token):
            word = token.split("=", 1)[1] if token.startswith("-") and "=" in token else token
            message = message.replace(word, "****")
    return message


# --------------------------------------------------------------------------- output


def emit_json(document: dict[str, Any], *, compact: bool = False) -> None:
    """One JSON document on stdout (``compact``: one line, for JSON-lines streams)."""
    if compact:
        text = json.dumps(document, separators=(",", ":"), sort_keys=True, default=str)
    else:
        text = json.dumps(document, indent=2, sort_keys=True, default=str)
    print(text, flush=True)


def say(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)
