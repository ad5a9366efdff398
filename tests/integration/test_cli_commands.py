"""The headless commands against the simulator: one settings path, read-only everywhere,
plans that send nothing, the documented exit codes, and the change record.

Commands run in-process through ``cli.main`` (a fallback to a real cloud would meet the
network guard, never Azure); the simulator records every request it receives.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.cli_helpers import RG, RecordedSim, recorded_sims
from vmssdash import cli
from vmssdash.cli_common import (
    EXIT_AUTH,
    EXIT_CONFLICT,
    EXIT_HALTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_TERMINATED,
)

Sim = Callable[..., RecordedSim]
NAME = "vmss-small"
TARGET = f"{RG}/{NAME}"
NEW_VERSION = "24.04.202611150"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("VMSSDASH_CONFIG", os.devnull)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
    keep = ("VMSSDASH_CONFIG", "VMSSDASH_DISABLE_MANAGED_IDENTITY")
    for name in list(os.environ):
        if name.startswith("VMSSDASH_") and name not in keep:
            monkeypatch.delenv(name)


@pytest.fixture
def recorded_sim() -> Iterator[Sim]:
    yield from recorded_sims()


def _fast_sim(make: Sim, **kwargs: Any) -> RecordedSim:
    """A simulator on a real clock at 50x: an upgrade of 10 VMs takes a few seconds."""
    return make("small", manual_clock=False, speed=50.0, **kwargs)


def _flags(sim: RecordedSim) -> list[str]:
    return ["--endpoint", sim.base_url, "--auth", "none"]


def _upgrade(*extra: str) -> list[str]:
    return ["upgrade", TARGET, "--yes", "--poll-interval", "0.05", *extra]


# --------------------------------------------------------------------------- one settings path


def _settle(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, values: dict[str, Any]
) -> None:
    """Put ``values`` into the config file or into VMSSDASH_* variables."""
    if how == "file":
        path = tmp_path / "config.toml"
        path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
        monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    else:
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"VMSSDASH_{key.upper()}", text)


SOURCES = ["file", "environment"]


@pytest.mark.parametrize("how", SOURCES)
def test_upgrade_in_read_only_mode_sends_nothing(
    how: str,
    recorded_sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Today's bug: read_only in the config or the environment still sent a PATCH and
    ten manual upgrades."""
    sim = _fast_sim(recorded_sim)
    _settle(how, monkeypatch, tmp_path, {"read_only": True, "endpoint": sim.base_url})
    code = cli.main(_upgrade("--auth", "none", "--image-version", NEW_VERSION))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "read-only" in err and "nothing was sent" in err
    assert sim.recorder.writes == []


