"""The command line fails with one clear line, and never leaves a simulator behind."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from vmssdash import cli
from vmssdash.azure.errors import ReadOnlyError
from vmssdash.demo import free_port, run_simulator

DEMO_RG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
VMSS = "/providers/Microsoft.Compute/virtualMachineScaleSets/"


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull}
    return subprocess.run(
        [sys.executable, "-m", "vmssdash", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vmssdash: ")
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]


def test_unreachable_endpoint_is_one_line() -> None:
    port = free_port()  # nothing listens here
    result = _run(
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--auth",
        "none",
        "--resource-id",
        f"{DEMO_RG}{VMSS}vmss-web",
    )
    _assert_one_clear_line(result, "127.0.0.1")


def test_unknown_scale_set_is_one_line() -> None:
    with run_simulator(scenario="small") as sim:
        result = _run(
            "--endpoint",
            sim.base_url,
            "--auth",
            "none",
            "--resource-id",
            f"{DEMO_RG}{VMSS}no-such-set",
        )
    _assert_one_clear_line(result, "no-such-set")


def test_malformed_resource_id_is_a_usage_error() -> None:
    result = _run(
        "--endpoint", "http://127.0.0.1:1", "--auth", "none", "--resource-id", "/subscriptions/x"
    )
    _assert_one_clear_line(result)
    assert result.returncode == 2


def test_simulator_prints_resource_ids() -> None:
    with run_simulator(scenario="demo") as sim:
        assert any(r.endswith(f"{VMSS}vmss-web") for r in sim.resource_ids)
        assert all(r.startswith(DEMO_RG) for r in sim.resource_ids)
        pid = sim.process.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                return seen
    return seen


def _simulator_children(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "sim" in " ".join(c.cmdline())]


def _default_signal_dispositions() -> None:
    """Runs in the child before exec. A runner started in the background without job
    control (`nohup make test &`, some CI agents) ignores SIGINT, and an ignored signal
    stays ignored across exec: the demo would never see the interrupt this test sends."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_its_simulator_on_interrupt(sig: signal.Signals, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
        "VMSSDASH_CONFIG": os.devnull,
        "XDG_STATE_HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash", "demo", "--set", "vmss-web", "--speed", "1"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        preexec_fn=_default_signal_dispositions,
    )
    os.close(slave)
    try:
        screen = _read_until(master, b"UD 0", time.monotonic() + 30)
        assert b"UD 0" in screen, screen[-2000:]
        children = _simulator_children(proc.pid)
        assert children, "the demo should run the simulator as a child process"
        proc.send_signal(sig)
        # Keep draining the terminal while it exits: a full pty would block its last writes.
        rest = b""
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            rest += _read_until(master, b"\x00never", time.monotonic() + 0.2)
        assert proc.poll() is not None, "the demo did not exit on the signal"
        rest += _read_until(master, b"\x00never", time.monotonic() + 0.5)
        assert b"Traceback" not in screen + rest
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"simulator left behind: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["demo", "--help"],
        ["sim", "--help"],
        ["upgrade", "--help"],
        ["logout", "--help"],
        ["config", "--help"],
        ["config", "show", "--help"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_help_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr()
    assert out.out.startswith("usage: vmssdash"), out.out[:200]
    assert out.err == ""


BAD_ARGUMENTS = [
    (["--bogus"], "vmssdash", "--bogus"),
    (["--auth", "nope"], "vmssdash", "'nope'"),
    (["demo", "--bogus"], "vmssdash demo", "--bogus"),
    (["demo", "--speed", "fast"], "vmssdash demo", "'fast'"),
    (["demo", "--scenario", "nope"], "vmssdash demo", "'small'"),  # lists the scenarios
    (["sim", "--bogus"], "vmssdash sim", "--bogus"),
    (["upgrade", "--by", "sideways"], "vmssdash upgrade", "'sideways'"),
    (["config", "nope"], "vmssdash config", "'show'"),
]


@pytest.mark.parametrize(
    ("argv", "prog", "needle"), BAD_ARGUMENTS, ids=[" ".join(c[0]) for c in BAD_ARGUMENTS]
)
def test_wrong_arguments_are_one_line_and_exit_2(
    argv: list[str], prog: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith(f"{prog}: "), lines[0]
    assert needle in lines[0], lines[0]
    assert f"`{prog} --help`" in lines[0]


def test_demo_bad_fault_spec_is_a_usage_error_before_any_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "--faults", "429=2"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [lines[0]] and lines[0].startswith("vmssdash: --faults: "), lines
    assert "429" in lines[0]


def test_demo_reads_the_users_config_before_starting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("refresh_interval = 1\n")  # below the 2 s floor
    monkeypatch.setenv("VMSSDASH_CONFIG", str(config))
    assert cli.main(["demo"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "refresh_interval" in lines[0], lines


def test_demo_unknown_set_lists_the_scenarios_sets() -> None:
    result = _run("demo", "--set", "nope")
    _assert_one_clear_line(result, "'nope'", "vmss-web", "vmss-zonal", "vmss-rolling")
    assert result.returncode == 2


# --------------------------------------------------------------------------- server-side failures


def test_auth_failure_names_the_auth_problem(make_sim: Callable[..., Any]) -> None:
    sim = make_sim("small", require_auth=True)
    result = _run(
        "--endpoint", sim.base_url, "--auth", "none", "--resource-id", sim.resource_id("vmss-small")
    )
    _assert_one_clear_line(result, "authentication failed", "--auth none", "HTTP 401")
    assert result.returncode == 6


def test_throttled_at_startup_says_so(make_sim: Callable[..., Any]) -> None:
    # Every request is a 429 asking for 30 s: reported at once, not waited out.
    sim = make_sim("small", faults="429=1,retry-after=30")
    result = _run(
        "--endpoint", sim.base_url, "--auth", "none", "--resource-id", sim.resource_id("vmss-small")
    )
    _assert_one_clear_line(result, "throttling", "wait 30 s", "HTTP 429")
    assert result.returncode == 1


# --------------------------------------------------------------------------- read-only


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_read_only_reaches_the_client_and_blocks_writes(
    how: str, make_sim: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard the CLI builds cannot send a write: tried here instead of running the TUI."""
    from vmssdash.ui.app import VmssDashApp

    sim = make_sim("small", faults="off")
    rid = sim.resource_id("vmss-small")
    seen: dict[str, Any] = {}

    def attempt_write(self: VmssDashApp) -> None:
        async def go() -> None:
            async with self.api.client:
                try:
                    await self.api.begin_manual_upgrade(["0"])
                except ReadOnlyError as exc:
                    seen["error"] = exc
            seen["read_only"] = self.read_only

        asyncio.run(go())

    monkeypatch.setattr(VmssDashApp, "run", attempt_write)
    monkeypatch.setenv("VMSSDASH_CONFIG", os.devnull)
    argv = ["--endpoint", sim.base_url, "--auth", "none", "--resource-id", rid]
    if how == "flag":
        argv.append("--read-only")
    else:
        monkeypatch.setenv("VMSSDASH_READ_ONLY", "true")
    assert cli.main(argv) == 0
    assert seen.get("read_only") is True
    assert isinstance(seen.get("error"), ReadOnlyError)
    state = httpx.get(f"{sim.base_url}/_sim/state", trust_env=False).json()
    small = next(s for s in state["scaleSets"] if s["name"] == "vmss-small")
    assert small["manualUpgrades"] == {}, "a write reached the simulator"


def test_config_file_supplies_endpoint_subscription_and_auth(
    make_sim: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`vmssdash RG/NAME` with everything else from the config file (in-process: a fallback
    to the public cloud would meet the network guard, never Azure)."""
    sim = make_sim("small", faults="off")
    config = tmp_path / "config.toml"
    config.write_text(
        f'endpoint = "{sim.base_url}"\n'
        'subscription = "00000000-0000-0000-0000-000000000000"\n'
        'auth = "none"\n'
    )
    monkeypatch.setenv("VMSSDASH_CONFIG", str(config))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    assert cli.main(["vmssdash-demo/no-such-set"]) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "no-such-set" in lines[0], lines
    assert "ResourceNotFound" in lines[0] or "404" in lines[0], lines[0]


# --------------------------------------------------------------------------- README stays true

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_config_example_loads_and_names_real_binding_ids(tmp_path: Path) -> None:
    import re

    from textual.binding import Binding

    from vmssdash.config import load_settings
    from vmssdash.ui.app import VmssDashApp
    from vmssdash.ui.heatmap import Heatmap

    text = README.read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert example, "README lost its config example"
    path = tmp_path / "config.toml"
    path.write_text(example.group(1))
    settings = load_settings({}, environ={}, path=path)
    declared = [*VmssDashApp.BINDINGS, *Heatmap.BINDINGS]
    known = {b.id for b in declared if isinstance(b, Binding) and b.id}
    assert set(settings.keymap) <= known
    named: set[str] = set()
    for match in re.finditer(r"`((?:app|heatmap|orch)\.[a-z|-]+)`", text):
        prefix, _, rest = match.group(1).partition(".")
        named |= {f"{prefix}.{part}" for part in rest.split("|")}
    assert named, "README no longer lists the binding ids"
    assert named <= known, f"README names unknown binding ids: {sorted(named - known)}"
    assert known <= named, f"README misses binding ids: {sorted(known - named)}"
