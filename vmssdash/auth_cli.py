"""``vmssdash logout``, ``vmssdash config path|dirs|show``: headless auth and config chores.

``argv`` includes the subcommand name itself (``["config", "show"]``), as cli.py passes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from vmssdash import paths
from vmssdash.config import ConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vmssdash", add_help=True)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "logout",
        help="forget the tokens vmssdash cached (the Azure CLI login is not touched)",
    )
    config = sub.add_parser("config", help="where the configuration lives and what it says")
    config_sub = config.add_subparsers(dest="action", required=True)
    config_sub.add_parser("path", help="print the config file path (it may not exist yet)")
    config_sub.add_parser("dirs", help="print the config, state, cache and token cache dirs")
    config_sub.add_parser("show", help="print the effective settings, secrets masked")
    return parser


def _logout() -> int:
    from vmssdash.azure.token_cache import clear_token_cache

    removed = [p for p in clear_token_cache() if not p.name.endswith(".lockfile")]
    if removed:
        for path in removed:
            print(f"removed {path}")
    else:
        print(f"no cached tokens in {paths.token_cache_dir()}")
    print("(an Azure CLI login is separate: `az logout` ends it)")
    return 0


def _config(action: str) -> int:
    if action == "path":
        print(paths.config_file())
        return 0
    if action == "dirs":
        for label, path in (
            ("config", paths.config_dir()),
            ("state", paths.state_dir()),
            ("cache", paths.cache_dir()),
            ("tokens", paths.token_cache_dir()),
            ("journal", paths.journal_dir()),
        ):
            print(f"{label:8} {path}")
        return 0
    settings = load_settings({})
    source = paths.config_file()
    print(f"# from {source}{'' if source.exists() else ' (absent: defaults)'} + VMSSDASH_* env")
    print(json.dumps(settings.masked(), indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        if args.command == "logout":
            return _logout()
        return _config(args.action)
    except ConfigError as exc:
        print(f"vmssdash: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
