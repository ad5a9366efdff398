"""A ``ScaleSetApi`` stand-in that forwards everything to a real one: tests subclass it to
make one call misbehave (a 409, a 500 after Azure took the request, another actor's
upgrade) while every other call reaches the simulator."""

from __future__ import annotations

from typing import Any


class Wrapped:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.client = api.client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    @property
    def name(self) -> str:
        return str(self.api.name)
