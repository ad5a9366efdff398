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

from vmssdash.azure.flexible import is_member_name
from vmssdash.azure.models.durations import format_duration
from vmssdash.azure.models.scaleset import RollingUpgradePolicy, ScaleSet
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
class Hold:
    """What happens after a wave before the next one starts: ``bake`` watches the
    health of every VM upgraded so far for ``seconds``; ``pause`` waits for a person's
    promote."""

    kind: str  # "bake" | "pause"
    seconds: float = 0.0

    def text(self) -> str:
        return f"bake {format_duration(self.seconds)}" if self.kind == "bake" else "pause"


@dataclass(frozen=True)
class Wave:
    index: int
    label: str
    instance_ids: tuple[str, ...]
    after: tuple[Hold, ...] = ()


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
    steps: tuple[str, ...] = ()
    """The steps the plan was built from (``canary 1``, ``bake PT2M``, ``ud``), if any."""

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(i for w in self.waves for i in w.instance_ids)

    @property
    def estimated_seconds(self) -> float:
        return estimate_seconds(
            len(self.waves), self.wave_seconds, self.policy.pause_seconds
        ) + self.bake_seconds_after(-1)

    def bake_seconds_after(self, wave_index: int) -> float:
        """Seconds of bake still ahead once wave ``wave_index`` is finished (-1: all)."""
        return sum(
            hold.seconds
            for wave in self.waves[wave_index + 1 :]
            for hold in wave.after
            if hold.kind == "bake"
        )

    @property
    def halts_on_breach(self) -> bool:
        """Plans built from steps stop at the first unhealthy VM (progressive delivery);
        plain plans keep the rolling-upgrade policy's unhealthy-upgraded limit."""
        return bool(self.steps)

    @property
    def is_whole_set(self) -> bool:
        return len(self.targets) + len(self.skipped) >= self.total_instances

    def summary(self) -> str:
        """The scope in words, for the confirmation dialog."""
        batch = f" of {self.batch}" if self.batch else ""
        how = f"steps: {', '.join(self.steps)}" if self.steps else f"{self.strategy.words}{batch}"
        return (
            f"Upgrade {len(self.targets)} of {count(self.total_instances, 'VM')} of {self.scale_set_name} "
            f"in {count(len(self.waves), 'wave')} ({how}); "
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
                Wave(
                    w["index"],
                    w["label"],
                    tuple(w["instance_ids"]),
                    tuple(Hold(h["kind"], float(h["seconds"])) for h in w.get("after", ())),
                )
                for w in data["waves"]
            ),
            skipped=tuple(Skip(s["instance_id"], s["reason"]) for s in data["skipped"]),
            policy=Policy(**data["policy"]),
            total_instances=data["total_instances"],
            batch=data.get("batch", ""),
            wave_seconds=data.get("wave_seconds", 60.0),
            warnings=tuple(data.get("warnings", ())),
            steps=tuple(data.get("steps", ())),
        )


def estimate_seconds(waves: int, wave_seconds: float, pause_seconds: float) -> float:
    return waves * wave_seconds + max(0, waves - 1) * pause_seconds


