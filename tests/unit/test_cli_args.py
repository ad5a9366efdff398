"""The argument tree: global flags anywhere, one name per concept, help with units,
completion for three shells, secrets never echoed, private log files."""

from __future__ import annotations

import argparse
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmssdash import __version__, cli, delivery_cli, fleet_cli
from vmssdash.cli_args import COMMANDS, build_parser, normalize_argv
from vmssdash.config import AUTH_MODES


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    return parser.parse_args(normalize_argv(parser, argv))


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["--read-only", "demo"], "demo"),
        (["demo", "--read-only"], "demo"),
        (["-v", "--read-only", "status", "rg/set"], "status"),
        (["--endpoint", "http://127.0.0.1:1", "--read-only", "rg/set"], "dashboard"),
        (["--read-only"], "dashboard"),
        (["rg/set", "--read-only"], "dashboard"),
    ],
)
def test_global_flags_go_before_or_after_the_command(argv: list[str], command: str) -> None:
    """Today `vmssdash --read-only demo` fails: "target 'demo' is neither…"."""
    args = _parse(argv)
    assert args.command == command
    assert args.read_only is True


def test_verbosity_before_the_command_survives_the_subparser() -> None:
    args = _parse(["-vv", "plan", "rg/set"])
    assert args.verbose == 2 and args.log_file is None


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"vmssdash {__version__}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "vmssdash" in script and "_ARGCOMPLETE" in script


def test_every_option_has_help_and_numbers_say_their_unit() -> None:
    for parser in _parsers(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
                continue
            where = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where} has no help text"
            if action.type in (int, float) and action.dest not in ("seed",):
                unit = (action.metavar or "") + action.help
                assert any(u in unit for u in ("SECONDS", "PERCENT", "FACTOR", "%")), where


def test_one_name_per_concept() -> None:
    """Today `upgrade --ca` vs `--ca-bundle`, and `upgrade --auth` help lists 6 of 8 modes."""
    options: set[str] = set()
    for parser in _parsers(build_parser()):
        for action in parser._actions:
            options.update(action.option_strings)
            if "--auth" in action.option_strings:
                assert tuple(action.choices or ()) == AUTH_MODES
                assert all(mode in (action.help or "") for mode in AUTH_MODES)
    assert "--ca" not in options and "--insecure" not in options
    assert "--ca-bundle" in options


@pytest.mark.parametrize("command", ["fleet", "revert", "rehearse"])
def test_commands_with_their_own_parser_spell_the_connection_the_same(command: str) -> None:
    """`fleet` had a free-form --auth; `revert`/`rehearse` had --ca and --insecure."""
    parser = fleet_cli.build_parser() if command == "fleet" else delivery_cli.parser_for(command)
    auth = next(a for a in parser._actions if "--auth" in a.option_strings)
    assert tuple(auth.choices or ()) == AUTH_MODES
    options = {o for a in parser._actions for o in a.option_strings}
    assert {"--ca-bundle", "--endpoint", "--cloud", "--journal-dir"} <= options
    assert "--ca" not in options and "--insecure" not in options
    args = parser.parse_args(["--ca-bundle", "ca.pem", *([] if command != "rehearse" else ["x"])])
    assert args.ca_bundle == Path("ca.pem")


def test_every_documented_command_exists() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)


SECRET = "Xy7Q~s3cr3tVALUEabcdefghij0123"


@pytest.mark.parametrize(
    "argv",
    [
        ["upgrade", "--auth", SECRET],
        ["status", "rg/set", SECRET],
        ["plan", "rg/set", f"--client-secret={SECRET}"],
        ["rg/set", "--auth", SECRET],
    ],
    ids=["bad choice", "extra word", "unknown option", "dashboard"],
)
def test_a_secret_on_the_command_line_is_never_echoed(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "****" in err
    assert len(err.splitlines()) == 1


def test_a_secret_given_as_the_target_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VMSSDASH_CONFIG", os.devnull)
    assert cli.main([SECRET, "--auth", "none"]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "target '****'" in err


def test_ordinary_words_are_still_shown_in_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["upgrade", "--by", "sideways"])
    assert "'sideways'" in capsys.readouterr().err


def test_log_file_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VMSSDASH_CONFIG", os.devnull)
    log = tmp_path / "logs" / "vmssdash.log"
    assert cli.main(["--log-file", str(log), "config", "path"]) == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    # The command is over: its handlers are gone, nothing else writes to its file.
    assert not [h for h in logging.getLogger("vmssdash").handlers if h.get_name()]


def test_verbose_without_a_path_logs_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("VMSSDASH_CONFIG", os.devnull)
    assert cli.main(["-v", "config", "dirs"]) == 0
    log = tmp_path / "vmssdash" / "vmssdash.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_global_options_before_sim_leave_its_arguments_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--log-file", str(tmp_path / "l.log"), "sim", "--bogus"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("vmssdash sim: unrecognized arguments: --bogus")
