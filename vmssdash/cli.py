"""Command-line entry point: parse once, configure logging, run one command, map the exit.

`vmssdash [TARGET]` opens the dashboard on one scale set, `vmssdash demo` does the same
against a simulator it starts and stops itself, and the headless commands (status, plan,
upgrade, report) live in their own modules. This file only parses, dispatches and
reports: every expected failure becomes one line on stderr and a documented exit code
(``cli_common``), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn

from vmssdash.cli_args import (
    PASSTHROUGH,
    WITH_NAME,
    build_parser,
    first_positional,
    normalize_argv,
    subparser,
)
from vmssdash.cli_common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    CliError,
    Terminated,
    describe_error,
    exit_code_for,
    expected_errors,
    redact_argv_words,
)
from vmssdash.cli_connect import Connection, checked_preflight, connect, settings_from
from vmssdash.cli_logging import configure_logging, reset_logging
from vmssdash.config import Settings

# Commands that run without the TUI: they log to stderr and stop cleanly on SIGTERM.
HEADLESS = ("status", "plan", "upgrade", "report", "logout", "config", "completion")


def one_line_errors(
    parser: argparse.ArgumentParser, argv: Sequence[str] = ()
) -> argparse.ArgumentParser:
    """Make ``parser`` (and its subparsers) report a usage error as one line and exit 2.

    argparse prints the whole usage block before the error, which buries the one thing
    the user needs to read; ``--help`` still prints the usage. A word of ``argv`` that
    looks like a credential is masked: argparse would echo it back into a terminal,
    a CI log or a bug report.
    """
    words = list(argv)

    def error(message: str) -> NoReturn:
        text = redact_argv_words(message, words)
        print(f"{parser.prog}: {text} (see `{parser.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    setattr(parser, "error", error)  # noqa: B010 - an instance override, not a new attribute
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                one_line_errors(sub, words)
    return parser


# --------------------------------------------------------------------------- dashboard


def _pick_scale_set(make_client: Callable[..., Any], settings: Settings) -> str | None:
    """No target given: the fleet view of every scale set the identity can see."""
    from vmssdash.ui.picker import run_picker

    return run_picker(make_client, journal_dir=settings.journal_dir)


def run_dashboard(conn: Connection, resource_id: str | None, *, identity: str = "") -> int:
    from vmssdash.azure.scaleset import ScaleSetApi

    def make_client(retry: Any = None) -> Any:
        return conn.client(retry=retry)

    if resource_id is None:
        resource_id = _pick_scale_set(make_client, conn.settings)
        if resource_id is None:
            return EXIT_OK
    asyncio.run(checked_preflight(conn, resource_id))

    from vmssdash.ui.app import VmssDashApp
    from vmssdash.ui.signin import attach_device_code_prompts

    app = VmssDashApp(
        ScaleSetApi(conn.client(), resource_id),
        read_only=conn.settings.read_only,
        settings=conn.settings,
        identity=identity or conn.identity,
        endpoint=conn.endpoint,
    )
    # Sign-in prompts during the session (a token that expires mid-upgrade) show in the TUI.
    attach_device_code_prompts(app, conn.token_provider)
    app.run()
    return int(app.return_code or 0)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from vmssdash.cli_connect import resolve_resource_id

    settings = settings_from(args)
    conn = connect(args, settings)
    return run_dashboard(conn, resolve_resource_id(args, settings, os.environ))


def cmd_demo(args: argparse.Namespace) -> int:
    from vmssdash.azure.tokens import NoAuth
    from vmssdash.demo import SimulatorStartError, run_simulator

    settings = settings_from(args)  # before the simulator starts: a bad config stops here

    if args.faults is not None:
        from vmssdash.sim.faults import FaultConfig

        try:
            FaultConfig.parse(args.faults)
        except ValueError as exc:
            raise CliError(f"--faults: {exc}", EXIT_USAGE) from None
    try:
        with run_simulator(
            scenario=args.scenario, speed=args.speed, seed=args.seed, faults=args.faults
        ) as sim:
            if not sim.resource_ids:
                raise CliError(f"scenario {args.scenario!r} serves no scale set")
            resource_id: str | None = None  # no --set: open on the fleet view
            if args.scale_set:
                matches = [
                    r for r in sim.resource_ids if r.lower().endswith("/" + args.scale_set.lower())
                ]
                if not matches:
                    names = ", ".join(r.rsplit("/", 1)[-1] for r in sim.resource_ids)
                    raise CliError(
                        f"scenario {args.scenario!r} has no scale set {args.scale_set!r} "
                        f"(it has: {names})",
                        EXIT_USAGE,
                    )
                resource_id = matches[0]
            # The simulator is the endpoint whatever the settings say; the user's theme,
            # keymap, refresh interval, journal and read-only apply.
            conn = Connection(
                settings=settings, endpoint=sim.base_url, token_provider=NoAuth(), verify=True
            )
            return run_dashboard(conn, resource_id, identity="no sign-in (simulator)")
    except SimulatorStartError as exc:
        raise CliError(str(exc)) from None


def cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["vmssdash"], shell=args.shell), end="")
    return EXIT_OK


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a command (modules load lazily: msal and Textual are slow)."""
    if name == "dashboard":
        return cmd_dashboard
    if name == "demo":
        return cmd_demo
    if name == "completion":
        return cmd_completion
    if name == "status":
        from vmssdash import cli_status

        return cli_status.cmd_status
    if name == "plan":
        from vmssdash import cli_plan

        return cli_plan.cmd_plan
    if name == "upgrade":
        from vmssdash import orch_cli

        return orch_cli.cmd_upgrade
    if name == "report":
        from vmssdash import cli_report

        return cli_report.cmd_report
    from vmssdash import auth_cli

    return auth_cli.cmd_logout if name == "logout" else auth_cli.cmd_config


