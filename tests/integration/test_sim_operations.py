"""The rest of the simulator's ARM surface over loopback: filters, selects, actions,
rolling upgrades, catalog, subscriptions, throttling, TLS and the CLI."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import API
from tests.factories import SUB as SUB_ID
from tests.plugins.sim import SimHandle, scale_set_id
from vmssdash.azure.models.operations import (
    ArmErrorBody,
    OperationStatus,
    Page,
    RollingUpgradeStatus,
)
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM, VMInstanceView
from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.sim.throttle import ThrottleConfig

SUB = f"/subscriptions/{SUB_ID}"
WEB = scale_set_id("vmss-web")
ROLLING = scale_set_id("vmss-rolling")


@pytest.fixture
def client(sim_base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_base_url, trust_env=False) as c:
        yield c


def vm_list(client: httpx.Client, rid: str, **params: str) -> list[dict[str, Any]]:
    r = client.get(f"{rid}/virtualMachines", params={**API, **params})
    assert r.status_code == 200, r.text
    return Page.model_validate(r.json()).value


def test_filters_latest_model_applied(client: httpx.Client) -> None:
    stale = vm_list(client, WEB, **{"$filter": "properties/latestModelApplied eq false"})
    fresh = vm_list(client, WEB, **{"$filter": "properties/latestModelApplied eq true"})
    assert len(stale) == 8 and len(fresh) == 32
    assert all(v["properties"]["latestModelApplied"] is False for v in stale)
    assert all(ScaleSetVM.from_json(v) for v in stale + fresh)


def test_filter_power_state_and_bad_filter(client: httpx.Client) -> None:
    power = vm_list(
        client, WEB, **{"$filter": "startswith(instanceView/statuses/code, 'PowerState') eq true"}
    )
    assert len(power) == 40
    codes = {s["code"] for v in power for s in v["properties"]["instanceView"]["statuses"]}
    assert codes == {"PowerState/running", "PowerState/deallocated"}
    r = client.get(f"{WEB}/virtualMachines", params={**API, "$filter": "name eq 'x'"})
    assert r.status_code == 400
    assert ArmErrorBody.model_validate(r.json()).error.target == "$filter"


def test_select_instance_view_drops_latest_model_applied(client: httpx.Client) -> None:
    """The real pitfall: $select=instanceView loses the model fields."""
    items = vm_list(client, WEB, **{"$expand": "instanceView", "$select": "instanceView"})
    assert len(items) == 40
    for item in items:
        vm = ScaleSetVM.from_json(item)
        assert vm.properties.latest_model_applied is None
        assert vm.properties.provisioning_state is None
        assert vm.zones == []
        assert vm.properties.instance_view is not None
        assert vm.properties.instance_view.platform_update_domain is not None
    statuses_only = vm_list(client, WEB, **{"$select": "instanceView/statuses"})
    assert set(statuses_only[0]["properties"]["instanceView"]) == {"statuses"}


def test_vmss_instance_view_is_an_aggregate(client: httpx.Client) -> None:
    r = client.get(f"{WEB}/instanceView", params=API)
    body = r.json()
    summary = body["virtualMachine"]["statusesSummary"]
    assert sum(s["count"] for s in summary) == 40
    assert "statuses" in body and "orchestrationServices" in body


def test_vm_level_actions_and_delete(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        iid = vm_list(c, rid)[0]["instanceId"]
        r = c.post(f"{rid}/virtualMachines/{iid}/powerOff", params=API)
        assert r.status_code == 202 and r.content == b""
        assert "DeleteVMScaleSetVM3Min" in r.headers["x-ms-ratelimit-remaining-resource"]
        busy = c.post(f"{rid}/virtualmachines/{iid}/restart", params=API)
        assert busy.status_code == 409
        view = VMInstanceView.model_validate(
            c.get(f"{rid}/virtualMachines/{iid}/instanceView", params=API).json()
        )
        assert view.status_with_prefix("PowerState/").code == "PowerState/stopping"  # type: ignore[union-attr]
        sim.advance(30)
        view = VMInstanceView.model_validate(
            c.get(f"{rid}/virtualMachines/{iid}/instanceView", params=API).json()
        )
        assert view.status_with_prefix("PowerState/").code == "PowerState/stopped"  # type: ignore[union-attr]
        r = c.post(f"{rid}/virtualMachines/{iid}/start", params=API)
        assert "VMScaleSetVMActions3Min" in r.headers["x-ms-ratelimit-remaining-resource"]
        sim.advance(30)
        d = c.delete(f"{rid}/virtualMachines/{iid}", params=API)
        assert d.status_code == 202 and "location" in d.headers
        sim.advance(30)
        assert c.get(f"{rid}/virtualMachines/{iid}", params=API).status_code == 404
        assert len(vm_list(c, rid)) == 9


def test_vmss_actions_without_body_target_all(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        r = c.post(f"{rid}/restart", params=API)
        assert r.status_code == 202
        provisioning = {v["properties"]["provisioningState"] for v in vm_list(c, rid)}
        assert provisioning == {"Updating"}
        sim.advance(60)
        status = OperationStatus.model_validate(c.get(r.headers["azure-asyncoperation"]).json())
        assert status.status == "Succeeded"
        missing = c.post(f"{rid}/manualupgrade", params=API)
        assert missing.status_code == 400


def test_scale_by_capacity_over_http(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        r = c.patch(rid, params=API, json={"sku": {"capacity": 13}})
        assert r.status_code == 200 and ScaleSet.from_json(r.json()).capacity == 13
        creating = [
            v for v in vm_list(c, rid) if v["properties"]["provisioningState"] == "Creating"
        ]
        assert len(creating) == 3
        sim.advance(60)
        items = vm_list(c, rid, **{"$expand": "instanceView"})
        assert len(items) == 13
        assert {v["properties"]["provisioningState"] for v in items} == {"Succeeded"}


def test_rolling_upgrade_endpoints(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        none_yet = c.get(f"{ROLLING}/rollingUpgrades/latest", params=API)
        assert none_yet.status_code == 404
        r = c.post(f"{ROLLING}/osRollingUpgrade", params=API)
        assert r.status_code == 202 and r.content == b""
        assert r.headers["x-ms-ratelimit-remaining-resource"].startswith(
            "Microsoft.Compute/VMScaleSetActions3Min;"
        )
        latest = RollingUpgradeStatus.model_validate(
            c.get(f"{ROLLING}/rollingUpgrades/latest", params=API).json()
        )
        assert latest.properties.running_status is not None
        assert latest.properties.running_status.code == "RollingForward"
        assert latest.properties.progress is not None
        assert latest.properties.progress.in_progress_instance_count >= 1
        cancel = c.post(f"{ROLLING}/rollingUpgrades/cancel", params=API)
        assert cancel.status_code == 202
        latest = RollingUpgradeStatus.model_validate(
            c.get(f"{ROLLING}/rollingUpgrades/latest", params=API).json()
        )
        assert latest.properties.running_status.code == "Cancelled"  # type: ignore[union-attr]
        assert latest.properties.running_status.last_action == "Cancel"  # type: ignore[union-attr]
        op = OperationStatus.model_validate(c.get(r.headers["azure-asyncoperation"]).json())
        assert op.status == "Succeeded"
        again = c.post(f"{ROLLING}/rollingUpgrades/cancel", params=API)
        assert again.status_code == 409 and "retry-after" not in again.headers
        history = Page.model_validate(c.get(f"{ROLLING}/osUpgradeHistory", params=API).json()).value
        assert [h["properties"]["runningStatus"]["code"] for h in history] == ["Cancelled"]
        assert history[0]["properties"]["startedBy"] == "User"


def test_image_versions_catalog(client: httpx.Client) -> None:
    url = (
        f"{SUB}/providers/Microsoft.Compute/locations/westeurope/publishers/Canonical/"
        "artifacttypes/vmimage/offers/ubuntu-24_04-lts/skus/server/versions"
    )
    r = client.get(url, params=API)
    assert r.status_code == 200
    names = [v["name"] for v in r.json()]
    assert "24.04.202610010" in names and "24.04.202612010" in names
    top = client.get(url, params={**API, "$orderby": "name desc", "$top": "2"}).json()
    assert [v["name"] for v in top] == ["24.04.202612010", "24.04.202611991-fail"]
    missing = client.get(url.replace("server", "nope"), params=API)
    assert missing.status_code == 404


def test_subscriptions_and_resource_groups(client: httpx.Client) -> None:
    subs = client.get("/subscriptions", params={"api-version": "2022-12-01"}).json()["value"]
    assert [s["subscriptionId"] for s in subs] == ["00000000-0000-0000-0000-000000000000"]
    rgs = client.get(f"{SUB}/resourcegroups", params={"api-version": "2021-04-01"}).json()
    assert [g["name"] for g in rgs["value"]] == ["vmssdash-demo"]


def test_put_create_returns_201_with_async_operation(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-new")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        model = c.get(scale_set_id("vmss-small"), params=API).json()
        body = {
            "location": "westeurope",
            "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": 2},
            "properties": {
                "upgradePolicy": {"mode": "Manual"},
                "virtualMachineProfile": model["properties"]["virtualMachineProfile"],
            },
        }
        r = c.put(rid, params=API, json=body)
        assert r.status_code == 201
        assert "azure-asyncoperation" in r.headers and "location" not in r.headers
        assert r.json()["properties"]["provisioningState"] == "Creating"
        sim.advance(60)
        got = ScaleSet.from_json(c.get(rid, params=API).json())
        assert got.properties.provisioning_state == "Succeeded" and got.capacity == 2
        conflict = c.put(rid, params=API, json=body, headers={"If-None-Match": "*"})
        assert conflict.status_code == 412
        d = c.delete(rid, params=API)
        assert d.status_code == 202
        sim.advance(60)
        assert c.get(rid, params=API).status_code == 404


def test_throttling_429_with_retry_after_and_window_reset(
    make_sim: Callable[..., SimHandle],
) -> None:
    sim = make_sim("small", throttle=ThrottleConfig(limits={"GetVMScaleSet3Min": 3}))
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        remaining = []
        for _ in range(3):
            r = c.get(rid, params=API)
            assert r.status_code == 200
            remaining.append(r.headers["x-ms-ratelimit-remaining-resource"].split(",")[0])
        assert remaining == [
            "Microsoft.Compute/GetVMScaleSet3Min;2",
            "Microsoft.Compute/GetVMScaleSet3Min;1",
            "Microsoft.Compute/GetVMScaleSet3Min;0",
        ]
        r = c.get(rid, params=API)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "180"
        err = ArmErrorBody.model_validate(r.json()).error
        assert err.code == "OperationNotAllowed"
        assert err.details[0].code == "TooManyRequests"
        assert err.details[0].target == "GetVMScaleSet3Min"
        detail = json.loads(err.details[0].message or "{}")
        assert detail["allowedRequestCount"] == 3 and detail["measuredRequestCount"] == 4
        # Other policies are unaffected; the window rolls over after 3 minutes.
        assert c.get(f"{rid}/virtualMachines", params=API).status_code == 200
        sim.advance(180)
        assert c.get(rid, params=API).status_code == 200


def test_tls_serving(tmp_path: Path) -> None:
    from vmssdash.sim import tls

    files = tls.generate(tmp_path)
    app = create_app("small", manual_clock=True)
    with serve_in_thread(
        app, ssl_certfile=str(files.server_cert), ssl_keyfile=str(files.server_key)
    ) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        verify = ssl.create_default_context(cafile=str(files.ca_cert))
        with httpx.Client(verify=verify, trust_env=False) as c:
            r = c.get(f"{server.base_url}{scale_set_id('vmss-small')}", params=API)
            assert r.status_code == 200
            r = c.post(f"{server.base_url}{scale_set_id('vmss-small')}/restart", params=API)
            assert r.headers["azure-asyncoperation"].startswith("https://127.0.0.1:")


def test_cli_prints_resource_ids_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssdash.sim.cli", "--port", "0", "--scenario", "small"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        banner = proc.stderr.readline()
        assert "http://127.0.0.1:" in banner
        base = banner.split(" on ")[1].split()[0]
        line = proc.stdout.readline().strip()
        assert line == scale_set_id("vmss-small")
        with httpx.Client(trust_env=False, timeout=5) as c:
            for _ in range(200):
                try:
                    if c.get(f"{base}/_sim/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            assert c.get(f"{base}{line}", params=API).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_put_round_trip_of_the_same_model_is_not_a_model_change(
    make_sim: Callable[..., SimHandle],
) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        model = c.get(rid, params=API).json()
        before = {v["instanceId"]: v["properties"]["latestModelApplied"] for v in vm_list(c, rid)}
        r = c.put(rid, params=API, json=model, headers={"If-Match": model["etag"]})
        assert r.status_code == 200 and "location" not in r.headers
        assert r.json()["etag"] != model["etag"]
        after = {v["instanceId"]: v["properties"]["latestModelApplied"] for v in vm_list(c, rid)}
        assert after == before
        sim.advance(10)
        model["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"][
            "version"
        ] = "24.04.202612010"
        r = c.put(rid, params=API, json=model)
        assert r.status_code == 200
        assert not any(v["properties"]["latestModelApplied"] for v in vm_list(c, rid))


def test_vm_put_toggles_protection_with_etag(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        vm = vm_list(c, rid)[0]
        url = f"{rid}/virtualMachines/{vm['instanceId']}"
        body = {"properties": {"protectionPolicy": {"protectFromScaleSetActions": True}}}
        r = c.put(url, params=API, json=body, headers={"If-Match": vm["etag"]})
        assert r.status_code == 200 and "azure-asyncoperation" in r.headers
        got = ScaleSetVM.from_json(r.json())
        assert got.properties.protection_policy is not None
        assert got.properties.protection_policy.protect_from_scale_set_actions is True
        assert got.etag != vm["etag"]
        stale = c.put(url, params=API, json=body, headers={"If-Match": vm["etag"]})
        assert stale.status_code == 412
        sim.advance(5)
        refused = c.post(f"{rid}/restart", params=API, json={"instanceIds": [vm["instanceId"]]})
        assert refused.status_code == 409
