"""``vmssdash promote``, ``vmssdash revert [RUN]`` and ``vmssdash rehearse TARGET``.

The headless side of progressive delivery. ``promote`` releases a run waiting at a
``pause`` step (it may be another process: the promote is a record in the run's journal,
which the waiting run reads). ``revert`` puts a run's scale set back on the image it
started from and re-upgrades exactly the VMs that run upgraded; it shows the model diff
and the VMs and asks first. ``rehearse`` copies the real set into the embedded simulator
with a read-only client (the source only ever sees GETs) and runs the plan there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from vmssdash.azure.scaleset import ScaleSetApi, parse_resource_id
from vmssdash.cli_args import endpoint_options, journal_option
from vmssdash.cli_common import describe_error, exit_code_for, expected_errors
from vmssdash.cli_connect import Connection, connect, settings_from
from vmssdash.core import bake
from vmssdash.core.changes import Accepted, ChangeEvent, RunStarted
from vmssdash.core.eta import past_wave_seconds
from vmssdash.core.events import Progress, RunState
from vmssdash.core.journal import Replay, list_journals
from vmssdash.core.revert import RevertError, RevertRun, find_run, plan_revert
from vmssdash.core.steps import STEP_HELP, Step, resolve_steps
from vmssdash.orch_cli import confirm_change, context_for

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HALTED = 4

#: What ``rehearse`` runs when no --steps is given.
DEFAULT_STEPS = "canary 1, bake PT5M, ud"


class CommandError(Exception):
    """One line for stderr, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _say(text: str) -> None:
    print(text, flush=True)


def _connection(parser: argparse.ArgumentParser) -> None:
    """The same connection options, spelled the same, as every other command."""
    endpoint_options(parser.add_argument_group("connection"))
    journal_option(parser)
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="send no change to Azure (also VMSSDASH_READ_ONLY or read_only in the config)",
    )