# --------------------------------------------------------------------------- main


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _split_passthrough(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[list[str], list[str] | None]:
    """``vmssdash [globals] sim|fleet|serve ARGS``: those commands parse their own."""
    at = first_positional(parser, argv)
    if at is not None and argv[at] in PASSTHROUGH:
        return argv[: at + 1], argv[at + 1 :]
    return argv, None


def _run_passthrough(name: str, argv: list[str], read_only: bool) -> int:
    module = importlib.import_module(PASSTHROUGH[name][0])
    with_name = name in WITH_NAME
    own = one_line_errors(module.parser_for(name) if with_name else module.build_parser(), argv)
    takes_read_only = any("--read-only" in a.option_strings for a in own._actions)
    if read_only and takes_read_only and "--read-only" not in argv:
        argv = [*argv, "--read-only"]  # given before the command name
    if with_name:
        return int(module.main([name, *argv]))
    own.parse_args(argv)
    return int(module.main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = one_line_errors(build_parser(), raw)
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions; this exits
        import argcomplete

        argcomplete.autocomplete(parser)
    words, own_argv = _split_passthrough(parser, normalize_argv(parser, raw))
    args, extra = parser.parse_known_args(words)
    if extra:  # name the subcommand in the message, as its own parser would
        owner = subparser(parser, args.command) if args.command else parser
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    command = args.command
    headless = command in HEADLESS
    # Signal handlers belong to the main thread; a caller's thread (a test) keeps its own.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        configure_logging(args.verbose or 0, args.log_file, stderr=headless)
        if own_argv is not None:
            return _run_passthrough(command, own_argv, bool(args.read_only))
        if headless and main_thread:
            signal.signal(signal.SIGTERM, _raise_terminated)
        return _command(command)(args)
    except KeyboardInterrupt:
        print(f"vmssdash: interrupted{_interrupt_note(command)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"vmssdash: terminated{_interrupt_note(command)}", file=sys.stderr)
        return EXIT_TERMINATED
    except expected_errors() as exc:
        print(f"vmssdash: {redact_argv_words(describe_error(exc), raw)}", file=sys.stderr)
        return exit_code_for(exc)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        reset_logging()


def _interrupt_note(command: str | None) -> str:
    if command != "upgrade":
        return ""
    return (
        "; `vmssdash upgrade --resume` continues from the journal "
        "(an upgrade already sent finishes in Azure)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
