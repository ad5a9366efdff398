"""``vmssdash upgrade``: run an upgrade plan without the TUI, resumably.

Useful from a pipeline, and it is what the crash test kills with SIGKILL: the journal
lets a second invocation with ``--resume`` continue where the first one died without
upgrading any VM twice. ``-o table`` prints one line per orchestrator event, ``-o json``
one JSON object per event (JSON lines). The journal doubles as the change record
(``vmssdash report``): who ran it, with which tool version, what the model was before
and after, and the request ids of every write.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vmssdash.azure.errors import ArmError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.cli_common import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_HALTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    emit_json,
    say,
)
from vmssdash.cli_connect import (
    Connection,
    checked_preflight,
    connect,
    require_target,
    settings_from,
)
from vmssdash.cli_plan import plan_document, plan_for
from vmssdash.core.changes import (
    Accepted,
    Change,
    ChangeEvent,
    RollingStart,
    RunContext,
    RunStarted,
    UpgradePlan,
)
from vmssdash.core.events import OrchestratorEvent, RunState
from vmssdash.core.journal import Replay, find_unfinished
from vmssdash.core.model_edit import ImageKind, ModelEdit
from vmssdash.core.observer import Observer
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.report import event_document, image_of, throttled_document
from vmssdash.core.runlock import RunLock, default_lock_dir
from vmssdash.core.runner import RunResult
from vmssdash.core.snapshot import ScaleSetSnapshot, describe_image

if TYPE_CHECKING:
    from vmssdash.config import Settings


@dataclass
class Writes:
    """The request ids of the writes this run sent, from the client's events."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: ClientEvent) -> None:
        if event.kind == "request" and event.method not in (None, "GET"):
            self.seen.append(
                {
                    "method": event.method,
                    "url": event.url,
                    "status": event.status,
                    "request_id": event.request_id,
                }
            )


