"""The whole command line as one argparse tree.

argparse (stdlib) rather than click or typer: the tree is small, argcomplete completes it
for bash, zsh and fish without a second description of the options, and the existing
commands already spoke argparse. Global options (``-v``, ``--log-file``, ``--read-only``)
are added to the top parser and, with ``SUPPRESS`` defaults, to every subparser, so they
work before or after the subcommand. ``vmssdash [TARGET]`` is the ``dashboard`` command:
``normalize_argv`` inserts the name when the first word is not a subcommand.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from vmssdash import __version__
from vmssdash.config import AUTH_MODES
from vmssdash.core.steps import STEP_HELP

#: Commands that parse their own arguments: name -> (module, help). Each module has
#: ``build_parser()`` and ``main(argv)``; global options before the name still apply.
PASSTHROUGH: dict[str, tuple[str, str]] = {
    "sim": ("vmssdash.sim.cli", "serve the Azure simulator (`vmssdash sim --help`)"),
    "fleet": ("vmssdash.fleet_cli", "list every scale set across subscriptions (`--help`)"),
    "serve": ("vmssdash.serve", "serve the dashboard to a browser; needs vmssdash[web] (`--help`)"),
    "promote": ("vmssdash.delivery_cli", "let a run waiting at a `pause` step go on"),
    "revert": ("vmssdash.delivery_cli", "put a run's VMs back on the image it started from"),
    "rehearse": ("vmssdash.delivery_cli", "run a plan on a simulated copy of a scale set"),
}
#: Of those, the ones whose ``main`` takes the command name too (one module, three commands).
WITH_NAME = ("promote", "revert", "rehearse")
COMMANDS = (
    "dashboard",
    "demo",
    *PASSTHROUGH,
    "status",
    "plan",
    "upgrade",
    "report",
    "logout",
    "config",
    "completion",
)
OUTPUTS = ("table", "json")
STRATEGIES = ("ud", "fd", "zone", "batch")
SHELLS = ("bash", "zsh", "fish")


class Options(Protocol):
    """A parser or an argument group: anything options are added to."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action: ...


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes; below the top level they default to SUPPRESS so
    a value given before the subcommand survives."""
    dflt: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="more log output: -v info, -vv debug (to stderr, and to the log file)",
        **({"default": 0} if top else dflt),
    )
    group.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="write the log here (mode 0600); with -v and no --log-file: "
        "<XDG state dir>/vmssdash/vmssdash.log",
        **dflt,
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        help="send no change to Azure (only GETs to ARM; sign-in still talks to Entra)",
        **({"default": None} if top else dflt),
    )


def _connection_options(parser: argparse.ArgumentParser, *, target: bool = True) -> None:
    group = parser.add_argument_group("scale set and connection")
    if target:
        group.add_argument(
            "target",
            nargs="?",
            help="the scale set: a full ARM resource id, or RESOURCE_GROUP/NAME",
        )
        group.add_argument("--resource-id", metavar="ID", help="full ARM resource id of the set")
        group.add_argument("-g", "--resource-group", metavar="RG", help="resource group of the set")
        group.add_argument("-n", "--name", help="name of the scale set")
    group.add_argument(
        "-s", "--subscription", metavar="ID", help="subscription id (or AZURE_SUBSCRIPTION_ID)"
    )
    endpoint_options(group)
    group.add_argument(
        "--debug-log",
        type=Path,
        metavar="PATH",
        help="write a redacted line per HTTP request to this file (mode 0600)",
    )


def endpoint_options(group: Options) -> None:
    """Where ARM is and how to sign in to it: the one spelling every command uses (also
    ``fleet``, ``revert`` and ``rehearse``, which parse their own arguments)."""
    group.add_argument(
        "--endpoint", metavar="URL", help="ARM base URL (default: the cloud's; or a simulator's)"
    )
    group.add_argument(
        "--auth",
        choices=AUTH_MODES,
        help=f"how to get a token: {', '.join(AUTH_MODES)} (default: auto)",
    )
    group.add_argument(
        "--cloud",
        help="AzureCloud, AzureChinaCloud, AzureUSGovernment or custom (default: AzureCloud)",
    )
    group.add_argument(
        "--ca-bundle", type=Path, metavar="PEM", help="CA bundle to trust for a TLS endpoint"
    )


def journal_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal-dir",
        type=Path,
        metavar="DIR",
        help="where run journals live (default: <XDG state dir>/vmssdash/journal)",
    )


def _output_option(parser: argparse.ArgumentParser, choices: Sequence[str] = OUTPUTS) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=choices,
        default=choices[0],
        help=f"output format: {' or '.join(choices)} (default: {choices[0]}); "
        "json is versioned ('schema': 1)",
    )


def _plan_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("plan")
    group.add_argument(
        "--by",
        choices=STRATEGIES,
        default="ud",
        help="waves per update domain, fault domain, zone, or fixed batches (default: ud)",
    )
    group.add_argument(
        "--batch",
        metavar="N|N%",
        help="VMs per wave, a count or a percentage of the set (default: the set's policy)",
    )
    group.add_argument(
        "--steps",
        metavar="STEPS",
        help=STEP_HELP.replace("%", "%%") + " (instead of --by/--batch)",
    )
    group.add_argument(
        "--instances",
        metavar="IDS",
        help="comma-separated instance ids to upgrade (default: every VM not on the latest model)",
    )
    group.add_argument(
        "--include-deallocated",
        action="store_true",
        help="also upgrade deallocated VMs (default: skip them)",
    )
    group.add_argument(
        "--max-unhealthy",
        type=int,
        metavar="PERCENT",
        help="halt when more than this %% of the set is unhealthy (default: the set's policy)",
    )
    group.add_argument(
        "--max-unhealthy-upgraded",
        type=int,
        metavar="PERCENT",
        help="halt when more than this %% of upgraded VMs is unhealthy (default: the policy)",
    )
    group.add_argument(
        "--pause",
        metavar="DURATION",
        help="pause between waves, ISO-8601 (e.g. PT30S; default: the policy's)",
    )
    group.add_argument(
        "--wave-seconds",
        type=float,
        metavar="SECONDS",
        help="estimated seconds per wave, for the duration estimate "
        "(default: learned from this set's earlier runs in the journal, else 60)",
    )


def _upgrade_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--image-version",
        metavar="VERSION",
        help="first set the platform image version in the model (a PATCH)",
    )
    group.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    group.add_argument(
        "--resume", action="store_true", help="resume the unfinished plan of this set"
    )
    group.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between polls of an operation and of VM health (default: 5)",
    )
    group.add_argument(
        "--health-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="seconds a VM may take to report healthy after its upgrade (default: 300)",
    )


def _sub(subs: Any, name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
    add_help = kwargs.setdefault("add_help", True)
    parser: argparse.ArgumentParser = subs.add_parser(
        name, help=help_text, description=help_text, **kwargs
    )
    if add_help:
        _global_options(parser, top=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmssdash",
        description="Step an Azure VM scale set through an image upgrade, one domain at a time. "
        "`vmssdash [TARGET]` opens the dashboard.",
        epilog="Exit codes: 0 done, 1 error, 2 usage, 3 not found, 4 halted by a health gate "
        "or limit, 5 conflict, 6 authentication, 130/143 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"vmssdash {__version__}")
    _global_options(parser, top=True)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")

    # prog "vmssdash": the usual spelling is `vmssdash [TARGET]`, so errors name that.
    dash = _sub(
        subs, "dashboard", "open the dashboard (the default: `vmssdash [TARGET]`)", prog="vmssdash"
    )
    _connection_options(dash)
    journal_option(dash)

    demo = _sub(subs, "demo", "open the dashboard on a simulated scale set")
    _demo_options(demo)

    for name, (_module, help_text) in PASSTHROUGH.items():
        own = _sub(subs, name, help_text, add_help=False)
        own.add_argument("own_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    status = _sub(subs, "status", "counts per state and domain, stale and unhealthy VMs, a run")
    _connection_options(status)
    journal_option(status)
    _output_option(status)

    plan = _sub(subs, "plan", "print the upgrade plan the dashboard would run; sends no write")
    _connection_options(plan)
    _plan_options(plan)
    _output_option(plan)

    upgrade = _sub(subs, "upgrade", "run an upgrade plan headless, wave by wave (resumable)")
    _connection_options(upgrade)
    _plan_options(upgrade)
    _upgrade_options(upgrade)
    journal_option(upgrade)
    _output_option(upgrade)

    report = _sub(subs, "report", "render a run's journal as a change record")
    report.add_argument("run", nargs="?", help="plan id (or its first characters), or a path")
    report.add_argument("--last", action="store_true", help="the most recent run (the default)")
    journal_option(report)
    _output_option(report, ("md", "json"))

    _sub(subs, "logout", "forget the tokens vmssdash cached (an Azure CLI login is not touched)")

    config = _sub(subs, "config", "where the configuration lives and what it says")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("path", help="print the config file path (it may not exist yet)")
    actions.add_parser("dirs", help="print the config, state, cache, token and journal dirs")
    show = actions.add_parser("show", help="print the effective settings as JSON, secrets masked")
    _output_option(show, ("json",))

    completion = _sub(subs, "completion", "print a shell completion script")
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    return parser


def _demo_options(parser: argparse.ArgumentParser) -> None:
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
        "--set", dest="scale_set", metavar="NAME", help="which scale set of the scenario to open"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=4.0,
        metavar="FACTOR",
        help="simulated seconds per real second (default: 4)",
    )
    parser.add_argument("--seed", type=int, default=0, help="simulator random seed (default: 0)")
    parser.add_argument(
        "--faults", metavar="SPEC", help="simulator fault spec (see `vmssdash sim --help`)"
    )
    journal_option(parser)


def _takes_value(parser: argparse.ArgumentParser) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for action in parser._actions:
        for option in action.option_strings:
            out[option] = action.nargs != 0
    return out


def first_positional(parser: argparse.ArgumentParser, argv: list[str]) -> int | None:
    """Index of the first word that is neither an option nor an option's value.

    Which options take a value is asked of the dashboard parser (it has the global and
    the connection options), so ``--endpoint URL`` is skipped as one unit.
    """
    takes = _takes_value(subparser(parser, "dashboard"))
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return None
        if not word.startswith("-") or word == "-":
            return i
        i += 2 if "=" not in word and takes.get(word, False) else 1
    return None


def normalize_argv(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Insert ``dashboard`` when the first positional word is not a subcommand.

    ``vmssdash --endpoint URL RG/NAME`` and ``vmssdash --read-only demo`` both parse; a
    bare ``--help`` or ``--version`` stays the top level's.
    """
    at = first_positional(parser, argv)
    if at is None:
        if any(w in ("-h", "--help", "--version") for w in argv):
            return argv
        return ["dashboard", *argv]
    return argv if argv[at] in COMMANDS else ["dashboard", *argv]


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)
