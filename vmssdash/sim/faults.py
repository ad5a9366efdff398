"""Fault injection: the failures real Azure throws at clients, on demand and repeatably.

Spec string (``--faults``, ``POST /_sim/faults {"spec": ...}``): comma-separated
``key=value`` items, e.g. ``"429=0.1,500=0.02,reset=0.01,latency=0.05:0.2,upgrade-fail=0.05"``.

=================  ==========================================================================
key                meaning
=================  ==========================================================================
``429``            probability an ARM request is answered 429 ``OperationNotAllowed`` /
                   ``TooManyRequests`` with ``Retry-After`` (Compute's throttling body)
``500``            probability of 500 ``InternalServerError``
``503``            probability of 503 ``ServiceUnavailable`` with ``Retry-After``
``reset``          probability the connection is dropped mid-response (the client sees the
                   peer close without a complete message)
``latency=LO:HI``  every ARM request is delayed by a uniform LO..HI real seconds
                   (``latency=0.2`` means 0..0.2)
``upgrade-fail``   probability a VM upgrade/reimage ends ``ProvisioningState/failed/
                   InternalOperationError`` (the operation then ends ``Failed``)
``unhealthy``      probability a VM comes back ``HealthState/unhealthy`` after an upgrade
``retry-after=N``  the ``Retry-After`` seconds sent with injected 429/503 (default 1)
``neighbours=N/min`` other tools in the same subscription (autoscale, AKS, pipelines): N
                   VM-list calls a simulated minute charged to the HighCostGetVMScaleSet
                   policies, up to their limits, whoever else is calling
=================  ==========================================================================

``off`` (or an empty spec) disables everything. Request faults are rolled from a
``random.Random`` seeded by ``--seed``, so the same request sequence meets the same
faults; control paths (``/_sim/...``) are never faulted.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

_PROBABILITY_KEYS = {
    "429": "throttle",
    "500": "error500",
    "503": "error503",
    "reset": "reset",
    "upgrade-fail": "upgrade_fail",
    "unhealthy": "unhealthy",
}


@dataclass
class FaultConfig:
    """Probabilities (0..1) per fault kind, plus the latency range and Retry-After."""

    throttle: float = 0.0
    error500: float = 0.0
    error503: float = 0.0
    reset: float = 0.0
    latency: tuple[float, float] | None = None
    upgrade_fail: float = 0.0
    unhealthy: float = 0.0
    retry_after: int = 1
    #: Background HighCost calls per simulated minute by other tools in the subscription.
    neighbours: float = 0.0

    @classmethod
    def parse(cls, spec: str | None) -> FaultConfig:
        """Parse a spec string; raise ValueError naming the bad item."""
        cfg = cls()
        if spec is None:
            return cfg
        text = spec.strip()
        if text.lower() in ("", "off", "none"):
            return cfg
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            value = value.strip()
            if not sep:
                raise ValueError(f"fault item {item!r} is not key=value")
            try:
                if key in _PROBABILITY_KEYS:
                    p = float(value)
                    if not 0.0 <= p <= 1.0:
                        raise ValueError
                    setattr(cfg, _PROBABILITY_KEYS[key], p)
                elif key == "latency":
                    lo_s, _, hi_s = value.partition(":")
                    lo, hi = (0.0, float(lo_s)) if not hi_s else (float(lo_s), float(hi_s))
                    if lo < 0 or hi < lo:
                        raise ValueError
                    cfg.latency = (lo, hi)
                elif key == "retry-after":
                    cfg.retry_after = int(value)
                    if cfg.retry_after < 0:
                        raise ValueError
                elif key == "neighbours":
                    cfg.neighbours = float(value.removesuffix("/min"))
                    if cfg.neighbours < 0:
                        raise ValueError
                else:
                    raise KeyError(key)
            except KeyError:
                known = ", ".join([*_PROBABILITY_KEYS, "latency", "retry-after", "neighbours"])
                raise ValueError(f"unknown fault {key!r} (known: {known})") from None
            except ValueError:
                raise ValueError(f"bad value in fault item {item!r}") from None
        if cfg.throttle + cfg.error500 + cfg.error503 + cfg.reset > 1.0:
            raise ValueError("request fault probabilities add up to more than 1")
        return cfg

    def to_spec(self) -> str:
        parts = [
            f"{key}={getattr(self, attr):g}"
            for key, attr in _PROBABILITY_KEYS.items()
            if getattr(self, attr)
        ]
        if self.latency:
            parts.append(f"latency={self.latency[0]:g}:{self.latency[1]:g}")
        if parts and self.retry_after != 1:
            parts.append(f"retry-after={self.retry_after}")
        if self.neighbours:
            parts.append(f"neighbours={self.neighbours:g}/min")
        return ",".join(parts) or "off"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["latency"] = list(self.latency) if self.latency else None
        data["spec"] = self.to_spec()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        """Accept ``{"spec": "..."}`` or field names / spec keys with values."""
        if "spec" in data:
            return cls.parse(str(data["spec"]))
        names = {f.name for f in fields(cls)}
        items = []
        for key, value in data.items():
            if key in names and key not in _PROBABILITY_KEYS.values():
                if key == "latency":
                    if value:
                        items.append(f"latency={value[0]}:{value[1]}")
                    continue
                if key == "neighbours":
                    items.append(f"neighbours={value}")
                    continue
                items.append(f"retry-after={value}")
                continue
            spec_key = next((k for k, a in _PROBABILITY_KEYS.items() if a == key), key)
            items.append(f"{spec_key}={value}")
        return cls.parse(",".join(items))

    @property
    def any_request_faults(self) -> bool:
        return bool(self.throttle or self.error500 or self.error503 or self.reset or self.latency)


class FaultInjector:
    """Rolls the dice for one simulator; swap ``config`` at run time."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._request_rng = random.Random(f"faults-request-{seed}")
        self._world_rng = random.Random(f"faults-world-{seed}")

    def request_fault(self) -> str | None:
        """One of ``"429" | "500" | "503" | "reset"`` or None, for an incoming ARM request."""
        c = self.config
        if not (c.throttle or c.error500 or c.error503 or c.reset):
            return None
        x = self._request_rng.random()
        for name, p in (("429", c.throttle), ("500", c.error500), ("503", c.error503)):
            if x < p:
                return name
            x -= p
        return "reset" if x < c.reset else None

    def latency(self) -> float:
        if not self.config.latency:
            return 0.0
        lo, hi = self.config.latency
        return self._request_rng.uniform(lo, hi)

    def roll(self, kind: str) -> bool:
        """World-side faults: ``"upgrade_fail"`` or ``"unhealthy"``."""
        p = float(getattr(self.config, kind))
        return p > 0 and self._world_rng.random() < p
