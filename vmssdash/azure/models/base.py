"""The base of every ARM model: wire names, unknown fields ignored, the raw JSON kept.

Models are deliberately partial: every model ignores fields it does not know, and the
top-level resources keep the JSON they were parsed from (``raw``) so that a PUT built
from them can round-trip whatever we did not model. Field names follow the wire
(camelCase) through an alias generator; Python code uses snake_case.
"""

from __future__ import annotations

import copy
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

from vmssdash.azure.vm_json import RawItem


class ArmModel(BaseModel):
    """Base: camelCase on the wire, unknown fields ignored, never frozen by accident.

    Booleans are ``StrictBool``: JSON has true and false, and a ``0`` or ``"no"`` where
    ``latestModelApplied`` belongs is a malformed VM, not an outdated one to upgrade.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )


class RawModel(ArmModel):
    """A top-level resource that remembers the exact JSON it came from."""

    #: A ``RawItem`` until first read when the model came from a list page's bytes.
    _raw: dict[str, Any] | RawItem = PrivateAttr(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        obj = cls.model_validate(data)
        obj._raw = copy.deepcopy(data)
        return obj

    @property
    def raw(self) -> dict[str, Any]:
        """A deep copy of the JSON this model was parsed from (safe to mutate)."""
        if isinstance(self._raw, RawItem):
            self._raw = self._raw.load()
        return copy.deepcopy(self._raw)


def first_text(data: dict[str, Any], *keys: str) -> str:
    """The first non-empty string among ``keys`` ("" if none): ids and names are optional
    in the spec, so an empty one counts as absent."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
