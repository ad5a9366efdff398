"""``vmssdash status``: the heatmap's facts as a table or a JSON document; reads only.

Counts per state per update domain, the VMs not on the latest model, the unhealthy ones,
and the unfinished run of this set in the journal (with its progress), so a pipeline can
decide whether to start, resume or wait without parsing the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

from vmssdash.azure.scaleset import ScaleSetApi, parse_resource_id
from vmssdash.cli_common import EXIT_OK, SCHEMA, emit_json
from vmssdash.cli_connect import checked_preflight, connect, require_target, settings_from
from vmssdash.core.journal import Replay, find_unfinished
from vmssdash.core.snapshot import Grouping, ScaleSetSnapshot
from vmssdash.core.state import VmState

_UNHEALTHY = (VmState.FAILED, VmState.UNHEALTHY)


def _counts(states: Counter[VmState]) -> dict[str, int]:
    return {state.value: states[state] for state in VmState if states[state]}


def run_document(replay: Replay | None) -> dict[str, Any] | None:
    if replay is None:
        return None
    plan = replay.plan
    return {
        "plan_id": plan.plan_id,
        "journal": str(replay.path),
        "strategy": plan.strategy.value,
        "waves_done": len(replay.waves_done),
        "waves_total": len(plan.waves),
        "vms_upgraded": len(replay.settled_ok),
        "vms_failed": len(replay.settled_failed),
        "vms_total": len(plan.targets),
        "in_flight": sorted({i for ids in replay.in_doubt.values() for i in ids}),
    }


def status_document(snapshot: ScaleSetSnapshot, replay: Replay | None) -> dict[str, Any]:
    """``status -o json`` (schema 1)."""
    scale_set = snapshot.scale_set
    domains = [
        {
            "update_domain": group.key,
            "placement_group": group.placement_group,
            "counts": _counts(Counter(vm.state for vm in group.vms)),
        }
        for group in snapshot.groups(Grouping.UPDATE_DOMAIN)
    ]
    return {
        "schema": SCHEMA,
        "kind": "status",
        "scale_set": {
            "id": scale_set.id,
            "name": scale_set.name,
            "upgrade_mode": scale_set.upgrade_mode,
            "image": snapshot.image,
            "capacity": len(snapshot.vms),
        },
        "counts": _counts(snapshot.counts()),
        "domains": domains,
        "stale": snapshot.stale_ids(),
        "unhealthy": [vm.instance_id for vm in snapshot.vms if vm.state in _UNHEALTHY],
        "run": run_document(replay),
    }


def status_lines(doc: dict[str, Any]) -> list[str]:
    ss = doc["scale_set"]
    lines = [
        f"{ss['name']}: {ss['capacity']} VMs, {ss['upgrade_mode']} mode, image {ss['image']}",
        "VMs: " + ", ".join(f"{n} {state}" for state, n in doc["counts"].items()),
    ]
    for domain in doc["domains"]:
        counts = ", ".join(f"{n} {state}" for state, n in domain["counts"].items())
        pg = f" ({domain['placement_group']})" if domain["placement_group"] else ""
        lines.append(f"  UD {domain['update_domain']}{pg}: {counts}")
    lines.append(f"Not on the latest model ({len(doc['stale'])}): {', '.join(doc['stale']) or '-'}")
    lines.append(f"Unhealthy ({len(doc['unhealthy'])}): {', '.join(doc['unhealthy']) or '-'}")
    run = doc["run"]
    if run is None:
        lines.append("No unfinished run in the journal")
    else:
        lines.append(
            f"Unfinished run {run['plan_id'][:8]}: {run['waves_done']}/{run['waves_total']} "
            f"waves, {run['vms_upgraded']} of {run['vms_total']} VMs upgraded, "
            f"{run['vms_failed']} failed (journal {run['journal']})"
        )
    return lines


async def _status(args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_from(args)
    rid = require_target(args, settings)
    conn = connect(args, settings)
    await checked_preflight(conn, rid)
    async with conn.client() as client:
        api = ScaleSetApi(client, rid)
        snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    replay = find_unfinished(settings.journal_dir, parse_resource_id(rid).path)
    return status_document(snapshot, replay)


def cmd_status(args: argparse.Namespace) -> int:
    doc = asyncio.run(_status(args))
    if args.output == "json":
        emit_json(doc)
    else:
        for line in status_lines(doc):
            print(line)
    return EXIT_OK
