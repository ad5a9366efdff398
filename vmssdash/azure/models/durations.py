"""ISO-8601 durations, as ``pauseTimeBetweenBatches`` and the plan's pauses spell them."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str) -> float:
    """ISO-8601 duration (``PT1M30S``, ``P1DT2H``) to seconds; ValueError otherwise.

    ``pauseTimeBetweenBatches`` is not plain seconds, and a bare number is rejected so a
    mistaken ``"30"`` does not silently become no pause at all. Lives here so the client,
    the core and the simulator all read durations the same way.
    """
    raw = text.strip()
    match = _DURATION.match(raw)
    if not match or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO-8601 duration (e.g. PT30S, PT5M, PT1H)")
    return sum(float(v) * _UNIT_SECONDS[k] for k, v in match.groupdict().items() if v is not None)


def format_duration(seconds: float) -> str:
    """Seconds back to ISO-8601 (``PT1M30S``)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out
