"""A run's journal as a change record: who, what, when, results, errors, what was left.

The journal is written for resuming; a change-advisory board, an incident review or a
support case wants the same facts arranged differently. This module only reads records
(``journal.read_records``) and arranges them, so a report can be made from any journal,
including one of a run that crashed, and it never needs Azure.
"""

from __future__ import annotations

import getpass
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from vmssdash import __version__
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.core.events import OrchestratorEvent
from vmssdash.core.journal import list_journals, read_records

SCHEMA = 1


def _now_iso() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_context(
    *, identity: str, endpoint: str, resumed: bool, image: dict[str, Any]
) -> dict[str, Any]:
    """The journal's ``context`` record: who ran it from where, with which tool, on what image."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = ""
    return {
        "tool": "vmssdash",
        "version": __version__,
        "identity": identity,
        "os_user": user,
        "host": platform.node(),
        "endpoint": endpoint,
        "resumed": resumed,
        "image": image,
    }


def image_of(scale_set: ScaleSet) -> dict[str, Any]:
    """The model's image reference as Azure holds it (the before/after image)."""
    ref = scale_set.image_reference
    return ref.model_dump(mode="json", by_alias=True, exclude_none=True) if ref else {}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def event_document(event: OrchestratorEvent) -> dict[str, Any]:
    """One ``upgrade -o json`` line (schema 1): ``event`` in snake case, its fields, ``text``."""
    name = type(event).__name__
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    fields = {k: _plain(v) for k, v in asdict(event).items() if k != "at"}
    return {"schema": SCHEMA, "event": snake, "time": _now_iso(), **fields, "text": event.text()}


def throttled_document(message: str, wait: float | None, status: int | None) -> dict[str, Any]:
    """The ``throttled`` line of ``upgrade -o json``: from the ARM client, not the plan."""
    return {
        "schema": SCHEMA,
        "event": "throttled",
        "time": _now_iso(),
        "status": status,
        "wait_seconds": wait,
        "text": message,
    }


# --------------------------------------------------------------------------- report


@dataclass
class WaveLine:
    index: int
    label: str
    instance_ids: list[str]
    started: str = ""
    dispatched: str = ""
    accepted: str = ""
    request_id: str | None = None
    correlation_id: str | None = None
    operation_status: str = ""
    operation_error: str = ""
    finished: str = ""
    vms: list[dict[str, Any]] = field(default_factory=list)


def _find(journal_dir: Path, run: str | None) -> Path:
    if run and Path(run).is_file():
        return Path(run)
    journals = list_journals(journal_dir)
    if run:
        matches = [j for j in journals if j.plan.plan_id.startswith(run)]
        if len(matches) != 1:
            what = "no run" if not matches else f"{len(matches)} runs"
            raise LookupError(f"{what} in {journal_dir} with a plan id starting {run!r}")
        return matches[0].path
    if not journals:
        raise LookupError(f"no run journal in {journal_dir}")
    return max(journals, key=lambda j: j.last_ts).path


def build_report(journal_dir: Path, run: str | None = None) -> dict[str, Any]:
    """The change record of ``run`` (a plan id prefix or a journal path; None: the last)."""
    path = _find(journal_dir, run)
    records = list(read_records(path))
    plan = next((r["plan"] for r in records if r.get("kind") == "plan"), None)
    if plan is None:
        raise LookupError(f"{path} holds no plan record")
    waves = {
        w["index"]: WaveLine(w["index"], w["label"], list(w["instance_ids"])) for w in plan["waves"]
    }
    contexts: list[dict[str, Any]] = []
    started_by: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = []
    finished: dict[str, Any] | None = None
    for rec in records:
        kind, at = rec.get("kind"), str(rec.get("at", ""))
        wave = waves.get(rec["wave"]) if isinstance(rec.get("wave"), int) else None
        if kind == "start" and not contexts:
            # A run started from the dashboard has no context record: its start names
            # the tool version at least.
            started_by = {"version": rec.get("version"), "at": at}
        elif kind == "context":
            contexts.append({k: v for k, v in rec.items() if k not in ("kind", "ts")})
        elif kind == "model":
            model = {k: v for k, v in rec.items() if k not in ("kind", "ts")}
        elif kind == "wave-start" and wave:
            wave.started = wave.started or at
        elif kind == "dispatch" and wave:
            wave.dispatched = at
        elif kind == "accepted" and wave:
            wave.accepted = at
            wave.request_id = rec.get("request_id")
            wave.correlation_id = rec.get("correlation_id")
        elif kind == "dispatch-failed":
            errors.append(_error(rec, "dispatch refused"))
        elif kind == "operation" and wave:
            wave.operation_status = str(rec.get("status", ""))
            wave.operation_error = str(rec.get("error", ""))
            if wave.operation_error:
                error = _error(rec, f"operation {wave.operation_status}")
                error["request_id"] = error["request_id"] or wave.request_id
                error["correlation_id"] = error["correlation_id"] or wave.correlation_id
                errors.append(error)
        elif kind == "vm":
            target = wave or _wave_of(waves, str(rec.get("instance_id")))
            if target is not None:
                target.vms.append(
                    {
                        "instance_id": str(rec.get("instance_id")),
                        "ok": bool(rec.get("ok")),
                        "reason": rec.get("reason", ""),
                        "at": at,
                    }
                )
        elif kind == "wave-done" and wave:
            wave.finished = at
        elif kind == "note" and rec.get("level") in ("warning", "error"):
            errors.append(_error(rec, str(rec.get("level"))))
        elif kind == "finished":
            finished = rec
    settled = {vm["instance_id"]: vm for w in waves.values() for vm in w.vms}
    in_flight = [
        i
        for w in waves.values()
        if w.dispatched and not w.finished
        for i in w.instance_ids
        if i not in settled
    ]
    targets = [i for w in plan["waves"] for i in w["instance_ids"]]
    return {
        "schema": SCHEMA,
        "kind": "report",
        "journal": str(path),
        "plan_id": plan["plan_id"],
        "scale_set": {"id": plan["scale_set_id"], "name": plan["scale_set_name"]},
        "who": contexts[0] if contexts else started_by,
        "sessions": contexts,
        "what": {
            "model_change": model,
            "strategy": plan["strategy"],
            "batch": plan.get("batch", ""),
            "targets": len(targets),
            "waves": len(plan["waves"]),
            "skipped": plan.get("skipped", []),
        },
        "when": {
            "started": str(records[0].get("at", "")),
            "ended": str(finished.get("at", "")) if finished else None,
        },
        "timeline": [asdict(w) for w in sorted(waves.values(), key=lambda w: w.index)],
        "result": {
            "state": finished.get("state") if finished else "unfinished",
            "reason": finished.get("reason", "")
            if finished
            else "the journal ends before the run did",
            "upgraded": [i for i in targets if settled.get(i, {}).get("ok")],
            "failed": {i: vm["reason"] for i, vm in settled.items() if not vm["ok"]},
            "not_done": [i for i in targets if i not in settled],
        },
        "errors": errors,
        "in_flight_at_end": in_flight,
    }