@pytest.mark.parametrize("how", SOURCES)
def test_endpoint_auth_and_journal_dir_come_from_the_settings(
    how: str,
    recorded_sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No connection flag at all: status, plan, upgrade and report find the simulator,
    sign in with ``none`` and share the configured journal."""
    sim = _fast_sim(recorded_sim)
    journal = tmp_path / "journals"
    _settle(
        how,
        monkeypatch,
        tmp_path,
        {"endpoint": sim.base_url, "auth": "none", "journal_dir": str(journal)},
    )
    assert cli.main(["status", TARGET, "-o", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["scale_set"]["name"] == NAME
    assert cli.main(["plan", TARGET, "-o", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["targets"] == 3
    assert cli.main(_upgrade()) == EXIT_OK, capsys.readouterr()
    assert len(list(journal.glob("*.jsonl"))) == 1
    capsys.readouterr()
    assert cli.main(["report", "--last", "-o", "json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["journal"].startswith(str(journal))
    assert report["result"]["state"] == "completed"
    assert [m for m, _ in sim.recorder.requests if m == "POST"] == ["POST"] * 3  # 3 UDs


@pytest.mark.parametrize("how", SOURCES)
@pytest.mark.parametrize("command", ["dashboard", "status", "plan", "upgrade"])
def test_every_command_honours_the_configured_cloud(
    command: str,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _settle(how, monkeypatch, tmp_path, {"cloud": "NoSuchCloud", "auth": "cli"})
    argv = [TARGET] if command == "dashboard" else [command, TARGET]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "NoSuchCloud" in err[0], err


@pytest.mark.parametrize("how", SOURCES)
def test_dashboard_takes_read_only_and_journal_dir_from_the_settings(
    how: str,
    recorded_sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from vmssdash.ui.app import VmssDashApp

    sim = recorded_sim("small")
    seen: dict[str, Any] = {}

    def record(self: VmssDashApp) -> None:
        seen.update(read_only=self.read_only, journal=self.journal_dir, client=self.api.client)

    monkeypatch.setattr(VmssDashApp, "run", record)
    journal = tmp_path / "j"
    _settle(
        how,
        monkeypatch,
        tmp_path,
        {"read_only": True, "journal_dir": str(journal), "endpoint": sim.base_url, "auth": "none"},
    )
    assert cli.main([TARGET]) == EXIT_OK
    assert seen["read_only"] is True and seen["client"].read_only is True
    assert seen["journal"] == journal


# --------------------------------------------------------------------------- outputs


GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _golden(name: str, doc: Any) -> None:
    expected = json.loads((GOLDEN / name).read_text())
    assert doc == expected, json.dumps(doc, indent=2, sort_keys=True)


def test_plan_json_is_the_golden_document_and_sends_no_write(
    recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = recorded_sim("small")
    assert cli.main(["plan", TARGET, *_flags(sim), "--by", "ud", "-o", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert len(doc.pop("plan_id")) == 32
    _golden("plan.json", doc)
    assert sim.recorder.requests and sim.recorder.writes == []


def test_status_json_is_the_golden_document(
    recorded_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = recorded_sim("small")
    wire = tmp_path / "wire.log"
    argv = ["status", TARGET, *_flags(sim), "-o", "json", "--debug-log", str(wire)]
    assert cli.main(argv) == EXIT_OK
    _golden("status.json", json.loads(capsys.readouterr().out))
    assert sim.recorder.writes == []
    # Issue 13: the request log was 0644.
    assert stat.S_IMODE(wire.stat().st_mode) == 0o600 and "GET" in wire.read_text()


def test_verbose_logs_the_wire_to_the_log_file(
    recorded_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = recorded_sim("small")
    log = tmp_path / "vmssdash.log"
    assert cli.main(["-vv", "--log-file", str(log), "status", TARGET, *_flags(sim)]) == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text()
    assert "vmssdash.azure.http" in text and "GET" in text and "-> 200" in text
    assert "-> 200" in capsys.readouterr().err  # -vv: debug on stderr too


def test_upgrade_json_lines_one_event_each(
    recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = _fast_sim(recorded_sim)
    assert cli.main([*_upgrade("-o", "json"), *_flags(sim)]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(doc["schema"] == 1 for doc in lines)
    assert lines[0]["kind"] == "plan"
    events = [doc for doc in lines[1:]]
    names = [e["event"] for e in events]
    assert names[0] == "plan_started" and names[-1] == "progress"
    assert names.count("wave_started") == names.count("wave_finished") == 3
    assert names.count("vm_settled") == 3
    finished = next(e for e in events if e["event"] == "run_finished")
    assert finished["state"] == "completed" and sorted(finished["upgraded"]) == ["1", "7", "8"]
    # The keys of each kind of event are the schema: golden, whatever the timing.
    _golden("upgrade-events.json", {e["event"]: sorted(e) for e in events})


def test_config_show_is_pure_json_on_stdout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('theme = "nord"\nread_only = true\n')
    monkeypatch.setenv("VMSSDASH_CONFIG", str(path))
    assert cli.main(["config", "show", "-o", "json"]) == EXIT_OK
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["schema"] == 1 and doc["settings"]["theme"] == "nord"
    assert doc["settings"]["read_only"] is True
    assert out.err.startswith("# from")


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize("command", ["plan", "upgrade"])
def test_an_instance_id_that_does_not_exist_is_not_found(
    command: str, recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    """Today: `--instances 99` exits 0 with "Nothing to upgrade"."""
    sim = recorded_sim("small")
    argv = [command, TARGET, *_flags(sim), "--instances", "1,99"]
    if command == "upgrade":
        argv.append("--yes")
    assert cli.main(argv) == EXIT_NOT_FOUND
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "99" in err[0], err
    assert sim.recorder.writes == []


@pytest.mark.parametrize("command", ["status", "plan", "upgrade"])
def test_a_missing_scale_set_is_not_found(
    command: str, recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = recorded_sim("small")
    assert cli.main([command, f"{RG}/no-such-set", *_flags(sim)]) == EXIT_NOT_FOUND
    assert "no-such-set" in capsys.readouterr().err


def test_a_health_halt_is_exit_4(recorded_sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    sim = _fast_sim(recorded_sim, faults="unhealthy=1")
    assert cli.main([*_upgrade(), *_flags(sim)]) == EXIT_HALTED
    assert "max unhealthy upgraded instance limit" in capsys.readouterr().out


def test_a_busy_scale_set_is_exit_5(recorded_sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    """Another operation holds the set (the simulator's clock is stopped, so it never ends):
    every dispatch meets 409."""
    sim = recorded_sim("small", manual_clock=True)
    busy = httpx.post(
        f"{sim.base_url}{sim.resource_id(NAME)}/manualupgrade",
        params={"api-version": "2024-07-01"},
        json={"instanceIds": ["0"]},
        trust_env=False,
    )
    assert busy.status_code == 202, busy.text
    assert cli.main([*_upgrade(), *_flags(sim)]) == EXIT_CONFLICT
    assert "Conflict" in capsys.readouterr().out


def test_authentication_failure_is_exit_6(
    recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = recorded_sim("small", require_auth=True)
    assert cli.main(["status", TARGET, *_flags(sim)]) == EXIT_AUTH
    assert "--auth none" in capsys.readouterr().err


def test_unreachable_endpoint_fails_fast_for_headless_commands(tmp_path: Path) -> None:
    """Today `upgrade` retries for 49 s in silence; the dashboard's preflight gives up in
    about 2 s. The subprocess timeout is the guard, not a measurement."""
    from vmssdash.demo import free_port

    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull, "XDG_STATE_HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vmssdash",
            "upgrade",
            TARGET,
            "--yes",
            "--auth",
            "none",
            "--endpoint",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("vmssdash: cannot reach http://127.0.0.1:"), result.stderr


def test_sigterm_during_an_upgrade_is_exit_143(
    recorded_sim: Sim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = recorded_sim("small", manual_clock=True)  # the upgrade never finishes by itself
    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull, "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash", *_upgrade("-o", "json"), *_flags(sim)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait for the condition, not for time
            if json.loads(line).get("event") == "operation_dispatched":
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == EXIT_TERMINATED, err
        assert "--resume" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The journal the killed run left is what `status` reports as its unfinished run.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert cli.main(["status", TARGET, *_flags(sim), "-o", "json"]) == EXIT_OK
    run = json.loads(capsys.readouterr().out)["run"]
    assert run["waves_done"] == 0 and run["waves_total"] == 3
    assert run["in_flight"] == ["1"]


# --------------------------------------------------------------------------- change record


def test_report_of_a_run_with_a_fault(
    recorded_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model change, then VMs that fail their upgrade: the report says who, what, when,
    which VMs failed and why, and names the request ids of the writes."""
    sim = _fast_sim(recorded_sim, faults="upgrade-fail=1")
    journal = tmp_path / "j"
    argv = [*_upgrade(), *_flags(sim), "--journal-dir", str(journal)]
    assert cli.main([*argv, "--image-version", NEW_VERSION]) == EXIT_HALTED
    capsys.readouterr()
    assert cli.main(["report", "--last", "--journal-dir", str(journal), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1 and doc["scale_set"]["name"] == NAME
    assert doc["who"]["identity"] == "no sign-in (--auth none)" and doc["who"]["version"]
    model = doc["what"]["model_change"]
    assert model["before"]["version"] != model["after"]["version"] == NEW_VERSION
    assert model["requests"][0]["method"] == "PATCH" and model["requests"][0]["request_id"]
    wave = doc["timeline"][0]
    assert wave["request_id"] and wave["correlation_id"]
    assert wave["accepted"].endswith("Z") and wave["operation_status"] == "Failed"
    assert doc["result"]["state"] == "faulted"
    assert doc["result"]["failed"] and doc["result"]["not_done"]
    failed_op = next(e for e in doc["errors"] if e["what"].startswith("operation"))
    assert failed_op["request_id"] == wave["request_id"]
    assert cli.main(["report", doc["plan_id"][:8], "--journal-dir", str(journal)]) == 0
    md = capsys.readouterr().out
    for heading in ("# Change record", "## Timeline", "## Results", "## Errors", "## In flight"):
        assert heading in md
    assert wave["request_id"] in md and "FAILED" in md


def test_report_with_no_journal_is_not_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--journal-dir", str(tmp_path)]) == EXIT_NOT_FOUND
    assert "no run journal" in capsys.readouterr().err


def test_throttling_is_a_json_line_of_its_own(
    recorded_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = _fast_sim(recorded_sim, faults="429=0.1,retry-after=1", seed=1)
    assert cli.main([*_upgrade("-o", "json"), *_flags(sim)]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    throttled = [doc for doc in lines if doc.get("event") == "throttled"]
    assert throttled and all(doc["status"] == 429 and doc["schema"] == 1 for doc in throttled)


@pytest.mark.parametrize("how", ["flag before the command", "environment"])
def test_read_only_reaches_the_fleet_command(
    how: str, recorded_sim: Sim, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fleet` parses its own arguments; read-only given before its name, or in the
    environment, still keeps it to GETs (no Resource Graph POST)."""
    sim = recorded_sim("fleet")
    argv = ["fleet", *_flags(sim), "-o", "json"]
    if how == "environment":
        monkeypatch.setenv("VMSSDASH_READ_ONLY", "true")
    else:
        argv.insert(0, "--read-only")
    assert cli.main(argv) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["source"] == "arm"
    assert sim.recorder.requests and sim.recorder.writes == []
