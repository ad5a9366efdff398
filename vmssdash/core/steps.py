"""Progressive-delivery steps: a plan written as ``canary 1, bake PT10M, batch 10%, ud``.

A plain strategy ("one update domain per wave") treats the first wave like every other.
An SRE rolling a new image onto production wants a small canary first, a bake during
which health is watched, and only then the rest. Steps say that in words that read the
same in the TUI, on the command line and in the config file, and build an ordinary
``Plan`` (waves, each with what follows it), so the orchestrator, the journal and resume
need nothing new beyond running the holds.

Semantics: wave steps (``canary``, ``batch``, ``ud``, ``fd``, ``zone``) take VMs from
those not yet planned. Every wave step but the last makes one wave; the last one repeats
until every target is planned. ``bake`` and ``pause`` follow the wave before them, and
after the last wave step they follow each of its waves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from vmssdash.azure.models.durations import format_duration, parse_duration
from vmssdash.core.plan import (
    BatchSize,
    Hold,
    Plan,
    Policy,
    Strategy,
    Wave,
    domain_waves,
    select_targets,
    warnings_for,
)
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.state import VmInfo


class StepKind(Enum):
    CANARY = "canary"
    BATCH = "batch"
    UD = "ud"
    FD = "fd"
    ZONE = "zone"
    BAKE = "bake"
    PAUSE = "pause"

    @property
    def makes_waves(self) -> bool:
        return self not in (StepKind.BAKE, StepKind.PAUSE)


_STRATEGY = {
    StepKind.BATCH: Strategy.BATCH,
    StepKind.UD: Strategy.UPDATE_DOMAIN,
    StepKind.FD: Strategy.FAULT_DOMAIN,
    StepKind.ZONE: Strategy.ZONE,
}

STEP_HELP = (
    "steps, comma-separated: 'canary N|N%' (a first wave spread over fault domains and "
    "zones), 'bake DURATION' (ISO-8601, e.g. PT10M: watch health before going on), "
    "'batch N|N%', 'ud', 'fd', 'zone', 'pause' (wait for promote); or the name of a "
    "strategy in the config. Example: 'canary 1, bake PT10M, batch 10%, bake PT5M, ud'"
)


class StepError(ValueError):
    """A step list that cannot be run; ``str()`` is one line naming the step."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    size: BatchSize | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.kind is StepKind.BAKE:
            return f"bake {format_duration(self.seconds)}"
        if self.size is not None:
            size = str(self.size.count) if self.size.count is not None else str(self.size)
            return f"{self.kind.value} {size}"
        return str(self.kind.value)


def parse_step(text: str) -> Step:
    words = text.split()
    if not words:
        raise StepError("an empty step: " + STEP_HELP)
    name, args = words[0].lower(), words[1:]
    try:
        kind = StepKind(name)
    except ValueError:
        raise StepError(f"{text.strip()!r} is not a step; {STEP_HELP}") from None
    if kind in (StepKind.CANARY, StepKind.BATCH):
        if len(args) != 1:
            raise StepError(
                f"{text.strip()!r}: '{name}' takes one size, e.g. '{name} 2' or '{name} 10%'"
            )
        try:
            return Step(kind, size=BatchSize.parse(args[0]))
        except ValueError as exc:
            raise StepError(f"{text.strip()!r}: {exc}") from None
    if kind is StepKind.BAKE:
        if len(args) != 1:
            raise StepError(
                f"{text.strip()!r}: 'bake' takes one ISO-8601 duration, e.g. 'bake PT10M'"
            )
        try:
            seconds = parse_duration(args[0])
        except ValueError as exc:
            raise StepError(f"{text.strip()!r}: {exc}") from None
        if seconds <= 0:
            raise StepError(f"{text.strip()!r}: a bake needs a duration above zero")
        return Step(kind, seconds=seconds)
    if args:
        raise StepError(f"{text.strip()!r}: '{name}' takes nothing after it")
    return Step(kind)


def parse_steps(steps: str | Sequence[str]) -> tuple[Step, ...]:
    """Steps from ``"canary 1, bake PT2M, ud"`` or a list of step texts, checked as a whole."""
    texts = steps.split(",") if isinstance(steps, str) else list(steps)
    parsed = tuple(parse_step(t) for t in texts)
    wave_steps = [s for s in parsed if s.kind.makes_waves]
    if not wave_steps:
        raise StepError("the steps upgrade nothing: add at least one of batch, ud, fd or zone")
    if parsed[0].kind in (StepKind.BAKE, StepKind.PAUSE):
        raise StepError(f"'{parsed[0]}' comes before any wave: there is nothing to watch yet")
    if any(s.kind is StepKind.CANARY for s in wave_steps[1:]):
        raise StepError("'canary' must be the first wave step")
    if wave_steps[-1].kind is StepKind.CANARY:
        raise StepError("after the canary, add a step for the rest: batch, ud, fd or zone")
    return parsed


