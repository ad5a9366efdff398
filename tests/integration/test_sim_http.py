"""The simulator over a real loopback socket: the first-cut wire contract.

Every JSON body is validated against ``vmssdash.azure.models`` so that what the simulator
emits is always something our client can parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.factories import API, image_patch
from tests.plugins.sim import SimHandle, scale_set_id
from vmssdash.azure.models.operations import ArmErrorBody, OperationStatus, Page
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM, VMInstanceView

WEB = scale_set_id("vmss-web")


@pytest.fixture
def client(sim_base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_base_url, trust_env=False) as c:
        yield c


def list_all_vms(client: httpx.Client, rid: str, **params: str) -> list[dict[str, Any]]:
    url: str | None = f"{rid}/virtualMachines"
    items: list[dict[str, Any]] = []
    first = True
    seen: set[str] = set()
    while url:
        r = client.get(url, params={**API, **params} if first else None)
        assert r.status_code == 200, r.text
        page = Page.model_validate(r.json())
        for item in page.value:
            ScaleSetVM.from_json(item)
        items.extend(page.value)
        url = page.next_link
        if url:
            assert url not in seen
            seen.add(url)
        first = False
    return items


def test_list_scale_sets_in_rg_and_subscription(client: httpx.Client) -> None:
    rg = client.get(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
        "/providers/Microsoft.Compute/virtualMachineScaleSets",
        params=API,
    )
    sub = client.get(
        "/subscriptions/00000000-0000-0000-0000-000000000000"
        "/providers/Microsoft.Compute/virtualMachineScaleSets",
        params=API,
    )
    for r in (rg, sub):
        assert r.status_code == 200
        sets = [ScaleSet.from_json(v) for v in Page.model_validate(r.json()).value]
        assert {s.name for s in sets} == {"vmss-web", "vmss-zonal", "vmss-rolling", "vmss-flex"}
    assert "HighCostGetVMScaleSet3Min" in rg.headers["x-ms-ratelimit-remaining-resource"]


def test_get_scale_set_shape(client: httpx.Client) -> None:
    r = client.get(WEB, params=API)
    assert r.status_code == 200
    vmss = ScaleSet.from_json(r.json())
    assert vmss.id == WEB
    assert vmss.etag == '"3"'
    assert vmss.capacity == 40
    assert vmss.upgrade_mode == "Manual"
    ref = vmss.image_reference
    assert ref is not None and ref.publisher == "Canonical" and ref.version == "24.04.202610010"
    policy = vmss.properties.upgrade_policy
    assert policy is not None and policy.rolling_upgrade_policy is not None
    assert policy.rolling_upgrade_policy.pause_time_between_batches == "PT0S"
    assert r.headers.get_list("server") == ["Microsoft-HTTPAPI/2.0, Microsoft-HTTPAPI/2.0"] or (
        r.headers.get_list("server") == ["Microsoft-HTTPAPI/2.0", "Microsoft-HTTPAPI/2.0"]
    )
    assert r.headers["x-ms-ratelimit-remaining-resource"].startswith(
        "Microsoft.Compute/GetVMScaleSet3Min;"
    )


def test_vm_list_pages_with_instance_view(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo", page_size=7)
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        first = c.get(f"{WEB}/virtualMachines", params={**API, "$expand": "instanceView"})
        link = first.json()["nextLink"]
        assert link.startswith(sim.base_url + "/subscriptions/")
        assert "api-version=2026-04-01" in link and "$expand=instanceView" in link
        assert "$skiptoken=" in link and "{" not in link
        vms = list_all_vms(c, WEB, **{"$expand": "instanceView"})
    assert len(vms) == 40
    ids = [int(v["instanceId"]) for v in vms]
    assert ids == sorted(ids) and len(set(ids)) == 40
    parsed = [ScaleSetVM.from_json(v) for v in vms]
    assert all(p.properties.instance_view is not None for p in parsed)
    uds = {p.properties.instance_view.platform_update_domain for p in parsed}  # type: ignore[union-attr]
    fds = {p.properties.instance_view.platform_fault_domain for p in parsed}  # type: ignore[union-attr]
    assert uds == {0, 1, 2, 3, 4} and fds == {0, 1, 2}
    stale = [p for p in parsed if p.properties.latest_model_applied is False]
    assert len(stale) == 8


def test_vm_list_without_expand_has_no_instance_view(client: httpx.Client) -> None:
    r = client.get(f"{WEB}/virtualMachines", params=API)
    assert all("instanceView" not in v["properties"] for v in r.json()["value"])


def test_bad_skiptoken_is_400(client: httpx.Client) -> None:
    r = client.get(f"{WEB}/virtualMachines", params={**API, "$skiptoken": "!!nope"})
    assert r.status_code == 400
    err = ArmErrorBody.model_validate(r.json()).error
    assert err.code == "InvalidParameter" and err.target == "$skiptoken"


def test_vm_get_and_instance_view(client: httpx.Client) -> None:
    vms = client.get(f"{WEB}/virtualMachines", params=API).json()["value"]
    iid = vms[0]["instanceId"]
    r = client.get(f"{WEB}/virtualMachines/{iid}", params={**API, "$expand": "instanceView"})
    vm = ScaleSetVM.from_json(r.json())
    assert vm.instance_id == iid and vm.name == f"vmss-web_{iid}"
    assert vm.properties.instance_view is not None
    r = client.get(f"{WEB}/virtualMachines/{iid}/instanceView", params=API)
    view = VMInstanceView.model_validate(r.json())
    assert view.status_with_prefix("PowerState/") is not None
    missing = client.get(f"{WEB}/virtualMachines/9999", params=API)
    assert missing.status_code == 404
    assert ArmErrorBody.model_validate(missing.json()).error.code == "NotFound"


def test_manual_upgrade_lro_on_the_wire(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("demo")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        vms = list_all_vms(c, WEB)
        stale = [v["instanceId"] for v in vms if not v["properties"]["latestModelApplied"]][:2]
        r = c.post(f"{WEB}/manualupgrade", params=API, json={"instanceIds": stale})
        assert r.status_code == 202 and r.content == b""
        assert "retry-after" not in r.headers
        status_url = r.headers["azure-asyncoperation"]
        monitor_url = r.headers["location"]
        assert status_url.startswith(sim.base_url) and status_url.endswith(
            "?api-version=2026-04-01"
        )
        assert monitor_url.endswith("?monitor=true&api-version=2026-04-01")
        status = OperationStatus.model_validate(c.get(status_url).json())
        assert status.status == "InProgress" and status.start_time and status.end_time is None
        assert c.get(monitor_url).status_code == 202
        vm = c.get(f"{WEB}/virtualMachines/{stale[0]}", params={**API, "$expand": "instanceView"})
        codes = [s["code"] for s in vm.json()["properties"]["instanceView"]["statuses"]]
        assert "ProvisioningState/updating" in codes
        assert vm.json()["properties"]["provisioningState"] == "Updating"
        # A second upgrade while the first runs conflicts.
        again = c.post(f"{WEB}/manualupgrade", params=API, json={"instanceIds": stale})
        assert again.status_code == 409 and "retry-after" not in again.headers
        sim.advance(60)
        status = OperationStatus.model_validate(c.get(status_url).json())
        assert status.status == "Succeeded" and status.end_time is not None
        done = c.get(monitor_url)
        assert done.status_code == 200 and done.content == b""
        for iid in stale:
            got = ScaleSetVM.from_json(
                c.get(
                    f"{WEB}/virtualMachines/{iid}", params={**API, "$expand": "instanceView"}
                ).json()
            )
            assert got.properties.latest_model_applied is True
            assert got.properties.provisioning_state == "Succeeded"
            storage = got.properties.storage_profile
            ref = storage.image_reference if storage else None
            assert ref is not None and ref.exact_version == "24.04.202610010"
            view = got.properties.instance_view
            assert view is not None and view.vm_health is not None
            assert view.vm_health.status is not None
            assert view.vm_health.status.code == "HealthState/healthy"


def test_manual_upgrade_bad_instance_id_is_400(client: httpx.Client) -> None:
    r = client.post(f"{WEB}/manualupgrade", params=API, json={"instanceIds": ["99999"]})
    assert r.status_code == 400
    err = ArmErrorBody.model_validate(r.json()).error
    assert err.code == "InvalidParameter" and err.target == "instanceIds"
    assert "retry-after" not in r.headers


def test_patch_image_marks_vms_stale_and_etag_guards(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small")
    rid = scale_set_id("vmss-small")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        etag = c.get(rid, params=API).json()["etag"]
        patch = image_patch(version="24.04.202612010")
        r = c.patch(rid, params=API, json=patch, headers={"If-Match": etag})
        assert r.status_code == 200 and "azure-asyncoperation" in r.headers
        assert "location" not in r.headers
        body = ScaleSet.from_json(r.json())
        assert body.etag == f'"{int(etag.strip(chr(34))) + 1}"'
        assert body.properties.provisioning_state == "Updating"
        stale = c.patch(rid, params=API, json=patch, headers={"If-Match": etag})
        assert stale.status_code == 412
        assert ArmErrorBody.model_validate(stale.json()).error.code == "PreconditionFailed"
        vms = list_all_vms(c, rid)
        assert all(v["properties"]["latestModelApplied"] is False for v in vms)
        sim.advance(10)
        assert c.get(r.headers["azure-asyncoperation"]).json()["status"] == "Succeeded"
        assert c.get(rid, params=API).json()["properties"]["provisioningState"] == "Succeeded"


def test_patch_unknown_image_version_is_400(client: httpx.Client) -> None:
    patch = image_patch(version="9.9.9")
    r = client.patch(WEB, params=API, json=patch)
    assert r.status_code == 400
    assert ArmErrorBody.model_validate(r.json()).error.code == "InvalidParameter"


def test_api_version_required_and_known(client: httpx.Client) -> None:
    missing = client.get(WEB)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    old = client.get(WEB, params={"api-version": "2019-07-01"})
    assert old.status_code == 400
    assert old.json()["error"]["code"] == "NoRegisteredProviderFound"
    for version in ("2023-09-01", "2024-11-01", "2026-04-01"):
        assert client.get(WEB, params={"api-version": version}).status_code == 200


def test_paths_are_case_insensitive(client: httpx.Client) -> None:
    upper = WEB.upper().replace("VMSSDASH-DEMO", "VmssDash-Demo")
    r = client.get(f"{upper}/VIRTUALMACHINES", params=API)
    assert r.status_code == 200 and len(r.json()["value"]) == 40
    assert r.json()["value"][0]["id"].startswith(WEB)


def test_not_found_shapes(client: httpx.Client) -> None:
    r = client.get(scale_set_id("nope"), params=API)
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"
    r = client.get(scale_set_id("nope") + "/virtualMachines", params=API)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = client.get(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/nope/providers/"
        "Microsoft.Compute/virtualMachineScaleSets",
        params=API,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceGroupNotFound"
    r = client.get(
        "/subscriptions/11111111-0000-0000-0000-000000000000/providers/Microsoft.Compute/"
        "virtualMachineScaleSets",
        params=API,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "SubscriptionNotFound"
    for resp in (r,):
        assert "retry-after" not in resp.headers


def test_control_api(client: httpx.Client) -> None:
    assert client.get("/_sim/health").text == "ok"
    state = client.get("/_sim/state").json()
    assert state["scenario"] == "demo" and state["clock"]["manual"] is True
    before = state["clock"]["now"]
    after = client.post("/_sim/clock/advance", json={"seconds": 12.5}).json()["clock"]["now"]
    assert after == pytest.approx(before + 12.5)
    faults = client.post("/_sim/faults", json={"spec": "500=0.5"}).json()
    assert faults["error500"] == 0.5
    bad = client.post("/_sim/faults", json={"spec": "nonsense=1"})
    assert bad.status_code == 400


def test_operation_status_is_pretty_printed_like_the_wire(client: httpx.Client) -> None:
    r = client.post(f"{WEB}/restart", params=API)
    body = client.get(r.headers["azure-asyncoperation"]).text
    assert body.startswith('{\r\n  "startTime": "')
    assert body.index('"startTime"') < body.index('"status"') < body.index('"name"')
    assert OperationStatus.model_validate_json(body).status == "InProgress"


def test_control_can_force_vm_health(client: httpx.Client) -> None:
    iid = client.get(f"{WEB}/virtualMachines", params=API).json()["value"][0]["instanceId"]
    r = client.post(
        "/_sim/vm", json={"scaleSet": "vmss-web", "instanceId": iid, "health": "unhealthy"}
    )
    assert r.status_code == 200
    view = client.get(f"{WEB}/virtualMachines/{iid}/instanceView", params=API).json()
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    assert client.post("/_sim/vm", json={"scaleSet": "nope", "instanceId": iid}).status_code == 400
