"""``vmssdash upgrade``: run an upgrade plan without the TUI, resumably.

Useful from a pipeline, and it is what the crash test kills with SIGKILL: the journal
lets a second invocation with ``--resume`` continue where the first one died without
upgrading any VM twice. It prints one line per orchestrator event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError, PreconditionFailedError
from vmssdash.azure.models import ScaleSet, parse_duration
from vmssdash.azure.scaleset import ScaleSetApi, parse_resource_id
from vmssdash.azure.tokens import NoAuth, TokenProvider
from vmssdash.core.eta import learned_wave_seconds
from vmssdash.core.events import OrchestratorEvent, RunState, format_seconds
from vmssdash.core.journal import Replay, default_journal_dir, find_unfinished
from vmssdash.core.model_edit import ImageKind, ModelEdit
from vmssdash.core.orchestrator import Orchestrator, RollingRunner, RunResult
from vmssdash.core.plan import BatchSize, Plan, Policy, Strategy, build_plan
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import STEP_HELP, build_plan_from_steps, resolve_steps

if TYPE_CHECKING:
    from vmssdash.azure.clouds import Cloud
    from vmssdash.config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HALTED = 4


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vmssdash upgrade",
        description="Upgrade a scale set's VMs to its latest model, wave by wave, health-gated.",
    )
    p.add_argument(
        "--endpoint", default=None, help="ARM base URL (default: the cloud's; or a simulator's)"
    )
    p.add_argument("--resource-id", required=True, help="full ARM resource id of the scale set")
    p.add_argument(
        "--auth", default="auto", help="none | auto | env | cli | managed-identity | cache"
    )
    p.add_argument("--cloud", default=None, help="cloud name (default AzureCloud)")
    p.add_argument(
        "--by", choices=["ud", "fd", "zone", "batch"], default="ud", help="wave strategy"
    )
    p.add_argument("--batch", default=None, help="batch size: N VMs or N%% of the set")
    p.add_argument("--steps", default=None, help=STEP_HELP.replace("%", "%%"))
    p.add_argument("--instances", default=None, help="comma-separated instance ids (default: all)")
    p.add_argument("--include-deallocated", action="store_true")
    p.add_argument("--max-unhealthy", type=int, default=None, help="override the policy's %%")
    p.add_argument(
        "--max-unhealthy-upgraded", type=int, default=None, help="override the policy's %%"
    )
    p.add_argument("--pause", default=None, help="pause between waves, ISO-8601 (e.g. PT30S)")
    p.add_argument("--image-version", default=None, help="first set the platform image version")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--resume", action="store_true", help="resume an unfinished plan for this set")
    p.add_argument("--journal-dir", type=Path, default=None)
    p.add_argument("--poll-interval", type=float, default=5.0)
    p.add_argument("--health-timeout", type=float, default=300.0)
    p.add_argument(
        "--wave-seconds",
        type=float,
        default=None,
        help="estimate per wave (default: learned from earlier runs' journals, else 60)",
    )
    p.add_argument("--insecure", action="store_true", help="do not verify TLS (simulator only)")
    p.add_argument("--ca", default=None, help="CA bundle to trust (the simulator's --tls CA)")
    return p


def _print(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _event_line(event: OrchestratorEvent) -> str:
    return f"[{type(event).__name__}] {event.text()}"


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


def _cloud(args: argparse.Namespace) -> tuple[Cloud, Settings]:
    """The settings file and the cloud it (or ``--cloud``) names; loaded only when needed."""
    from vmssdash import config
    from vmssdash.azure import clouds

    settings = config.load_settings({})
    return clouds.get_cloud(args.cloud or settings.cloud or "AzureCloud", settings), settings


def _token_provider(args: argparse.Namespace) -> TokenProvider:
    if args.auth == "none":
        return NoAuth()
    from vmssdash.azure import auth

    cloud, settings = _cloud(args)
    return auth.build_token_provider(args.auth, cloud, settings)


def _cloud_endpoint(args: argparse.Namespace) -> str:
    return str(_cloud(args)[0].arm_endpoint)


async def _set_version(api: ScaleSetApi, version: str) -> None:
    scale_set = await api.get()
    edit = ModelEdit.start(scale_set)
    if edit.draft.image.kind is not ImageKind.PLATFORM:
        raise UsageError(
            f"--image-version needs a platform image; {scale_set.name} uses a "
            f"{edit.draft.image.kind.value}"
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
        raise UsageError("; ".join(str(p) for p in problems))
    changes = edit.changes()
    if not changes:
        _print(f"Model already uses version {version}")
        return
    for change in changes:
        _print(f"Model change: {change}")
    for note in edit.warnings():
        _print(f"Note: {note}")
    try:
        await api.update_model(edit.patch(), etag=scale_set.etag, base=scale_set)
    except PreconditionFailedError as exc:
        raise UsageError(f"{exc}") from None
    _print("Model updated")


async def run(args: argparse.Namespace) -> int:
    try:
        rid = parse_resource_id(args.resource_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    batch = BatchSize.parse(args.batch) if args.batch else None  # None: the policy's
    steps = resolve_steps(args.steps, _cloud(args)[1].strategies) if args.steps else ()
    journal_dir: Path = args.journal_dir or default_journal_dir()
    async with ArmClient(
        args.endpoint or _cloud_endpoint(args),
        token_provider=_token_provider(args),
        verify=False if args.insecure else (args.ca or True),
        poll_interval=args.poll_interval,
    ) as client:
        api = ScaleSetApi(client, rid)

        def on_event(event: OrchestratorEvent) -> None:
            _print(_event_line(event))

        replay: Replay | None = None
        if args.resume:
            replay = find_unfinished(journal_dir, rid.path)
            if replay is None:
                _print(f"No unfinished plan for {rid.name} in {journal_dir}; starting a new one")
            else:
                _print(f"Resuming {replay.describe()}")
        if replay is None and args.image_version:
            await _set_version(api, args.image_version)
        scale_set = await api.get()
        if scale_set.upgrade_mode.lower() == "rolling" and replay is None:
            _print(f"{scale_set.name} is in Rolling mode: starting the server-side rolling upgrade")
            if not args.yes and not _confirm(f"Start a rolling upgrade of {scale_set.name}?"):
                return EXIT_FAILED
            rolling = RollingRunner(api, on_event=on_event, poll_interval=args.poll_interval)
            outcome = await rolling.run()
            return EXIT_OK if outcome.state is RunState.COMPLETED else EXIT_FAILED
        if replay is not None:
            plan = replay.plan
        else:
            vms = await api.list_vms()
            snapshot = ScaleSetSnapshot.build(scale_set, vms)
            selection = (
                [i.strip() for i in args.instances.split(",") if i.strip()]
                if args.instances
                else None
            )
            policy = _policy(scale_set, args)
            wave_seconds = (
                args.wave_seconds or learned_wave_seconds(journal_dir, scale_set.id) or 60.0
            )
            if steps:
                plan = build_plan_from_steps(
                    snapshot,
                    steps,
                    selection=selection,
                    policy=policy,
                    include_deallocated=args.include_deallocated,
                    wave_seconds=wave_seconds,
                )
            else:
                plan = build_plan(
                    snapshot,
                    Strategy(args.by),
                    selection=selection,
                    batch=batch,
                    policy=policy,
                    include_deallocated=args.include_deallocated,
                    wave_seconds=wave_seconds,
                )
            for line in describe_plan(plan):
                _print(line)
            if not plan.waves:
                _print("Nothing to upgrade.")
                return EXIT_OK
            if not args.yes and not _confirm(
                f"Proceed? Type the scale set name ({plan.scale_set_name})", plan.scale_set_name
            ):
                _print("Cancelled; nothing was changed.")
                return EXIT_FAILED
        orchestrator = Orchestrator(
            api,
            plan,
            on_event=on_event,
            journal_dir=journal_dir,
            replay=replay,
            poll_interval=args.poll_interval,
            health_timeout=args.health_timeout,
        )
        _print(f"Journal: {orchestrator.journal.path if orchestrator.journal else '-'}")
        result: RunResult = await orchestrator.run()
        for iid, reason in result.failed.items():
            _print(f"VM {iid}: {reason}")
        if result.not_done:
            _print(f"Not upgraded: {', '.join(result.not_done)}")
        if result.state is RunState.HALTED:
            return EXIT_HALTED
        return EXIT_OK if result.state is RunState.COMPLETED and not result.failed else EXIT_FAILED


def _policy(scale_set: ScaleSet, args: argparse.Namespace) -> Policy:
    """The scale set's rolling policy, with any command-line overrides."""
    policy = Policy.of(scale_set)
    changes: dict[str, Any] = {}
    for name, value in (
        ("max_unhealthy_percent", args.max_unhealthy),
        ("max_unhealthy_upgraded_percent", args.max_unhealthy_upgraded),
    ):
        if value is not None:
            if not 0 <= value <= 100:
                raise UsageError(f"{value} is not a percentage (0-100)")
            changes[name] = value
    if args.pause is not None:
        changes["pause_seconds"] = parse_duration(args.pause)
    return replace(policy, **changes)


def _confirm(prompt: str, expected: str = "y") -> bool:
    if not sys.stdin.isatty():
        _print("Refusing to change anything without a terminal to confirm on; pass --yes", err=True)
        return False
    answer = input(f"{prompt}: ").strip()
    return answer == expected or (expected == "y" and answer.lower() in ("y", "yes"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return asyncio.run(run(args))
    except (UsageError, ValueError) as exc:
        _print(f"vmssdash upgrade: {exc}", err=True)
        return EXIT_USAGE
    except Exception as exc:
        from vmssdash.azure.auth import AuthError  # late: msal loads only when auth is used

        if not isinstance(exc, (ArmError, OSError, AuthError)):
            raise
        _print(f"vmssdash upgrade: {exc}", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _print(
            "Interrupted: the journal allows `--resume`; an upgrade already sent continues in Azure",
            err=True,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