class Output:
    """Where the run's words go: lines for a person, JSON lines for a pipeline."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == "json"

    def info(self, text: str) -> None:
        # In JSON mode stdout carries only JSON; prose goes to stderr.
        say(text, err=self.json)

    def wire(self, event: ClientEvent) -> None:
        """Throttling seen by the client: a pipeline should know why a run is slow."""
        if event.kind == "throttle" or (event.kind == "retry" and event.status == 429):
            if self.json:
                emit_json(throttled_document(event.message, event.wait, event.status), compact=True)
            else:
                say(f"[Throttled] {event.message}")

    def event(self, event: OrchestratorEvent) -> None:
        if self.json:
            emit_json(event_document(event), compact=True)
        else:
            say(f"[{type(event).__name__}] {event.text()}")


async def _set_version(
    api: ScaleSetApi, version: str, out: Output, writes: Writes
) -> dict[str, Any] | None:
    """PATCH the platform image version; returns the change record (before/after image)."""
    scale_set = await api.get()
    edit = ModelEdit.start(scale_set)
    if edit.draft.image.kind is not ImageKind.PLATFORM:
        raise CliError(
            f"--image-version needs a platform image; {scale_set.name} uses a "
            f"{edit.draft.image.kind.value}",
            EXIT_USAGE,
        )
    image = edit.draft.image
    try:
        known = await api.list_image_versions(
            scale_set.location, image.publisher, image.offer, image.sku
        )
    except ArmError:
        known = []
    edit.draft = edit.draft.with_version(version)
    problems = edit.problems(known_versions=known)
    if problems:
        raise CliError("; ".join(str(p) for p in problems), EXIT_USAGE)
    changes = edit.changes()
    if not changes:
        out.info(f"Model already uses version {version}")
        return None
    for change in changes:
        out.info(f"Model change: {change}")
    for note in edit.warnings():
        out.info(f"Note: {note}")
    before = image_of(scale_set)
    sent = len(writes.seen)
    # A 412 (someone changed the model since it was read) propagates: exit 5.
    updated = await api.update_model(edit.patch(), etag=scale_set.etag, base=scale_set)
    out.info("Model updated")
    return {
        "changes": [str(c) for c in changes],
        "before": before,
        "after": image_of(updated),
        "requests": writes.seen[sent:],
    }


async def run(args: argparse.Namespace, conn: Connection, rid: str) -> int:
    out = Output(args.output)
    settings = conn.settings
    if settings.read_only:
        raise CliError(
            "read-only mode (flag, VMSSDASH_READ_ONLY or read_only in the config file): "
            "`upgrade` would send writes; nothing was sent",
        )
    await checked_preflight(conn, rid)
    writes = Writes()

    def on_wire(event: ClientEvent) -> None:
        writes(event)
        out.wire(event)

    async with conn.client(poll_interval=args.poll_interval, events=on_wire) as client:
        api = ScaleSetApi(client, rid)
        ctx = context_for(conn, api, args.poll_interval, args.health_timeout)
        # The run lock before the first write, held to the end (the model PATCH included):
        # a second process on this set is refused (exit 5, holder named) having sent nothing.
        with ctx.lock.keep(f"headless upgrade of {api.name}"):
            return await _upgrade(args, settings, api, ctx, out, writes)


async def _upgrade(
    args: argparse.Namespace,
    settings: Settings,
    api: ScaleSetApi,
    ctx: RunContext,
    out: Output,
    writes: Writes,
) -> int:
    """Build the same ``Change`` the dashboard would, show its ``describe()``, confirm, run."""
    replay: Replay | None = None
    if args.resume:
        replay = find_unfinished(ctx.journal_dir, api.path)
        if replay is None:
            out.info(f"No unfinished plan for {api.name} in {ctx.journal_dir}; starting a new one")
        else:
            out.info(f"Resuming {replay.describe()}")
    if replay is None and args.image_version:
        model_change = await _set_version(api, args.image_version, out, writes)
        if model_change is not None:
            ctx = replace(ctx, records=(("model", model_change),))
    change: Change
    scale_set = await api.get()
    if replay is not None:
        change = UpgradePlan(replay.plan, describe_image(scale_set), replay=replay)
    elif scale_set.upgrade_mode.lower() == "rolling":
        change = RollingStart.build(ScaleSetSnapshot.build(scale_set, await api.list_vms()))
    else:
        planned = await plan_for(api, args, settings)
        change = UpgradePlan(planned.plan, describe_image(planned.scale_set))
        if out.json:
            emit_json(plan_document(planned), compact=True)
        if not planned.plan.waves:
            out.info(change.describe())
            return EXIT_OK
    out.info(change.title)
    out.info(change.describe())
    if not args.yes and not confirm_change(change):
        out.info("Cancelled; nothing was changed.")
        return EXIT_ERROR

    def emit(event: ChangeEvent) -> None:
        if isinstance(event, RunStarted):
            if isinstance(event.control, Orchestrator) and event.control.journal is not None:
                out.info(f"Journal: {event.control.journal.path}")
        elif not isinstance(event, Accepted):
            out.event(event)

    outcome = await change.run(ctx, emit)
    result = outcome.result
    if result is None:
        return EXIT_OK if outcome.ok else EXIT_ERROR
    for iid, reason in result.failed.items():
        out.info(f"VM {iid}: {reason}")
    if result.not_done:
        out.info(f"Not upgraded: {', '.join(result.not_done)}")
    return _exit_for(result)


def context_for(
    conn: Connection, api: ScaleSetApi, poll_interval: float, health_timeout: float
) -> RunContext:
    """What a headless run needs, as the dashboard builds it: the observer as the reader,
    this scale set's run lock (shared with every other process), who runs it from where."""
    return RunContext(
        api=api,
        pacing=api.pacing,
        reader=Observer(api, pacing=api.pacing),
        journal_dir=conn.settings.journal_dir,
        lock=RunLock(default_lock_dir(), api.path),
        poll_interval=poll_interval,
        health_timeout=health_timeout,
        identity=conn.identity,
        endpoint=conn.endpoint,
    )


def _exit_for(result: RunResult) -> int:
    """0 completed; 4 halted by a health gate or limit, or a VM judged unhealthy; 5 the set
    was busy (409/412); 1 any other fault or a cancelled run."""
    if result.state is RunState.COMPLETED:
        return EXIT_HALTED if result.failed else EXIT_OK
    if result.state is RunState.HALTED:
        return EXIT_HALTED
    if result.state is RunState.FAULTED:
        if result.reason.startswith(("ConflictError", "PreconditionFailedError")):
            return EXIT_CONFLICT
        if "limit" in result.reason or result.failed:
            return EXIT_HALTED
    return EXIT_ERROR


def confirm_change(change: Change) -> bool:
    """The dashboard's rule: a large change needs the scale set's name typed, others y."""
    if not sys.stdin.isatty():
        say("Refusing to change anything without a terminal to confirm on; pass --yes", err=True)
        return False
    expected = change.scale_set_name if change.is_large else "y"
    prompt = f"Type the scale set name ({expected})" if change.is_large else "Proceed? [y/N]"
    answer = input(f"{change.confirm_label}: {prompt}: ").strip()
    return answer == expected or (expected == "y" and answer.lower() in ("y", "yes"))


def cmd_upgrade(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    rid = require_target(args, settings)
    conn = connect(args, settings)
    return asyncio.run(run(args, conn, rid))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vmssdash.orch_cli ARGS`` is ``vmssdash upgrade ARGS``."""
    from vmssdash import cli

    return cli.main(["upgrade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
