"""`vmssdash fleet`: every scale set the identity can see, as a table or JSON.

The same rows as the dashboard's fleet screen (``core.fleet``). Self-contained: the
command line hands it its arguments (``build_parser``/``main``, ``cli_args.PASSTHROUGH``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from vmssdash.cli_args import endpoint_options, journal_option
from vmssdash.core.fleet import COLUMNS, SORT_KEYS, Fleet, cells, filter_rows, load_fleet, sort_rows

DESCRIPTION = "list every scale set across subscriptions (Resource Graph, else ARM)"


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    parser.add_argument(
        "-s",
        "--subscription",
        action="append",
        default=[],
        help="a subscription to cover (repeat; default: all the identity can see)",
    )
    parser.add_argument("--sort", choices=SORT_KEYS, default="name", help="sort column")
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument(
        "--filter",
        default="",
        help="terms that must all match: is:stale, is:unhealthy, is:busy, is:flexible, or text",
    )
    endpoint_options(parser.add_argument_group("connection"))
    journal_option(parser)
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="send only GET (then Resource Graph, a POST, is not used)",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    return configure(argparse.ArgumentParser(prog="vmssdash fleet", description=DESCRIPTION))


def make_client(args: argparse.Namespace) -> Any:
    """An ``ArmClient`` from the config file, the environment and the flags, built as for
    every other command (``cli_connect``)."""
    from vmssdash.azure.retry import RetryPolicy
    from vmssdash.cli_connect import connect
    from vmssdash.config import load_settings

    # Not ``settings_from``: here -s is a list of subscriptions to cover, not the setting.
    flags = ("auth", "cloud", "endpoint", "journal_dir", "ca_bundle")
    overrides: dict[str, Any] = {f: getattr(args, f) for f in flags if getattr(args, f)}
    if args.read_only:
        overrides["read_only"] = True
    conn = connect(args, load_settings(overrides))
    args.journal_dir = conn.settings.journal_dir
    # A one-shot listing: a wrong endpoint should fail in seconds, not after a minute.
    return conn.client(retry=RetryPolicy(max_attempts=4, backoff_cap=4.0, max_retry_after=30.0))


def format_table(fleet: Fleet) -> str:
    headers = [title.upper() for title, _ in COLUMNS]
    rows = [cells(r) for r in fleet.rows]
    widths = [max([len(h), *(len(c[i]) for c in rows)]) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


async def fetch(args: argparse.Namespace) -> Fleet:
    async with make_client(args) as client:
        fleet = await load_fleet(
            client, subscriptions=args.subscription, journal_dir=args.journal_dir
        )
    rows = sort_rows(filter_rows(fleet.rows, args.filter), args.sort, descending=args.desc)
    return Fleet(tuple(rows), fleet.source, fleet.notes, fleet.queries, fleet.quota_wait)


def run(args: argparse.Namespace) -> int:
    fleet = asyncio.run(fetch(args))
    if args.output == "json":
        print(json.dumps(fleet.to_json(), indent=2))
        return 0
    print(format_table(fleet))
    print(
        f"{len(fleet.rows)} scale sets from {fleet.source}; counts: {fleet.counts_from}",
        file=sys.stderr,
    )
    for note in fleet.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
