"""Upgrade plans: which VMs go in which wave, and in what order.

A plan is computed from a snapshot and a selection before anything is dispatched, so the
engineer can read it (waves, skips, estimated duration) and confirm it; the orchestrator
then only executes it. Plans are plain data and round-trip through JSON for the journal.

Ordering follows what the platform itself does for rolling upgrades: batches never span
update domains, zones go one after another unless cross-zone upgrade is enabled, and
unhealthy instances can be put first.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from vmssdash.azure.models import RollingUpgradePolicy, ScaleSet, format_duration
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo, VmState
from vmssdash.core.words import count


class Strategy(Enum):
    UPDATE_DOMAIN = "ud"
    FAULT_DOMAIN = "fd"
    ZONE = "zone"
    BATCH = "batch"

    @property
    def words(self) -> str:
        return {
            "ud": "one update domain per wave",
            "fd": "one fault domain per wave",
            "zone": "one zone per wave",
            "batch": "batches",
        }[self.value]


@dataclass(frozen=True)
class Policy:
    """The client-side copy of ``rollingUpgradePolicy`` (percentages 0–100, seconds)."""

    max_batch_percent: int = 20
    max_unhealthy_percent: int = 20
    max_unhealthy_upgraded_percent: int = 20
    pause_seconds: float = 0.0
    prioritize_unhealthy: bool = False
    cross_zone: bool = False

    @classmethod
    def from_model(cls, policy: RollingUpgradePolicy | None) -> Policy:
        if policy is None:
            return cls()
        return cls(
            max_batch_percent=policy.max_batch_instance_percent,
            max_unhealthy_percent=policy.max_unhealthy_instance_percent,
            max_unhealthy_upgraded_percent=policy.max_unhealthy_upgraded_instance_percent,
            pause_seconds=policy.pause_seconds,
            prioritize_unhealthy=bool(policy.prioritize_unhealthy_instances),
            cross_zone=bool(policy.enable_cross_zone_upgrade),
        )

    @classmethod
    def of(cls, scale_set: ScaleSet) -> Policy:
        """The scale set's own ``rollingUpgradePolicy`` (defaults when it has none)."""
        up = scale_set.properties.upgrade_policy
        return cls.from_model(up.rolling_upgrade_policy if up else None)

    def describe(self) -> str:
        return (
            f"max unhealthy {self.max_unhealthy_percent}%, max unhealthy upgraded "
            f"{self.max_unhealthy_upgraded_percent}%, pause {format_duration(self.pause_seconds)}"
            + (", unhealthy first" if self.prioritize_unhealthy else "")
            + (", cross-zone" if self.cross_zone else ", zone by zone")
        )


