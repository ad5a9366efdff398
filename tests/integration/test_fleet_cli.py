"""`vmssdash fleet`: the JSON schema other tools rely on, and the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The golden schema of `vmssdash fleet -o json`: key -> accepted JSON types.
TOP = {"source": (str,), "countsFrom": (str,), "notes": (list,), "scaleSets": (list,)}
ROW = {
    "id": (str,),
    "name": (str,),
    "resourceGroup": (str,),
    "subscriptionId": (str,),
    "subscriptionName": (str,),
    "location": (str,),
    "orchestrationMode": (str,),
    "upgradeMode": (str,),
    "capacity": (int,),
    "stale": (int, type(None)),
    "unhealthy": (int, type(None)),
    "rollingUpgradeInProgress": (bool, type(None)),
    "vmssdashRun": (str, type(None)),
}


def _fleet(base_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VMSSDASH_CONFIG": os.devnull, "XDG_STATE_HOME": str(tmp_path)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "vmssdash",
            "fleet",
            "--endpoint",
            base_url,
            "--auth",
            "none",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _check(value: dict[str, Any], schema: dict[str, tuple[type, ...]]) -> None:
    assert set(value) == set(schema)
    for key, types in schema.items():
        assert isinstance(value[key], types), (key, value[key])


def test_fleet_json_golden_schema(make_sim: Any, tmp_path: Path) -> None:
    sim = make_sim("fleet")
    done = _fleet(sim.base_url, tmp_path, "-o", "json", "--sort", "stale", "--desc")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    _check(out, TOP)
    assert out["source"] == "resource-graph"
    assert len(out["scaleSets"]) == 60
    for row in out["scaleSets"]:
        _check(row, ROW)
    assert [r["name"] for r in out["scaleSets"][:2]] == ["vmss-web", "vmss-zonal"]


def test_fleet_table_filters_and_names_the_source(make_sim: Any, tmp_path: Path) -> None:
    sim = make_sim("fleet")
    done = _fleet(sim.base_url, tmp_path, "--filter", "is:stale vmss-web", "--read-only")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["SCALE", "SET", "RESOURCE", "GROUP"]
    # Read-only lists with ARM: counts are unknown there, so nothing is known to be stale.
    assert len(lines) == 1
    assert "from arm" in done.stderr and "read-only" in done.stderr


def test_fleet_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    done = _fleet("http://127.0.0.1:9", tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
