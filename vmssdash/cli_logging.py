"""Python logging for every command: ``-v`` to stderr, ``--log-file`` to a 0600 file.

The dashboard owns the terminal, so it never gets a stderr handler; its log goes to the
file only. The file is created 0600 before the handler opens it, because it may name
identities and scale sets.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vmssdash import paths
from vmssdash.cli_connect import private_file

LOGGER = "vmssdash"
_HANDLER_NAME = "vmssdash-cli"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_log_file() -> Path:
    return paths.state_dir() / "vmssdash.log"


def configure_logging(verbose: int, log_file: Path | None, *, stderr: bool) -> Path | None:
    """Set up the ``vmssdash`` logger; returns the log file in use, if any.

    Without ``-v`` only warnings reach stderr (a plaintext token cache, say); ``-v`` adds
    info, ``-vv`` debug. A log file is written when asked for, or with ``-v``.
    """
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    reset_logging()
    root = logging.getLogger(LOGGER)
    if log_file or verbose:
        root.setLevel(min(level, logging.INFO))
    handlers: list[logging.Handler] = []
    if stderr:
        console = logging.StreamHandler()
        console.setLevel(level)
        console.setFormatter(logging.Formatter("vmssdash: %(levelname)s: %(message)s"))
        handlers.append(console)
    path = log_file or (default_log_file() if verbose else None)
    if path is not None:
        file_handler = logging.FileHandler(private_file(path), encoding="utf-8")
        file_handler.setLevel(min(level, logging.INFO))
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        handlers.append(file_handler)
    for handler in handlers:
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    return path


def reset_logging() -> None:
    """Remove what ``configure_logging`` added (the command is over; the file is closed)."""
    root = logging.getLogger(LOGGER)
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.NOTSET)
