"""Command-line entry points.

`vmssdash [TARGET]` opens the dashboard on one scale set, `vmssdash demo` does the same
against a simulator it starts and stops itself, and the other subcommands delegate to
the module that owns them. This file only parses, resolves and reports: every expected
failure becomes one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from vmssdash.azure import errors
from vmssdash.config import AUTH_MODES, ConfigError, Settings, load_settings

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

# Subcommands implemented elsewhere: name -> (module, help). Each module has main(argv) -> int.
DELEGATED: dict[str, tuple[str, str]] = {
    "sim": ("vmssdash.sim.cli", "serve the Azure simulator"),
    "upgrade": ("vmssdash.orch_cli", "run an upgrade plan headless (resumable)"),
    "logout": ("vmssdash.auth_cli", "forget cached tokens"),
    "config": ("vmssdash.auth_cli", "show the configuration (`config path`, `config show`)"),
    "fleet": ("vmssdash.fleet_cli", "list every scale set across subscriptions"),
    "serve": ("vmssdash.serve", "serve the dashboard to a browser (needs vmssdash[web])"),
}


class CliError(Exception):
    """An expected failure: printed as one line, exit code attached."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` (and its subparsers) report a usage error as one line and exit 2.

    argparse prints the whole usage block before the error, which buries the one thing
    the user needs to read; ``--help`` still prints the usage.
    """

    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: {message} (see `{parser.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    setattr(parser, "error", error)  # noqa: B010 - an instance override, not a new attribute
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                one_line_errors(sub)
    return parser


def _check_delegated_args(module: Any, argv: list[str]) -> None:
    """Parse a delegated subcommand's arguments first, so a mistake there is one line too.

    The owning module parses again in its own ``main``; parsing has no side effects.
    """
    factory = getattr(module, "build_parser", None) or getattr(module, "_parser", None)
    if callable(factory):
        one_line_errors(factory()).parse_args(argv)


def _dashboard_parser(prog: str = "vmssdash") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Step an Azure VM scale set through an image upgrade, one domain at a time.",
        epilog="Subcommands: "
        + ", ".join(["demo", *DELEGATED])
        + ". Run `vmssdash SUBCOMMAND --help` for each.",
    )
    parser.add_argument(
        "target",
        nargs="?",
        help="the scale set: a full ARM resource id, or RESOURCE_GROUP/NAME with --subscription",
    )
    parser.add_argument("--resource-id", help="full ARM resource id of the scale set")
    parser.add_argument("-s", "--subscription", help="subscription id (or AZURE_SUBSCRIPTION_ID)")
    parser.add_argument("-g", "--resource-group", help="resource group of the scale set")
    parser.add_argument("-n", "--name", help="name of the scale set")
    parser.add_argument("--endpoint", help="ARM base URL (default: the cloud's, or a simulator's)")
    parser.add_argument(
        "--auth",
        default=None,
        choices=AUTH_MODES,
        help="how to get a token (default: auto)",
    )
    parser.add_argument(
        "--cloud",
        default=None,
        help="AzureCloud, AzureChinaCloud, AzureUSGovernment or a custom one",
    )
    parser.add_argument("--read-only", action="store_true", help="never send anything but GET")
    parser.add_argument("--ca-bundle", help="CA bundle to trust for a TLS endpoint")
    parser.add_argument("--debug-log", help="write a redacted request log to this file")
    return one_line_errors(parser)


def _demo_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmssdash demo",
        description="Open the dashboard on a simulated scale set (the simulator runs as a child process).",
    )
    from vmssdash.sim.scenarios import SCENARIOS

    scenarios = sorted(SCENARIOS)
    parser.add_argument(
        "--scenario",
        default="demo",
        choices=scenarios,
        metavar="NAME",
        help=f"simulator scenario (default: demo; one of {', '.join(scenarios)})",
    )
    parser.add_argument(
        "--set", dest="scale_set", default=None, help="which scale set of the scenario to open"
    )
    parser.add_argument(
        "--speed", type=float, default=4.0, help="simulated clock speed factor (default: 4)"
    )
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument(
        "--faults", default=None, help="simulator fault spec (see `vmssdash sim --help`)"
    )
    parser.add_argument("--read-only", action="store_true", help="never send anything but GET")
    return one_line_errors(parser)


# --------------------------------------------------------------------------- target resolution


def resolve_resource_id(args: argparse.Namespace, env: dict[str, str]) -> str | None:
    """Full id from TARGET / --resource-id / -s -g -n; None means 'ask with the picker'."""
    from vmssdash.azure.scaleset import parse_resource_id

    candidate = args.resource_id or (
        args.target if args.target and args.target.startswith("/") else None
    )
    if candidate:
        try:
            parse_resource_id(candidate)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        return str(candidate)
    group, name = args.resource_group, args.name
    if args.target:
        if "/" not in args.target:
            raise CliError(
                f"target {args.target!r} is neither a resource id nor RESOURCE_GROUP/NAME",
                EXIT_USAGE,
            )
        group, name = args.target.split("/", 1)
    if not (group or name):
        return None
    if not (group and name):
        raise CliError("give both --resource-group and --name (or RESOURCE_GROUP/NAME)", EXIT_USAGE)
    sub = args.subscription or env.get("AZURE_SUBSCRIPTION_ID")
    if not sub:
        raise CliError(
            "no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID, "
            "or put subscription in the config file",
            EXIT_USAGE,
        )
    return (
        f"/subscriptions/{sub}/resourceGroups/{group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )


# --------------------------------------------------------------------------- error reporting


def describe_auth_failure(exc: BaseException, identity: str, endpoint: str) -> str:
    """One line naming who was rejected and what to do, for a 401/403 before the TUI starts."""
    status = getattr(exc, "status", None)
    who = identity or "none"
    if status == 403:
        return (
            f"{who} is not allowed to read this scale set ({exc}); "
            "it needs at least the Reader role on it"
        )
    if who == "none":
        return (
            f"authentication failed: {endpoint} requires a bearer token, but --auth none "
            f"sends none ({exc}); use --auth auto, cli, env or managed-identity"
        )
    return (
        f"authentication failed for {who}: the token was rejected ({exc}); "
        "sign in again (`vmssdash logout`) or choose another --auth mode"
    )


def describe_error(exc: BaseException) -> str:
    """One human line for any expected failure (no traceback)."""
    if isinstance(exc, errors.AuthFailedError):
        return f"authentication failed: {exc}"
    if isinstance(exc, errors.ThrottledError):
        wait = f"; it asks to wait {exc.retry_after:g} s" if exc.retry_after else ""
        return (
            f"Azure is throttling requests for this subscription{wait}; "
            f"try again in a few minutes ({exc})"
        )
    if isinstance(exc, errors.ArmError):
        return str(exc)
    return str(exc) or exc.__class__.__name__


def _expected_errors() -> tuple[type[BaseException], ...]:
    # Imported here: msal (behind auth) is slow to import and `vmssdash sim` never needs it.
    from vmssdash.azure.auth import AuthError
    from vmssdash.azure.clouds import CloudError

    return (errors.ArmError, CliError, ConfigError, CloudError, AuthError)


# --------------------------------------------------------------------------- dashboard


def _build_client(
    endpoint: str,
    token_provider: Any,
    *,
    read_only: bool,
    verify: bool | str = True,
    debug_log: str | None = None,
    retry: Any = None,
) -> Any:
    from vmssdash.azure.client import ArmClient

    kwargs: dict[str, Any] = {
        "token_provider": token_provider,
        "read_only": read_only,
        "verify": verify,
    }
    if debug_log:
        kwargs["debug_log"] = debug_log
    if retry is not None:
        kwargs["retry"] = retry
    try:
        return ArmClient(endpoint, **kwargs)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


async def _preflight(make_client: Callable[..., Any], resource_id: str) -> None:
    """Load the scale set once before the TUI starts, so a wrong target fails clearly.

    It retries less than the dashboard does: a mistyped endpoint should fail in seconds,
    while a live dashboard should ride out a minute of flaky network.
    """
    from vmssdash.azure.retry import RetryPolicy
    from vmssdash.azure.scaleset import ScaleSetApi

    # A server asking for a long Retry-After is reported at once rather than waited out.
    policy = RetryPolicy(max_attempts=3, backoff_cap=2.0, max_retry_after=10.0)
    async with make_client(retry=policy) as client:
        await ScaleSetApi(client, resource_id).get()


def run_dashboard(
    *,
    endpoint: str,
    resource_id: str | None,
    token_provider: Any,
    read_only: bool,
    verify: bool | str = True,
    debug_log: str | None = None,
    settings: Any = None,
    identity: str = "",
) -> int:
    from vmssdash.azure.scaleset import ScaleSetApi

    def make_client(retry: Any = None) -> Any:
        return _build_client(
            endpoint,
            token_provider,
            read_only=read_only,
            verify=verify,
            debug_log=debug_log,
            retry=retry,
        )

    from vmssdash.azure.errors import AuthFailedError

    who = identity or getattr(token_provider, "identity", "")
    try:
        if resource_id is None:
            resource_id = _pick_scale_set(make_client, settings)
            if resource_id is None:
                return 0
        asyncio.run(_preflight(make_client, resource_id))
    except AuthFailedError as exc:
        raise CliError(describe_auth_failure(exc, who, endpoint)) from None

    from vmssdash.ui.app import VmssDashApp

    client = make_client()
    app = VmssDashApp(
        ScaleSetApi(client, resource_id),
        read_only=read_only,
        settings=settings,
        identity=who,
    )
    from vmssdash.ui.signin import attach_device_code_prompts

    # Sign-in prompts during the session (a token that expires mid-upgrade) show in the TUI.
    attach_device_code_prompts(app, token_provider)
    app.run()
    if app.return_code:
        return int(app.return_code)
    return 0


def _pick_scale_set(make_client: Callable[[], Any], settings: Any = None) -> str | None:
    """No target given: the fleet view of every scale set the identity can see."""
    from vmssdash.ui.picker import run_picker

    return run_picker(make_client, journal_dir=getattr(settings, "journal_dir", None))


def _token_provider(mode: str, settings: Settings, cloud_name: str) -> tuple[Any, Any]:
    """Return the token provider and the chosen cloud (its ARM endpoint, its CA file)."""
    from vmssdash.azure.auth import build_token_provider
    from vmssdash.azure.clouds import get_cloud
    from vmssdash.azure.tokens import NoAuth

    cloud = get_cloud(cloud_name, settings)
    if mode == "none":
        return NoAuth(), cloud
    return build_token_provider(mode, cloud, settings), cloud


def main_dashboard(argv: Sequence[str], env: dict[str, str]) -> int:
    args = _dashboard_parser().parse_args(list(argv))
    overrides = {
        k: v
        for k, v in {
            "read_only": args.read_only or None,
            "cloud": args.cloud,
            "auth": args.auth,
            "subscription": args.subscription,
            "endpoint": args.endpoint,
        }.items()
        if v is not None
    }
    settings = load_settings(overrides)
    # Flags are folded into the settings (file < env < flags), so settings hold the answer.
    args.subscription = settings.subscription
    resource_id = resolve_resource_id(args, env)
    token_provider, cloud = _token_provider(settings.auth, settings, settings.cloud)
    endpoint = settings.endpoint or str(cloud.arm_endpoint)
    ca_file = getattr(cloud, "ca_file", None)
    verify: bool | str = args.ca_bundle or (str(ca_file) if ca_file else True)
    return run_dashboard(
        endpoint=endpoint,
        resource_id=resource_id,
        token_provider=token_provider,
        read_only=settings.read_only,
        verify=verify,
        debug_log=args.debug_log,
        settings=settings,
    )


def main_demo(argv: Sequence[str]) -> int:
    from vmssdash.azure.tokens import NoAuth
    from vmssdash.demo import SimulatorStartError, run_simulator

    args = _demo_parser().parse_args(list(argv))
    if args.faults is not None:
        from vmssdash.sim.faults import FaultConfig

        try:
            FaultConfig.parse(args.faults)
        except ValueError as exc:
            raise CliError(f"--faults: {exc}", EXIT_USAGE) from None
    # The user's theme, keymap, refresh interval and journal apply to the demo too.
    settings = load_settings({"read_only": args.read_only or None})
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
                        f"scenario {args.scenario!r} has no scale set {args.scale_set!r} (it has: {names})",
                        EXIT_USAGE,
                    )
                resource_id = matches[0]
            return run_dashboard(
                endpoint=sim.base_url,
                resource_id=resource_id,
                token_provider=NoAuth(),
                read_only=settings.read_only,
                identity="no sign-in (simulator)",
                settings=settings,
            )
    except SimulatorStartError as exc:
        raise CliError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ)
    try:
        if argv and argv[0] == "demo":
            return main_demo(argv[1:])
        if argv and argv[0] in DELEGATED:
            module = importlib.import_module(DELEGATED[argv[0]][0])
            sub_argv = argv if argv[0] == "config" or argv[0] == "logout" else argv[1:]
            _check_delegated_args(module, sub_argv)
            return int(module.main(sub_argv))
        return main_dashboard(argv, env)
    except KeyboardInterrupt:
        print("vmssdash: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _expected_errors() as exc:
        code = exc.code if isinstance(exc, CliError) else EXIT_FAILURE
        print(f"vmssdash: {describe_error(exc)}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