def parser_for(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"vmssdash {command}")
    if command == "promote":
        parser.description = "Let a run waiting at a `pause` step go on."
        parser.add_argument("run", nargs="?", help="plan id (or its first characters)")
        journal_option(parser)
        return parser
    _connection(parser)
    if command == "revert":
        parser.description = (
            "Put a run's scale set back on the image it started from, then re-upgrade "
            "exactly the VMs that run upgraded (the same gated pipeline)."
        )
        parser.add_argument(
            "run", nargs="?", help="plan id or its first characters (default: last)"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--poll-interval", type=float, default=5.0)
        parser.add_argument("--health-timeout", type=float, default=300.0)
        return parser
    parser.description = (
        "Copy a scale set (read-only) into the embedded simulator and run a plan there."
    )
    parser.add_argument("resource_id", help="full ARM resource id of the scale set")
    parser.add_argument("--steps", default=None, help=STEP_HELP.replace("%", "%%"))
    parser.add_argument("--faults", default=None, help="simulator fault spec, e.g. unhealthy=0.1")
    parser.add_argument("--image-version", default=None, help="rehearse a change to this version")
    parser.add_argument("--save", type=Path, default=None, help="write the copy to this file")
    return parser


def _print_event(event: ChangeEvent) -> None:
    if isinstance(event, Accepted):
        _say(f"Accepted: {event.what}")
    elif not isinstance(event, (RunStarted, Progress)):
        _say(event.text())


def _connect(args: argparse.Namespace) -> Connection:
    """Config file < VMSSDASH_* < flags, and the client, as for every other command."""
    return connect(args, settings_from(args))


# --------------------------------------------------------------------------- promote


def promote(args: argparse.Namespace) -> int:
    directory = settings_from(args).journal_dir
    waiting: list[tuple[Replay, tuple[int, int]]] = []
    for replay in list_journals(directory):
        at = None if replay.finished else bake.promote_pending(replay.path)
        if at is not None and (not args.run or replay.plan.plan_id.startswith(args.run)):
            waiting.append((replay, at))
    if not waiting:
        raise CommandError(f"no run is waiting for promote in {directory}")
    if len(waiting) > 1 and not args.run:
        names = ", ".join(f"{r.plan.plan_id[:8]} ({r.plan.scale_set_name})" for r, _ in waiting)
        raise CommandError(f"several runs wait for promote: {names}; name one", EXIT_USAGE)
    replay = waiting[0][0]
    at = bake.promote_run(replay.path)
    if at is None:
        raise CommandError(f"run {replay.plan.plan_id[:8]} no longer waits for promote")
    _say(
        f"Promoted run {replay.plan.plan_id[:8]} on {replay.plan.scale_set_name}: it goes on "
        f"after wave {at[0] + 1}"
    )
    return EXIT_OK


# --------------------------------------------------------------------------- revert


async def revert(args: argparse.Namespace) -> int:
    """The dashboard's ``RevertRun`` change, run with the same context (run lock held)."""
    conn = _connect(args)
    try:
        replay = find_run(conn.settings.journal_dir, args.run)
    except RevertError as exc:
        raise CommandError(str(exc)) from None
    async with conn.client(poll_interval=args.poll_interval) as client:
        api = ScaleSetApi(client, replay.plan.scale_set_id)
        try:
            revert = plan_revert(replay, await api.get())
        except RevertError as exc:
            raise CommandError(str(exc)) from None
        change = RevertRun(revert, replay, len(await api.list_vms()))
        _say(change.title)
        _say(change.describe())
        if not args.yes and not confirm_change(change):
            _say("Cancelled; nothing was changed.")
            return EXIT_FAILED
        ctx = context_for(conn, api, args.poll_interval, args.health_timeout)
        result = (await change.run(ctx, _print_event)).result
    if result is not None and result.state is RunState.COMPLETED and not result.failed:
        return EXIT_OK
    return EXIT_HALTED if result is not None and result.state is RunState.HALTED else EXIT_FAILED


# --------------------------------------------------------------------------- rehearse


async def rehearse(args: argparse.Namespace, steps: Sequence[Step]) -> int:
    from vmssdash import rehearsal
    from vmssdash.sim import scenario_file

    rid = args.resource_id
    conn = _connect(args)
    source = replace(conn, settings=conn.settings.model_copy(update={"read_only": True}))
    async with source.client() as client:  # only GETs can leave
        snapshot = await rehearsal.read_source(ScaleSetApi(client, rid))
    directory = conn.settings.journal_dir
    try:
        scenario = rehearsal.scenario_of(
            snapshot, wave_seconds=past_wave_seconds(directory, rid), faults=args.faults
        )
        if args.image_version:
            scenario = rehearsal.with_version(scenario, args.image_version)
    except rehearsal.RehearsalError as exc:
        raise CommandError(str(exc)) from None
    if args.save is not None:
        scenario_file.save(scenario, args.save)
        _say(
            f"Scenario saved to {args.save}; serve it with `vmssdash sim --scenario-file {args.save}`"
        )
    result = await rehearsal.rehearse(scenario, steps)
    for line in result.lines():
        _say(line)
    return EXIT_OK if result.result.state is RunState.COMPLETED else EXIT_HALTED


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[0] if words and words[0] in ("promote", "revert", "rehearse") else ""
    if not command:
        print("vmssdash: say promote, revert or rehearse", file=sys.stderr)
        return EXIT_USAGE
    parser = parser_for(command)
    try:
        args = parser.parse_args(words[1:])
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if command == "promote":
            return promote(args)
        if command == "revert" and settings_from(args).read_only:
            raise CommandError("read-only mode: `revert` would send writes; nothing was sent")
        if command == "revert":
            return asyncio.run(revert(args))
        try:
            parse_resource_id(args.resource_id)
            steps = resolve_steps(args.steps or DEFAULT_STEPS, settings_from(args).strategies)
            if args.faults:
                from vmssdash.sim.faults import FaultConfig

                FaultConfig.parse(args.faults)
        except ValueError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
        return asyncio.run(rehearse(args, steps))
    except CommandError as exc:
        print(f"vmssdash {command}: {exc}", file=sys.stderr)
        return exc.code
    except expected_errors() as exc:
        print(f"vmssdash {command}: {describe_error(exc)}", file=sys.stderr)
        return exit_code_for(exc)
