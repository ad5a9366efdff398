"""``vmssdash logout``, ``vmssdash config path|dirs|show``: headless auth and config chores."""

from __future__ import annotations

import argparse
import sys

from vmssdash import paths
from vmssdash.cli_common import SCHEMA, emit_json
from vmssdash.cli_connect import settings_from


def cmd_logout(args: argparse.Namespace) -> int:
    from vmssdash.azure.token_cache import clear_token_cache

    removed = [p for p in clear_token_cache() if not p.name.endswith(".lockfile")]
    if removed:
        for path in removed:
            print(f"removed {path}")
    else:
        print(f"no cached tokens in {paths.token_cache_dir()}")
    print("(an Azure CLI login is separate: `az logout` ends it)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """``show`` prints pure JSON on stdout (pipe it to jq); where it came from goes to stderr."""
    action = args.action
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
    settings = settings_from(args)
    source = paths.config_file()
    print(
        f"# from {source}{'' if source.exists() else ' (absent: defaults)'} + VMSSDASH_* env",
        file=sys.stderr,
    )
    emit_json({"schema": SCHEMA, "settings": settings.masked()})
    return 0
