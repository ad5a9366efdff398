"""Where bearer tokens come from, as far as the client is concerned.

The client only needs "give me a token for ARM, optionally a fresh one" plus a
human-readable identity for the status bar; msal, the Azure CLI and managed identity live
behind this protocol in ``auth.py``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenProvider(Protocol):
    """A source of bearer tokens for the ARM scope."""

    @property
    def identity(self) -> str:
        """Who we are, for humans: "user@tenant", "sp <appid>", "none"."""
        ...

    async def get_token(self, *, force_refresh: bool = False) -> str:
        """A bearer token; ``force_refresh`` bypasses any cache (used after a 401)."""
        ...


class NoAuth:
    """No credentials: the client sends no ``Authorization`` header (simulator)."""

    identity: str = "no sign-in (--auth none)"

    async def get_token(self, *, force_refresh: bool = False) -> str:
        return ""


class StaticToken:
    """A fixed token (tests, or a token pasted from ``az account get-access-token``).

    ``refreshed`` lets tests prove that a 401 led to exactly one forced refresh.
    """

    def __init__(self, token: str, *, identity: str = "static token", refreshed: str | None = None):
        self._token = token
        self._refreshed = refreshed
        self.identity = identity
        self.calls = 0
        self.forced = 0

    async def get_token(self, *, force_refresh: bool = False) -> str:
        self.calls += 1
        if force_refresh:
            self.forced += 1
            if self._refreshed is not None:
                self._token = self._refreshed
        return self._token
