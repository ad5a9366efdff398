"""``vmssdash plan``: the upgrade plan the dashboard would run, printed; nothing is sent.

``upgrade`` builds its plan through the same ``plan_for`` (reads only), so what ``plan``
prints is what ``upgrade`` runs, and both build it with ``core.plan.build_plan`` exactly
as the dashboard's plan dialog does.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass, replace
from typing import Any

from vmssdash.azure.models.durations import parse_duration
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.cli_common import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, SCHEMA, CliError, emit_json
from vmssdash.cli_connect import checked_preflight, connect, require_target, settings_from
from vmssdash.config import Settings
from vmssdash.core.eta import learned_wave_seconds
from vmssdash.core.events import format_seconds
from vmssdash.core.plan import BatchSize, Plan, Policy, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import build_plan_from_steps, resolve_steps


@dataclass(frozen=True)
class Planned:
    scale_set: ScaleSet
    snapshot: ScaleSetSnapshot
    plan: Plan


def selection(args: argparse.Namespace) -> list[str] | None:
    if not args.instances:
        return None
    return [i.strip() for i in args.instances.split(",") if i.strip()]


def policy_for(scale_set: ScaleSet, args: argparse.Namespace) -> Policy:
    """The scale set's rolling policy, with any command-line overrides."""
    policy = Policy.of(scale_set)
    changes: dict[str, Any] = {}
    for name, value in (
        ("max_unhealthy_percent", args.max_unhealthy),
        ("max_unhealthy_upgraded_percent", args.max_unhealthy_upgraded),
    ):
        if value is not None:
            if not 0 <= value <= 100:
                raise CliError(f"{value} is not a percentage (0-100)", EXIT_USAGE)
            changes[name] = value
    if args.pause is not None:
        try:
            changes["pause_seconds"] = parse_duration(args.pause)
        except ValueError as exc:
            raise CliError(f"--pause: {exc}", EXIT_USAGE) from None
    return replace(policy, **changes)


async def plan_for(api: ScaleSetApi, args: argparse.Namespace, settings: Settings) -> Planned:
    """Read the set and its VMs and build the plan; an unknown instance id is exit 3.

    ``--steps`` (written out, or a name from the config's ``strategies``) replaces
    ``--by``/``--batch``. The estimate per wave is ``--wave-seconds``, else learned from
    this set's earlier runs in the journal, else 60 s."""
    try:
        batch = BatchSize.parse(args.batch) if args.batch else None  # None: the policy's
        steps = resolve_steps(args.steps, settings.strategies) if args.steps else ()
    except ValueError as exc:  # StepError is a ValueError
        raise CliError(str(exc), EXIT_USAGE) from None
    scale_set = await api.get()
    snapshot = ScaleSetSnapshot.build(scale_set, await api.list_vms())
    wanted = selection(args)
    missing = sorted(set(wanted or ()) - set(snapshot.by_id))
    if missing:
        raise CliError(
            f"{scale_set.name} has no VM with instance id {', '.join(missing)}", EXIT_NOT_FOUND
        )
    policy = policy_for(scale_set, args)
    wave_seconds = (
        args.wave_seconds or learned_wave_seconds(settings.journal_dir, scale_set.id) or 60.0
    )
    if steps:
        plan = build_plan_from_steps(
            snapshot,
            steps,
            selection=wanted,
            policy=policy,
            include_deallocated=args.include_deallocated,
            wave_seconds=wave_seconds,
        )
    else:
        plan = build_plan(
            snapshot,
            Strategy(args.by),
            selection=wanted,
            batch=batch,
            policy=policy,
            include_deallocated=args.include_deallocated,
            wave_seconds=wave_seconds,
        )
    return Planned(scale_set, snapshot, plan)


def describe_plan(plan: Plan) -> list[str]:
    lines = [plan.summary(), f"Policy: {plan.policy.describe()}"]
    for wave in plan.waves:
        lines.append(
            f"  wave {wave.index + 1}: {wave.label}: {len(wave.instance_ids)} VMs "
            f"[{', '.join(wave.instance_ids)}]"
        )
        lines += [f"    then {hold.text()}" for hold in wave.after]
    if plan.skipped:
        lines.append(f"Skipped ({len(plan.skipped)}):")
        for skip in plan.skipped:
            lines.append(f"  VM {skip.instance_id}: {skip.reason}")
    lines.append(f"Estimated duration: {format_seconds(plan.estimated_seconds)}")
    lines.extend(f"Warning: {w}" for w in plan.warnings)
    return lines


def plan_document(planned: Planned) -> dict[str, Any]:
    """``plan -o json`` (schema 1): everything a pipeline needs to decide, no prose to parse."""
    plan = planned.plan
    return {
        "schema": SCHEMA,
        "kind": "plan",
        "plan_id": plan.plan_id,
        "scale_set": {
            "id": plan.scale_set_id,
            "name": plan.scale_set_name,
            "upgrade_mode": planned.scale_set.upgrade_mode,
            "image": planned.snapshot.image,
        },
        "strategy": plan.strategy.value,
        "batch": plan.batch,
        "policy": asdict(plan.policy),
        "total_instances": plan.total_instances,
        "targets": len(plan.targets),
        "waves": [
            {
                "index": w.index,
                "label": w.label,
                "instance_ids": list(w.instance_ids),
                "then": [hold.text() for hold in w.after],
            }
            for w in plan.waves
        ],
        "skipped": [{"instance_id": s.instance_id, "reason": s.reason} for s in plan.skipped],
        "estimated_seconds": plan.estimated_seconds,
        "warnings": list(plan.warnings),
    }


async def _plan(args: argparse.Namespace) -> Planned:
    settings = settings_from(args)
    rid = require_target(args, settings)
    conn = connect(args, settings)
    await checked_preflight(conn, rid)
    async with conn.client() as client:
        return await plan_for(ScaleSetApi(client, rid), args, settings)


def cmd_plan(args: argparse.Namespace) -> int:
    planned = asyncio.run(_plan(args))
    if args.output == "json":
        emit_json(plan_document(planned))
    else:
        for line in describe_plan(planned.plan):
            print(line)
    return EXIT_OK
