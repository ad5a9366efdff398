"""Where vmssdash keeps its files (XDG on Linux, the platform's usual places elsewhere).

One module decides every path so that tests can redirect all of them with the XDG
variables (or ``VMSSDASH_CONFIG`` for the config file) and nothing writes into a real home.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "vmssdash"
CONFIG_ENV = "VMSSDASH_CONFIG"
CONFIG_NAMES = ("config.toml", "config.yaml", "config.yml")


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """Journal, remembered picker choice: data worth keeping but not configuration."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The config file in use: ``$VMSSDASH_CONFIG``, else the first existing default name.

    When none exists the TOML name is returned, so ``vmssdash config path`` can tell the
    user where to create one.
    """
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    base = config_dir()
    for name in CONFIG_NAMES:
        candidate = base / name
        if candidate.exists():
            return candidate
    return base / CONFIG_NAMES[0]


def journal_dir() -> Path:
    return ensure_private_dir(state_dir() / "journal")  # plans name the scale sets: 0700


def token_cache_dir() -> Path:
    """The msal token cache lives apart from other state so logout can wipe it whole."""
    return state_dir() / "auth"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` as 0700 and tighten it if it already existed.

    ``mkdir(mode=...)`` is filtered by the umask and ignored for an existing directory,
    so the explicit chmod is what actually guarantees the mode.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