def _wave_of(waves: dict[int, WaveLine], iid: str) -> WaveLine | None:
    return next((w for w in waves.values() if iid in w.instance_ids), None)


def _error(rec: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "at": rec.get("at", ""),
        "what": what,
        "wave": rec.get("wave"),
        "message": rec.get("error") or rec.get("message", ""),
        "request_id": rec.get("request_id"),
        "correlation_id": rec.get("correlation_id"),
    }


# --------------------------------------------------------------------------- markdown


def render_markdown(doc: dict[str, Any]) -> str:
    ss, what, result = doc["scale_set"], doc["what"], doc["result"]
    who = doc["who"] or {}
    out = [
        f"# Change record: upgrade of {ss['name']}",
        "",
        f"- Scale set: `{ss['id']}`",
        f"- Plan: `{doc['plan_id']}` (journal `{doc['journal']}`)",
        f"- Who: {who.get('identity') or 'unknown'} (OS user {who.get('os_user') or '?'} "
        f"on {who.get('host') or '?'}), vmssdash {who.get('version') or '?'}",
        f"- Endpoint: {who.get('endpoint') or '?'}",
        f"- When: {doc['when']['started']} → {doc['when']['ended'] or 'not finished'}",
        f"- Result: **{result['state']}**" + (f": {result['reason']}" if result["reason"] else ""),
        "",
        "## What",
        "",
        f"{what['targets']} VMs in {what['waves']} waves (by {what['strategy']}"
        + (f", batches of {what['batch']}" if what["batch"] else "")
        + f"); {len(what['skipped'])} skipped.",
    ]
    model = what["model_change"]
    if model:
        out += ["", "Model change:", ""]
        out += [f"- {c}" for c in model.get("changes", [])]
        out += [f"- before: `{_image_text(model.get('before'))}`"]
        out += [f"- after: `{_image_text(model.get('after'))}`"]
        for req in model.get("requests", []):
            out.append(
                f"- {req.get('method')} → {req.get('status')}, request id `{req.get('request_id')}`"
            )
    elif who.get("image"):
        out += ["", f"Image (model, unchanged by this run): `{_image_text(who['image'])}`"]
    for skip in what["skipped"]:
        out.append(f"- skipped VM {skip['instance_id']}: {skip['reason']}")
    out += ["", "## Timeline", ""]
    for wave in doc["timeline"]:
        out.append(
            f"### Wave {wave['index'] + 1}: {wave['label']} ({len(wave['instance_ids'])} VMs)"
        )
        out.append("")
        if not wave["started"]:
            out += ["- not started", ""]
            continue
        out.append(f"- started {wave['started']}, dispatched {wave['dispatched'] or '-'}")
        if wave["accepted"]:
            out.append(
                f"- accepted {wave['accepted']}, request id `{wave['request_id']}`, "
                f"correlation id `{wave['correlation_id']}`"
            )
        if wave["operation_status"]:
            err = f": {wave['operation_error']}" if wave["operation_error"] else ""
            out.append(f"- operation {wave['operation_status']}{err}")
        for vm in wave["vms"]:
            verdict = "healthy" if vm["ok"] else f"FAILED: {vm['reason']}"
            out.append(f"- VM {vm['instance_id']} {verdict} at {vm['at']}")
        out.append(f"- finished {wave['finished'] or '-'}")
        out.append("")
    out += ["## Results", ""]
    out.append(f"- upgraded ({len(result['upgraded'])}): {', '.join(result['upgraded']) or '-'}")
    for iid, reason in result["failed"].items():
        out.append(f"- failed VM {iid}: {reason}")
    out.append(f"- not done ({len(result['not_done'])}): {', '.join(result['not_done']) or '-'}")
    out += ["", "## Errors", ""]
    if not doc["errors"]:
        out.append("- none")
    for err in doc["errors"]:
        rid = f" (request id `{err['request_id']}`)" if err.get("request_id") else ""
        out.append(f"- {err['at']} {err['what']}: {err['message']}{rid}")
    out += ["", "## In flight at the end", ""]
    flying = doc["in_flight_at_end"]
    out.append(
        f"- {', '.join(flying)}: sent to Azure, outcome not recorded" if flying else "- nothing"
    )
    return "\n".join(out) + "\n"


def _image_text(image: Any) -> str:
    if not isinstance(image, dict) or not image:
        return "?"
    if image.get("id"):
        return str(image["id"])
    return ":".join(str(image.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
