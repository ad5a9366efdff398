"""Packaging promises: the licence the metadata names, install lines, the keyring extra,
and the README's exit-code table matching the code."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from vmssdash import cli_common

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_license_file_is_the_mit_licence_the_metadata_names() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_readme_says_how_to_install_with_pip_and_pipx() -> None:
    assert re.search(r"^pipx install vmssdash", README, re.MULTILINE)
    assert re.search(r"^pip install vmssdash", README, re.MULTILINE)
    assert "vmssdash[keyring]" in README


def test_keyring_extra_brings_msal_extensions() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(dep.startswith("msal-extensions") for dep in extras["keyring"])


def test_plaintext_cache_warning_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vmssdash.azure.token_cache import TokenCacheStore

    monkeypatch.delenv("VMSSDASH_PLAINTEXT_TOKEN_CACHE", raising=False)
    monkeypatch.setitem(sys.modules, "msal_extensions", None)  # as if not installed
    store = TokenCacheStore(tmp_path)
    assert store.status == "plaintext 0600"
    assert store.warning and "pip install 'vmssdash[keyring]'" in store.warning


def test_readme_exit_codes_match_the_code() -> None:
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) ", section, re.MULTILINE)}
    in_code = {value for name, value in vars(cli_common).items() if name.startswith("EXIT_")}
    assert documented == in_code
