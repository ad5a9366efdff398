"""Palette and settings: each command listed once, the theme choice kept in the config
file, unknown keymap ids reported in one line."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tests.ui.fakeapi import make_api
from vmssdash.config import Settings, load_settings, save_setting
from vmssdash.ui.app import VmssDashApp


def make_app(settings: Settings | None = None) -> VmssDashApp:
    return VmssDashApp(
        make_api(),  # type: ignore[arg-type]
        clock=lambda: 100.0,
        timestamp=lambda: "12:00:00",
        live=False,
        settings=settings,
    )


def _log(app: VmssDashApp) -> list[str]:
    return [str(line) for line in app.activity.lines]


async def test_palette_lists_each_command_once() -> None:
    """Today "Down" and "Clear" appear twice: one entry per key of a two-key binding."""
    app = make_app()
    async with app.run_test(size=(100, 32)):
        await app.refresh_snapshot()
        titles = Counter(c.title for c in app.get_system_commands(app.screen))
    assert titles["Down"] == 1
    assert [t for t, n in titles.items() if n > 1] == []


async def test_theme_picked_in_the_app_is_saved_to_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\nrefresh_interval = 10\n\n[keymap]\n"app.quit" = "q"\n')
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    app = make_app(load_settings({}))
    async with app.run_test(size=(100, 32)) as pilot:
        app.theme = "okabe-ito"
        await pilot.pause()
        assert any("theme okabe-ito saved" in line for line in _log(app))
    text = path.read_text()
    assert text.startswith("# mine\n")  # comments and tables survive
    data = tomllib.loads(text)
    assert data["theme"] == "okabe-ito" and data["keymap"] == {"app.quit": "q"}
    assert load_settings({}).theme == "okabe-ito"


def test_save_setting_replaces_a_top_level_value_only(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('theme = "nord"\n[custom_cloud]\ntheme = "not this one"\n')
    save_setting("theme", "dracula", path=path)
    data = tomllib.loads(path.read_text())
    assert data["theme"] == "dracula" and data["custom_cloud"]["theme"] == "not this one"
    assert save_setting("theme", "x", path=Path("/dev/null")) is None


async def test_unknown_keymap_ids_are_one_warning_line() -> None:
    settings = Settings(keymap={"app.quit": "q", "app.qiut": "x", "nope": "y"})
    app = make_app(settings)
    async with app.run_test(size=(100, 32)):
        warnings = [line for line in _log(app) if "keymap" in line]
    assert warnings == [
        "12:00:00 warning: keymap names unknown binding ids, ignored: app.qiut, nope"
    ]
