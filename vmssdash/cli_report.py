"""``vmssdash report [RUN | --last] -o md|json``: a run's journal as a change record."""

from __future__ import annotations

import argparse

from vmssdash.cli_common import EXIT_NOT_FOUND, EXIT_OK, CliError, emit_json
from vmssdash.cli_connect import settings_from
from vmssdash.core.report import build_report, render_markdown


def cmd_report(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        doc = build_report(settings.journal_dir, None if args.last else args.run)
    except LookupError as exc:
        raise CliError(str(exc), EXIT_NOT_FOUND) from None
    if args.output == "json":
        emit_json(doc)
    else:
        print(render_markdown(doc), end="")
    return EXIT_OK
