"""The change record from a journal alone: a run that died mid-wave (as a crash or a
SIGKILL leaves it) still says what was in flight, with the request ids of the writes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from vmssdash import __version__
from vmssdash.core.journal import Journal
from vmssdash.core.plan import Plan, Policy, Strategy, Wave
from vmssdash.core.report import build_report, render_markdown

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web"


def _plan() -> Plan:
    return Plan(
        plan_id="0123456789abcdef0123456789abcdef",
        scale_set_id=RID,
        scale_set_name="web",
        strategy=Strategy.UPDATE_DOMAIN,
        waves=(Wave(0, "UD 0", ("0", "1")), Wave(1, "UD 1", ("2",))),
        skipped=(),
        policy=Policy(),
        total_instances=3,
    )


def _crashed_run(directory: Path) -> Journal:
    """What the dashboard's orchestrator writes, cut off while wave 1 is in flight."""
    ticks = itertools.count(1_800_000_000, 5)
    journal = Journal.create(directory, _plan(), clock=lambda: float(next(ticks)))
    journal.append("start", resumed=False, version=__version__)
    journal.append("wave-start", wave=0, instance_ids=["0", "1"])
    journal.append("dispatch", wave=0, instance_ids=["0", "1"])
    journal.append(
        "accepted",
        wave=0,
        instance_ids=["0", "1"],
        operation="op",
        request_id="req-1",
        correlation_id="corr-1",
    )
    journal.append("vm", instance_id="0", ok=True, reason="")
    return journal


def test_a_run_cut_off_mid_wave_reports_what_was_in_flight(tmp_path: Path) -> None:
    _crashed_run(tmp_path)
    doc = build_report(tmp_path)
    assert doc["who"]["version"] == __version__
    assert doc["result"]["state"] == "unfinished"
    assert doc["result"]["upgraded"] == ["0"]
    assert doc["result"]["not_done"] == ["1", "2"]
    assert doc["in_flight_at_end"] == ["1"]
    wave = doc["timeline"][0]
    assert (wave["request_id"], wave["correlation_id"]) == ("req-1", "corr-1")
    assert wave["accepted"] == "2027-01-15T08:00:20.000Z"
    assert doc["timeline"][1]["started"] == ""
    md = render_markdown(doc)
    assert "- 1: sent to Azure, outcome not recorded" in md
    assert "### Wave 2: UD 1 (1 VMs)\n\n- not started" in md


def test_a_run_is_found_by_its_plan_id_prefix(tmp_path: Path) -> None:
    _crashed_run(tmp_path)
    assert build_report(tmp_path, "01234567")["plan_id"] == _plan().plan_id
    with pytest.raises(LookupError, match="no run"):
        build_report(tmp_path, "ffff")
