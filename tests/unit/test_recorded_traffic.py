"""Real ARM traffic, recorded by azure-sdk-for-python, read back through our models.

The recording names management.azure.com, but nothing here sends a request: the
bodies and headers are parsed as data. ``test_network_guard`` checks that every host it
names is refused by the test run's socket guard all the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from vmssdash.azure.models.operations import OperationStatus, RollingUpgradeStatus
from vmssdash.azure.models.scaleset import ScaleSet

RECORDING = (
    Path(__file__).parents[1]
    / "fixtures"
    / "azure-examples"
    / "test_mgmt_compute_vmss.test_compute_vmss_rolling_upgrades.yaml"
)


def interactions() -> list[dict[str, Any]]:
    return list(yaml.safe_load(RECORDING.read_text())["interactions"])


def recorded_hosts() -> set[str]:
    hosts = set()
    for item in interactions():
        hosts.add(urlsplit(item["request"]["uri"]).hostname or "")
        for name in ("azure-asyncoperation", "location"):
            for url in item["response"]["headers"].get(name, []):
                hosts.add(urlsplit(url).hostname or "")
    return hosts - {""}


def _body(item: dict[str, Any]) -> Any:
    return json.loads(item["response"]["body"]["string"])


def _path(item: dict[str, Any]) -> str:
    return urlsplit(item["request"]["uri"]).path


def test_the_recorded_scale_set_parses_with_its_rolling_policy() -> None:
    """A Manual-mode set that still carries a rolling policy (ARM accepts an OS rolling
    upgrade on it): both read correctly."""
    (item,) = [
        i
        for i in interactions()
        if i["request"]["method"] == "GET" and _path(i).endswith("virtualmachinescalesetb4bb17db")
    ]
    scale_set = ScaleSet.from_json(_body(item))
    assert scale_set.name == "virtualmachinescalesetb4bb17db"
    assert scale_set.upgrade_mode == "Manual"
    upgrade_policy = scale_set.properties.upgrade_policy
    assert upgrade_policy is not None
    rolling = upgrade_policy.rolling_upgrade_policy
    assert rolling is not None and rolling.max_batch_instance_percent == 20
    assert rolling.pause_seconds == 0


def test_the_recorded_rolling_upgrade_status_parses() -> None:
    (item,) = [i for i in interactions() if _path(i).endswith("/rollingUpgrades/latest")]
    status = RollingUpgradeStatus.model_validate(_body(item))
    policy = status.properties.policy
    assert policy is not None and policy.max_batch_instance_percent == 20
    assert status.properties.running_status is not None
    assert status.properties.running_status.code


def test_every_recorded_operation_status_parses_and_each_operation_ends() -> None:
    last: dict[str, OperationStatus] = {}
    monitors = 0
    for item in interactions():
        path = _path(item)
        if "/operations/" not in path or item["request"]["method"] != "GET":
            continue
        if "monitor=true" in item["request"]["uri"]:
            # The Location (monitor) URL answers 200 with an empty body once done:
            # which is why the client reads the status URL, never this one's body.
            assert item["response"]["body"]["string"] == ""
            monitors += 1
            continue
        last[path] = OperationStatus.model_validate(_body(item))
    assert monitors == 3
    assert len(last) >= 5
    assert all(status.is_terminal for status in last.values())


def test_accepted_posts_point_at_a_status_url_and_a_monitor_url() -> None:
    """The two headers our long-running-operation code follows, as ARM really sends them."""
    accepted = [
        i
        for i in interactions()
        if i["request"]["method"] == "POST" and i["response"]["status"]["code"] == 202
    ]
    assert len(accepted) == 3  # extensionRollingUpgrade, osRollingUpgrade, cancel
    for item in accepted:
        headers = item["response"]["headers"]
        (status_url,) = headers["azure-asyncoperation"]
        (monitor_url,) = headers["location"]
        assert urlsplit(status_url).path == urlsplit(monitor_url).path
        assert parse_qs(urlsplit(monitor_url).query)["monitor"] == ["true"]
        assert item["response"]["body"]["string"] == ""