def skip_reason(
    vm: VmInfo, *, include_deallocated: bool = False, flexible: bool = False
) -> str | None:
    """Why a VM must not be upgraded now, or None when it is a target.

    A Uniform set's instance ids are decimal, a Flexible set's are its VMs' names;
    anything else came from a malformed answer and must never reach a request body."""
    if vm.unreadable is not None:
        return f"unreadable ({vm.unreadable})"
    if flexible and not (is_member_name(vm.instance_id) and vm.instance_id == vm.name):
        return f"unreadable (instance id {vm.instance_id!r} is not the VM's name)"
    if not flexible and not vm.instance_id.isdigit():
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
    - ``BATCH``: ``batch`` VMs at a time (default: the policy's max batch %), in domain
      order, never more than one update domain's worth in a wave, zone by zone unless
      the policy allows cross-zone.
    """
    policy = policy or Policy.of(snapshot.scale_set)
    targets, skipped = select_targets(snapshot, selection, include_deallocated=include_deallocated)
    if strategy is Strategy.BATCH and batch is None:
        batch = BatchSize(percent=policy.max_batch_percent)
    groups, batch_text = domain_waves(snapshot, targets, strategy, batch, policy)
    waves = [Wave(n, label, ids) for n, (label, ids) in enumerate(groups)]
    total = len(snapshot.vms)
    return Plan(
        plan_id=plan_id or uuid.uuid4().hex,
        scale_set_id=snapshot.scale_set.id,
        scale_set_name=snapshot.scale_set.name,
        strategy=strategy,
        waves=tuple(waves),
        skipped=tuple(skipped),
        policy=policy,
        total_instances=total,
        batch=batch_text,
        wave_seconds=wave_seconds,
        warnings=tuple(warnings_for(waves, total, policy)),
    )


def select_targets(
    snapshot: ScaleSetSnapshot,
    selection: Iterable[str] | None,
    *,
    include_deallocated: bool = False,
) -> tuple[list[VmInfo], list[Skip]]:
    """The VMs to upgrade (in snapshot order) and the ones left out, each with why."""
    wanted = set(selection) if selection is not None else None
    flexible = snapshot.flexible
    skipped: list[Skip] = []
    targets: list[VmInfo] = []
    for vm in snapshot.vms:
        if wanted is not None and vm.instance_id not in wanted:
            continue
        reason = skip_reason(vm, include_deallocated=include_deallocated, flexible=flexible)
        if reason:
            skipped.append(Skip(vm.instance_id, reason))
        else:
            targets.append(vm)
    if wanted is not None:
        for missing in sorted(wanted - set(snapshot.by_id)):
            skipped.append(Skip(missing, "not in the scale set any more"))
    return targets, skipped


def domain_waves(
    snapshot: ScaleSetSnapshot,
    targets: list[VmInfo],
    strategy: Strategy,
    batch: BatchSize | None,
    policy: Policy,
) -> tuple[list[tuple[str, tuple[str, ...]]], str]:
    """(label, ids) per wave for ``targets``, and the batch size in true words."""
    size = batch.resolve(len(snapshot.vms)) if batch else None
    batch_text = str(batch) if batch else ""
    out: list[tuple[str, tuple[str, ...]]] = []
    if strategy is Strategy.BATCH:
        cap = domain_worth(snapshot)
        limit = min(size or cap, cap)
        if size is not None and limit < size:
            batch_text = f"up to {limit} VMs: {batch} asked, one update domain holds {limit}"
        return batch_waves(targets, policy, limit), batch_text
    for label, vms in _domain_groups(targets, strategy):
        ordered = sorted(vms, key=lambda v: (not _first(v, policy), v.sort_key))
        parts = _chunks([v.instance_id for v in ordered], size)
        for n, part in enumerate(parts):
            suffix = f" ({n + 1}/{len(parts)})" if len(parts) > 1 else ""
            out.append((label + suffix, tuple(part)))
    return out, batch_text


def warnings_for(waves: Iterable[Wave], total: int, policy: Policy) -> list[str]:
    warnings: list[str] = []
    if total:
        biggest = max((len(w.instance_ids) for w in waves), default=0)
        if biggest * 100 > policy.max_unhealthy_percent * total:
            warnings.append(
                f"The largest wave ({biggest} of {total} VMs, {biggest * 100 / total:.0f}%) exceeds "
                f"the max unhealthy instance limit of {policy.max_unhealthy_percent}%: the run "
                "will stop before it. Use smaller batches."
            )
    return warnings


def _first(vm: VmInfo, policy: Policy) -> bool:
    return policy.prioritize_unhealthy and _is_unhealthy(vm)


def _domain_groups(targets: list[VmInfo], strategy: Strategy) -> list[tuple[str, list[VmInfo]]]:
    """One group per update domain, fault domain or zone, in ascending order."""
    short, name = {
        Strategy.UPDATE_DOMAIN: ("UD", "update_domain"),
        Strategy.FAULT_DOMAIN: ("FD", "fault_domain"),
        Strategy.ZONE: ("zone", "zone"),
    }[strategy]
    buckets: dict[Any, list[VmInfo]] = {}
    for vm in targets:
        buckets.setdefault(getattr(vm, name), []).append(vm)
    groups: list[tuple[str, list[VmInfo]]] = []
    for key in sorted(buckets, key=_domain_key):
        label = f"{short} {key}" if key is not None else f"{short} ?"
        if strategy is Strategy.ZONE and key is None:
            label = "no zone"
        groups.append((label, buckets[key]))
    return groups


def domain_worth(snapshot: ScaleSetSnapshot) -> int:
    """The most VMs one update domain (within a zone) holds: the most a wave may take
    down at once, since the platform itself never takes down more than one domain."""
    counts: dict[tuple[Any, Any], int] = {}
    for vm in snapshot.vms:
        key = (vm.zone, vm.update_domain)
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=1)


def batch_waves(
    targets: list[VmInfo], policy: Policy, limit: int
) -> list[tuple[str, tuple[str, ...]]]:
    """Waves of at most ``limit`` VMs, filled in domain order: (unhealthy first,) zone by
    zone (unless cross-zone), update domain by update domain. A wave may take the end of
    one domain and the start of the next, so a batch size is honoured even when the
    targets are spread thinly over many domains."""
    first = [v for v in targets if _first(v, policy)]
    rest = [v for v in targets if not _first(v, policy)]
    out: list[tuple[str, tuple[str, ...]]] = []

    def add(prefix: str, vms: list[VmInfo]) -> None:
        by_zone: dict[Any, list[VmInfo]] = {}
        for vm in vms:
            by_zone.setdefault(None if policy.cross_zone else vm.zone, []).append(vm)
        for zone in sorted(by_zone, key=_domain_key):
            ordered = sorted(
                by_zone[zone], key=lambda v: (_domain_key(v.update_domain), v.sort_key)
            )
            zone_text = f"zone {zone} " if zone is not None else ""
            for start in range(0, len(ordered), limit):
                part = ordered[start : start + limit]
                label = f"{prefix}{zone_text}{_ud_span(part)}".strip() or "batch"
                out.append((label, tuple(v.instance_id for v in part)))

    if first:
        add("unhealthy ", first)
    add("", rest)
    return out


def _ud_span(vms: list[VmInfo]) -> str:
    """``UD 2`` or ``UD 2–3`` (the update domains a wave touches, first to last). A
    Flexible set has no update domains: ``FD 0``, or nothing with one fault domain."""
    name, uds = "UD", [vm.update_domain for vm in vms]
    if all(ud is None for ud in uds):
        name, uds = "FD", [vm.fault_domain for vm in vms]
        if all(fd is None for fd in uds):
            return ""
    low = "?" if uds[0] is None else str(uds[0])
    high = "?" if uds[-1] is None else str(uds[-1])
    return f"{name} {low}" if low == high else f"{name} {low}–{high}"