@dataclass(frozen=True)
class BatchSize:
    """``N`` VMs or ``N%`` of all instances."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> BatchSize:
        raw = text.strip()
        try:
            if raw.endswith("%"):
                pct = float(raw[:-1])
                if not 0 < pct <= 100:
                    raise ValueError
                return cls(percent=pct)
            count = int(raw)
            if count < 1:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a batch size: use a number of VMs (e.g. 5) or a "
                "percentage of the set (e.g. 20%)"
            ) from None

    def resolve(self, total_instances: int) -> int:
        """Per the platform: a percentage of *all* instances, at least one."""
        if self.count is not None:
            return self.count
        pct = self.percent or 0.0
        if total_instances <= 5:
            return 1
        return max(1, math.floor(total_instances * pct / 100))

    def __str__(self) -> str:
        return f"{self.count} VMs" if self.count is not None else f"{self.percent:g}%"


@dataclass(frozen=True)
class Skip:
    instance_id: str
    reason: str


@dataclass(frozen=True)
class Wave:
    index: int
    label: str
    instance_ids: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    plan_id: str
    scale_set_id: str
    scale_set_name: str
    strategy: Strategy
    waves: tuple[Wave, ...]
    skipped: tuple[Skip, ...]
    policy: Policy
    total_instances: int
    batch: str = ""
    wave_seconds: float = 60.0
    warnings: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(i for w in self.waves for i in w.instance_ids)

    @property
    def estimated_seconds(self) -> float:
        return estimate_seconds(len(self.waves), self.wave_seconds, self.policy.pause_seconds)

    @property
    def is_whole_set(self) -> bool:
        return len(self.targets) + len(self.skipped) >= self.total_instances

    def summary(self) -> str:
        """The scope in words, for the confirmation dialog."""
        batch = f" of {self.batch}" if self.batch else ""
        return (
            f"Upgrade {len(self.targets)} of {count(self.total_instances, 'VM')} of {self.scale_set_name} "
            f"in {count(len(self.waves), 'wave')} ({self.strategy.words}{batch}); "
            f"{len(self.skipped)} skipped"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["strategy"] = self.strategy.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            plan_id=data["plan_id"],
            scale_set_id=data["scale_set_id"],
            scale_set_name=data["scale_set_name"],
            strategy=Strategy(data["strategy"]),
            waves=tuple(
                Wave(w["index"], w["label"], tuple(w["instance_ids"])) for w in data["waves"]
            ),
            skipped=tuple(Skip(s["instance_id"], s["reason"]) for s in data["skipped"]),
            policy=Policy(**data["policy"]),
            total_instances=data["total_instances"],
            batch=data.get("batch", ""),
            wave_seconds=data.get("wave_seconds", 60.0),
            warnings=tuple(data.get("warnings", ())),
        )


def estimate_seconds(waves: int, wave_seconds: float, pause_seconds: float) -> float:
    return waves * wave_seconds + max(0, waves - 1) * pause_seconds


def skip_reason(vm: VmInfo, *, include_deallocated: bool = False) -> str | None:
    """Why a VM must not be upgraded now, or None when it is a target."""
    if vm.unreadable is not None:
        return f"unreadable ({vm.unreadable})"
    if not vm.instance_id.isdigit():
        # A Uniform set's instance ids are decimal; anything else came from a malformed
        # answer and must never reach a request body.
        return f"unreadable (instance id {vm.instance_id!r} is not a number)"
    if vm.latest_model is None:
        return "model currency unknown (no latestModelApplied)"
    if vm.latest_model is True:
        return "already on the latest model"
    if vm.protected_from_scale_set_actions:
        return "protected from scale-set actions"
    if vm.state is VmState.DEALLOCATED and not include_deallocated:
        return "deallocated"
    if vm.state is VmState.DELETING:
        return "being deleted"
    if vm.state.is_transitional:
        # Possibly an upgrade already in flight (ours before a crash, or someone else's):
        # dispatching it again would upgrade it twice.
        return f"busy ({vm.state.label})"
    return None


def _is_unhealthy(vm: VmInfo) -> bool:
    return vm.state in (VmState.FAILED, VmState.UNHEALTHY) or vm.health in ("unhealthy", "unknown")


def _domain_key(value: int | str | None) -> tuple[int, int, str]:
    """None sorts last; ints numerically; strings (zones) as text."""
    if value is None:
        return (2, 0, "")
    if isinstance(value, int):
        return (0, value, "")
    return (1, int(value) if value.isdigit() else 0, value)


def _chunks(ids: list[str], size: int | None) -> list[list[str]]:
    if not size or size >= len(ids):
        return [ids] if ids else []
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def build_plan(
    snapshot: ScaleSetSnapshot,
    strategy: Strategy,
    *,
    selection: Iterable[str] | None = None,
    batch: BatchSize | None = None,
    policy: Policy | None = None,
    include_deallocated: bool = False,
    wave_seconds: float = 60.0,
    plan_id: str | None = None,
) -> Plan:
    """Turn the selection (or the whole set) into ordered waves.

    - ``UPDATE_DOMAIN`` / ``FAULT_DOMAIN`` / ``ZONE``: one domain per wave in ascending
      order; a ``batch`` size additionally splits large domains.
    - ``BATCH``: ``batch`` VMs at a time (default: the policy's max batch %), never
      spanning an update domain, zone by zone unless the policy allows cross-zone.
    """
    policy = policy or Policy.of(snapshot.scale_set)
    wanted = set(selection) if selection is not None else None
    total = len(snapshot.vms)
    skipped: list[Skip] = []
    targets: list[VmInfo] = []
    for vm in snapshot.vms:
        if wanted is not None and vm.instance_id not in wanted:
            continue
        reason = skip_reason(vm, include_deallocated=include_deallocated)
        if reason:
            skipped.append(Skip(vm.instance_id, reason))
        else:
            targets.append(vm)
    if wanted is not None:
        for missing in sorted(wanted - set(snapshot.by_id)):
            skipped.append(Skip(missing, "not in the scale set any more"))

    if strategy is Strategy.BATCH and batch is None:
        batch = BatchSize(percent=policy.max_batch_percent)
    size = batch.resolve(total) if batch else None

    groups: list[tuple[str, list[VmInfo]]] = []
    if strategy is Strategy.BATCH:
        groups = _batch_groups(targets, policy)
    else:
        attr = {
            Strategy.UPDATE_DOMAIN: ("UD", "update_domain"),
            Strategy.FAULT_DOMAIN: ("FD", "fault_domain"),
            Strategy.ZONE: ("zone", "zone"),
        }[strategy]
        short, name = attr
        buckets: dict[Any, list[VmInfo]] = {}
        for vm in targets:
            buckets.setdefault(getattr(vm, name), []).append(vm)
        for key in sorted(buckets, key=_domain_key):
            label = f"{short} {key}" if key is not None else f"{short} ?"
            if strategy is Strategy.ZONE and key is None:
                label = "no zone"
            groups.append((label, buckets[key]))

    waves: list[Wave] = []
    for label, vms in groups:
        ordered = sorted(
            vms, key=lambda v: (not (policy.prioritize_unhealthy and _is_unhealthy(v)), v.sort_key)
        )
        parts = _chunks([v.instance_id for v in ordered], size)
        for n, part in enumerate(parts):
            suffix = f" ({n + 1}/{len(parts)})" if len(parts) > 1 else ""
            waves.append(Wave(len(waves), label + suffix, tuple(part)))

    warnings: list[str] = []
    if total:
        biggest = max((len(w.instance_ids) for w in waves), default=0)
        if biggest * 100 > policy.max_unhealthy_percent * total:
            warnings.append(
                f"The largest wave ({biggest} of {total} VMs, {biggest * 100 / total:.0f}%) exceeds "
                f"the max unhealthy instance limit of {policy.max_unhealthy_percent}%: the run "
                "will stop before it. Use smaller batches."
            )
    return Plan(
        plan_id=plan_id or uuid.uuid4().hex,
        scale_set_id=snapshot.scale_set.id,
        scale_set_name=snapshot.scale_set.name,
        strategy=strategy,
        waves=tuple(waves),
        skipped=tuple(skipped),
        policy=policy,
        total_instances=total,
        batch=str(batch) if batch else "",
        wave_seconds=wave_seconds,
        warnings=tuple(warnings),
    )


def _batch_groups(targets: list[VmInfo], policy: Policy) -> list[tuple[str, list[VmInfo]]]:
    """Batch groups: (unhealthy first,) then zone by zone (unless cross-zone), UD by UD."""
    first: list[VmInfo] = []
    rest = targets
    if policy.prioritize_unhealthy:
        first = [v for v in targets if _is_unhealthy(v)]
        rest = [v for v in targets if not _is_unhealthy(v)]
    groups: list[tuple[str, list[VmInfo]]] = []

    def add(prefix: str, vms: list[VmInfo]) -> None:
        by_zone: dict[Any, list[VmInfo]] = {}
        for vm in vms:
            by_zone.setdefault(None if policy.cross_zone else vm.zone, []).append(vm)
        for zone in sorted(by_zone, key=_domain_key):
            by_ud: dict[Any, list[VmInfo]] = {}
            for vm in by_zone[zone]:
                by_ud.setdefault(vm.update_domain, []).append(vm)
            for ud in sorted(by_ud, key=_domain_key):
                zone_text = f"zone {zone} " if zone is not None else ""
                ud_text = f"UD {ud}" if ud is not None else "UD ?"
                groups.append((f"{prefix}{zone_text}{ud_text}", by_ud[ud]))

    if first:
        add("unhealthy ", first)
    add("", rest)
    return groups
