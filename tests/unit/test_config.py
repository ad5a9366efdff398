"""Settings: file < VMSSDASH_* environment < flags, one-line errors naming the bad key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.auth_helpers import scrub_environment
from vmssdash import cli, paths
from vmssdash.config import ConfigError, Settings, load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scrub_environment(monkeypatch, tmp_path)


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_defaults_live_under_the_xdg_dirs(tmp_path: Path) -> None:
    settings = load_settings({})
    assert settings.cloud == "AzureCloud"
    assert settings.auth == "auto"
    assert settings.refresh_interval == 5.0
    assert settings.journal_dir == tmp_path / "xdg-state" / "vmssdash" / "journal"
    assert paths.config_file() == tmp_path / "xdg-config" / "vmssdash" / "config.toml"
    assert paths.token_cache_dir() == tmp_path / "xdg-state" / "vmssdash" / "auth"


def test_toml_file_then_env_then_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(
        tmp_path / "xdg-config" / "vmssdash" / "config.toml",
        'theme = "nord"\nrefresh_interval = 10\nread_only = true\n'
        'cloud = "AzureChinaCloud"\n[keymap]\nquit = "q"\nrefresh = "ctrl+r"\n',
    )
    monkeypatch.setenv("VMSSDASH_REFRESH_INTERVAL", "7.5")
    monkeypatch.setenv("VMSSDASH_KEYMAP__REFRESH", "r")
    settings = load_settings({"cloud": "AzureUSGovernment", "theme": None})
    assert settings.theme == "nord"  # file (the None flag is ignored)
    assert settings.refresh_interval == 7.5  # env beats file
    assert settings.cloud == "AzureUSGovernment"  # flag beats file
    assert settings.read_only is True
    assert settings.keymap == {"quit": "q", "refresh": "r"}


def test_yaml_file_via_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _write(tmp_path / "elsewhere.yaml", "theme: gruvbox\nkeymap:\n  quit: x\n")
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    monkeypatch.setenv("VMSSDASH_KEYMAP", json.dumps({"help": "f1"}))
    settings = load_settings()
    assert settings.theme == "gruvbox"
    assert settings.keymap == {"quit": "x", "help": "f1"}
    assert paths.config_file() == path


def test_unknown_key_names_the_key_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", "refresh_intervall = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, path=path)
    assert str(info.value) == f"config file {path}: unknown setting 'refresh_intervall'"


def test_bad_value_names_the_key_and_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMSSDASH_REFRESH_INTERVAL", "0.5")
    with pytest.raises(ConfigError) as info:
        load_settings({})
    message = str(info.value)
    assert message.startswith("environment variable VMSSDASH_REFRESH_INTERVAL: ")
    assert "'refresh_interval'" in message
    assert "greater than or equal to 2" in message
    assert "\n" not in message


def test_nested_bad_value_in_custom_cloud(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", '[custom_cloud]\nauthority_host = "https://x"\n')
    with pytest.raises(ConfigError, match=r"'custom_cloud\.arm_endpoint': Field required"):
        load_settings({}, path=path)


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", "theme = \n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, path=path)
    assert "is not valid" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_override_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VMSSDASH_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({})


def test_unrelated_vmssdash_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMSSDASH_SOMETHING_ELSE", "x")
    assert load_settings({}).theme == Settings().theme


def test_secret_only_in_a_private_file_and_never_from_flags(tmp_path: Path) -> None:
    loose = _write(tmp_path / "loose.toml", 'client_secret = "hunter2"\n', mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        load_settings({}, path=loose)
    assert "hunter2" not in str(info.value)
    tight = _write(tmp_path / "tight.toml", 'client_secret = "hunter2"\n', mode=0o600)
    settings = load_settings({}, path=tight)
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert settings.masked()["client_secret"] == "****"
    with pytest.raises(ConfigError, match="command line"):
        load_settings({"client_secret": "hunter2"}, path=tight)


def test_config_show_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "c.toml", 'client_secret = "hunter2"\ntheme = "nord"\n')
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    assert cli.main(["config", "show"]) == 0
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err
    doc = json.loads(out.out)  # pure JSON on stdout; where it came from is on stderr
    assert doc["schema"] == 1
    assert doc["settings"]["client_secret"] == "****"
    assert doc["settings"]["theme"] == "nord"
    assert out.err.startswith(f"# from {path}")


def test_config_path_and_bad_config_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(
        tmp_path / "xdg-config" / "vmssdash" / "config.toml"
    )
    path = _write(tmp_path / "bad.toml", "bogus = 1\n")
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    assert cli.main(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"vmssdash: config file {path}: unknown setting 'bogus'"


def test_logout_removes_the_token_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vmssdash.azure.token_cache import PLAIN_NAME

    cache = paths.ensure_private_dir(paths.token_cache_dir()) / PLAIN_NAME
    cache.write_text("{}")
    assert cli.main(["logout"]) == 0
    assert not cache.exists()
    assert f"removed {cache}" in capsys.readouterr().out
    assert cli.main(["logout"]) == 0
    assert "no cached tokens" in capsys.readouterr().out