def resolve_steps(text: str, strategies: Mapping[str, Sequence[str]]) -> tuple[Step, ...]:
    """``text`` is a strategy's name from the config, or steps written out."""
    named = strategies.get(text.strip())
    return parse_steps(named if named is not None else text)


def steps_text(steps: Iterable[Step]) -> str:
    return ", ".join(str(s) for s in steps)


def build_plan_from_steps(
    snapshot: ScaleSetSnapshot,
    steps: Sequence[Step],
    *,
    selection: Iterable[str] | None = None,
    policy: Policy | None = None,
    include_deallocated: bool = False,
    wave_seconds: float = 60.0,
    plan_id: str | None = None,
) -> Plan:
    policy = policy or Policy.of(snapshot.scale_set)
    targets, skipped = select_targets(snapshot, selection, include_deallocated=include_deallocated)
    total = len(snapshot.vms)
    last_wave_step = max(i for i, s in enumerate(steps) if s.kind.makes_waves)
    remaining = list(targets)
    # (label, ids, holds) per wave; ``repeat_from`` is the first wave of the last wave step.
    waves: list[tuple[str, tuple[str, ...], list[Hold]]] = []
    repeat_from: int | None = None
    batch_text = ""
    strategy = Strategy.UPDATE_DOMAIN
    for index, step in enumerate(steps):
        if not step.kind.makes_waves:
            hold = Hold(step.kind.value, step.seconds)
            first = len(waves) - 1
            if repeat_from is not None and index > last_wave_step:
                first = repeat_from
            for n in range(max(first, 0), len(waves)):
                waves[n][2].append(hold)
            continue
        if not remaining:
            continue
        if step.kind is StepKind.CANARY:
            assert step.size is not None  # parse_step gives every canary a size
            picked = canary_pick(remaining, step.size.resolve(total))
            new = [("canary", tuple(v.instance_id for v in picked))]
        else:
            strategy = _STRATEGY[step.kind]
            new, batch_text = domain_waves(snapshot, remaining, strategy, step.size, policy)
            if index != last_wave_step:
                new = new[:1]
            else:
                repeat_from = len(waves)
        done = {i for _, ids in new for i in ids}
        remaining = [v for v in remaining if v.instance_id not in done]
        waves.extend((label, ids, []) for label, ids in new)
    plan_waves = tuple(
        Wave(n, label, ids, tuple(holds)) for n, (label, ids, holds) in enumerate(waves)
    )
    return Plan(
        plan_id=plan_id or uuid.uuid4().hex,
        scale_set_id=snapshot.scale_set.id,
        scale_set_name=snapshot.scale_set.name,
        strategy=strategy,
        waves=plan_waves,
        skipped=tuple(skipped),
        policy=policy,
        total_instances=total,
        batch=batch_text,
        wave_seconds=wave_seconds,
        warnings=tuple(warnings_for(plan_waves, total, policy)),
        steps=tuple(str(s) for s in steps),
    )


def canary_pick(vms: Sequence[VmInfo], count: int) -> list[VmInfo]:
    """``count`` VMs spread over fault domains and zones: one from each (fault domain,
    zone) in turn, healthy ones first, so a canary sees as many failure modes as it can
    and an already-sick VM does not muddy its signal."""
    buckets: dict[tuple[object, object], list[VmInfo]] = {}
    for vm in sorted(vms, key=lambda v: (not v.is_healthy, v.sort_key)):
        buckets.setdefault((vm.fault_domain, vm.zone), []).append(vm)
    order = sorted(buckets, key=lambda k: (_rank(k[0]), _rank(k[1])))
    picked: list[VmInfo] = []
    while len(picked) < count and any(buckets.values()):
        for key in order:
            if buckets[key] and len(picked) < count:
                picked.append(buckets[key].pop(0))
    return picked


def _rank(value: object) -> tuple[int, str]:
    if value is None:
        return (1, "")
    text = str(value)
    return (0, text.zfill(8))
