"""The public client interface others code against: paths, api-versions, paging, models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import vm_json
from tests.unit.test_client__fakes import (
    BASE,
    ENDPOINT,
    RG,
    SUB,
    FakeArm,
    arm_error,
    js,
    make_client,
)
from vmssdash.azure import versions
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ConflictError, NotFoundError
from vmssdash.azure.events import ClientEvent
from vmssdash.azure.scaleset import (
    ResourceId,
    ScaleSetApi,
    list_scale_sets,
    list_subscriptions,
    parse_resource_id,
)
from vmssdash.azure.tokens import NoAuth, StaticToken, TokenProvider

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "azure-examples"


def _example(name: str) -> dict:
    data = json.loads((EXAMPLES / name).read_text())
    return data["responses"]["200"]["body"]


def vm(i: int, latest: bool = True) -> dict:
    data = vm_json(i, name="vmss-web", rg=RG, ud=i % 5, fd=i % 3, latest=latest)
    data["futureField"] = {"kept": True}
    return data


def test_parse_resource_id_accepts_variants() -> None:
    rid = parse_resource_id(BASE)
    assert rid == ResourceId(SUB, "vmssdash-demo", "vmss-web")
    assert parse_resource_id(BASE.lower().lstrip("/") + "/") == ResourceId(
        SUB, "vmssdash-demo", "vmss-web"
    )
    assert (
        parse_resource_id("https://management.azure.com" + BASE + "?api-version=1").name
        == "vmss-web"
    )
    assert rid.path == BASE
    portal = f"https://portal.azure.com/#@contoso.onmicrosoft.com/resource{BASE}/overview"
    assert parse_resource_id(portal) == rid
    assert parse_resource_id(f"https://portal.azure.com/#@t/resource{BASE}") == rid


@pytest.mark.parametrize(
    "bad", ["", "vmss-web", f"/subscriptions/{SUB}/resourceGroups/rg", BASE + "/virtualMachines/3"]
)
def test_parse_resource_id_rejects_with_clear_message(bad: str) -> None:
    with pytest.raises(ValueError, match="not a VM scale set resource id"):
        parse_resource_id(bad)


def test_token_providers_satisfy_protocol() -> None:
    assert isinstance(NoAuth(), TokenProvider)
    assert isinstance(StaticToken("t"), TokenProvider)
    assert NoAuth().identity == "no sign-in (--auth none)"


def test_api_versions_live_in_one_place() -> None:
    assert versions.api_version_for(BASE) == "2026-04-01"
    assert versions.api_version_for("/subscriptions") == versions.RESOURCES
    assert (
        versions.api_version_for(
            f"/subscriptions/{SUB}/resourceGroups/x/providers/Microsoft.Compute/galleries/g/images/i"
        )
        == versions.COMPUTE_GALLERIES
    )


async def test_get_scale_set_sends_api_version_and_bearer_token() -> None:
    body = _example("VirtualMachineScaleSet_Get.json")
    arm = FakeArm().on("GET", BASE, js(200, body))
    async with make_client(arm, token_provider=StaticToken("sekrit")) as client:
        ss = await ScaleSetApi(client, BASE).get()
    (req,) = arm.requests
    assert req.url.params["api-version"] == "2026-04-01"
    assert req.headers["authorization"] == "Bearer sekrit"
    assert ss.etag == body["etag"]
    assert ss.raw == body


async def test_no_auth_sends_no_authorization_header() -> None:
    arm = FakeArm().on("GET", BASE, js(200, _example("VirtualMachineScaleSet_Get.json")))
    async with make_client(arm) as client:
        await client.get_json(BASE)
    assert "authorization" not in arm.requests[0].headers


async def test_list_vms_pages_expands_instance_view_and_keeps_raw() -> None:
    page1 = {
        "value": [vm(10), vm(2)],
        "nextLink": f"{ENDPOINT}{BASE}/virtualMachines?api-version=2026-04-01&$expand=instanceView&$skiptoken=p2",
    }
    page2 = {"value": [vm(7, latest=False)]}

    def pages(request):
        return js(200, page2 if request.url.params.get("$skiptoken") == "p2" else page1)

    arm = FakeArm().on("GET", BASE + "/virtualMachines", pages)
    seen: list[int] = []
    async with make_client(arm) as client:
        vms = await ScaleSetApi(client, BASE).list_vms(on_page=lambda p: seen.append(len(p)))
    assert [v.instance_id for v in vms] == ["2", "7", "10"]  # numeric order, not string order
    assert seen == [2, 1]
    first, second = arm.requests
    assert first.url.params["$expand"] == "instanceView"
    assert "$select" not in first.url.params
    assert second.url.params["$skiptoken"] == "p2"
    assert vms[1].properties.latest_model_applied is False
    assert vms[0].properties.instance_view is not None
    assert vms[0].properties.instance_view.platform_update_domain == 2
    assert vms[0].raw["futureField"] == {"kept": True}


async def test_list_vms_parses_published_example() -> None:
    data = json.loads(
        (EXAMPLES / "VirtualMachineScaleSetVM_List_WithResiliencyView.json").read_text()
    )
    body = data["responses"]["200"]["body"]
    body.pop("nextLink", None)
    arm = FakeArm().on("GET", BASE + "/virtualMachines", js(200, body))
    async with make_client(arm) as client:
        vms = await ScaleSetApi(client, BASE).list_vms()
    assert len(vms) == len(body["value"])


async def test_list_vms_filter_is_validated() -> None:
    arm = FakeArm().on("GET", BASE + "/virtualMachines", js(200, {"value": []}))
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        await api.list_vms(filter="properties/latestModelApplied eq false")
        with pytest.raises(ValueError, match="unsupported VM filter"):
            await api.list_vms(filter="name eq 'x'")
    assert arm.requests[0].url.params["$filter"] == "properties/latestModelApplied eq false"


async def test_not_found_is_typed_with_request_id() -> None:
    arm = FakeArm().on(
        "GET",
        BASE,
        arm_error(
            404,
            "ResourceNotFound",
            "The Resource 'Microsoft.Compute/virtualMachineScaleSets/vmss-web' was not found.",
            {"x-ms-request-id": "rid-1", "x-ms-correlation-request-id": "cid-1"},
        ),
    )
    events: list[ClientEvent] = []
    async with make_client(arm, events=events.append) as client:
        with pytest.raises(NotFoundError) as info:
            await ScaleSetApi(client, BASE).get()
    err = info.value
    assert err.status == 404 and err.code == "ResourceNotFound"
    assert err.request_id == "rid-1" and err.correlation_id == "cid-1"
    assert str(err).startswith("ResourceNotFound (HTTP 404): The Resource")
    assert "\n" not in str(err)
    assert [e.kind for e in events] == ["request", "error"]
    assert len(arm.requests) == 1  # a 404 is final, never retried


async def test_manual_upgrade_refuses_empty_and_star() -> None:
    arm = FakeArm()
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        with pytest.raises(ValueError, match="no instance ids"):
            await api.begin_manual_upgrade([])
        with pytest.raises(ValueError, match=r"'\*'"):
            await api.begin_manual_upgrade(["1", "*"])
        with pytest.raises(ValueError, match="unknown action"):
            await api.begin_action("explode", ["1"])
    assert arm.requests == []


async def test_manual_upgrade_posts_sorted_ids_and_waits() -> None:
    op_url = f"{ENDPOINT}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/op1?api-version=2026-04-01"
    arm = (
        FakeArm()
        .on(
            "POST",
            BASE + "/manualupgrade",
            js(202, None, {"Azure-AsyncOperation": op_url, "Location": op_url + "&monitor=true"}),
        )
        .on(
            "GET",
            r".*/operations/op1",
            js(200, {"status": "InProgress"}),
            js(200, {"status": "Succeeded"}),
        )
    )
    async with make_client(arm) as client:
        op = await ScaleSetApi(client, BASE).begin_manual_upgrade([10, "2", "2"])
        assert not op.done and op.mode == "async"
        status = await op.wait()
    assert status.status == "Succeeded" and op.done
    assert json.loads(arm.requests[0].content) == {"instanceIds": ["2", "10"]}
    assert len(arm.calls("GET", "/operations/op1")) == 2


async def test_begin_action_conflict_is_typed() -> None:
    arm = FakeArm().on(
        "POST", BASE + "/restart", arm_error(409, "Conflict", "Conflict with concurrent request")
    )
    async with make_client(arm) as client:
        with pytest.raises(ConflictError, match="concurrent"):
            await ScaleSetApi(client, BASE).begin_action("restart", ["3"])
    assert len(arm.requests) == 1


async def test_list_subscriptions_and_scale_sets() -> None:
    ss = _example("VirtualMachineScaleSet_Get.json")
    arm = (
        FakeArm()
        .on(
            "GET",
            "/subscriptions",
            js(200, {"value": [{"subscriptionId": SUB, "displayName": "Dev", "state": "Enabled"}]}),
        )
        .on(
            "GET",
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets",
            js(200, {"value": [ss]}),
        )
        .on(
            "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets",
            js(200, {"value": [ss, ss]}),
        )
    )
    async with make_client(arm) as client:
        subs = await list_subscriptions(client)
        in_rg = await list_scale_sets(client, SUB, "rg")
        everywhere = await list_scale_sets(client, SUB)
    assert subs[0].subscription_id == SUB and subs[0].display_name == "Dev"
    assert arm.requests[0].url.params["api-version"] == versions.RESOURCES
    assert len(in_rg) == 1 and len(everywhere) == 2
    assert in_rg[0].raw == ss


async def test_rolling_upgrade_latest_and_image_versions() -> None:
    img = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/publishers/Canonical/artifacttypes/vmimage/offers/ubuntu-24_04-lts/skus/server/versions"
    arm = (
        FakeArm()
        .on(
            "GET",
            BASE + "/rollingUpgrades/latest",
            js(
                200,
                {
                    "properties": {
                        "runningStatus": {"code": "RollingForward"},
                        "progress": {"successfulInstanceCount": 3},
                    }
                },
            ),
        )
        .on(
            "GET",
            img,
            js(
                200,
                [
                    {"name": "24.04.202610010"},
                    {"name": "24.04.202609020"},
                    {"name": "24.04.202610010-bad"},
                ],
            ),
        )
    )
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        latest = await api.rolling_upgrade_latest()
        versions_ = await api.list_image_versions(
            "westeurope", "Canonical", "ubuntu-24_04-lts", "server"
        )
    assert latest.properties.running_status is not None
    assert latest.properties.running_status.code == "RollingForward"
    assert versions_ == ["24.04.202609020", "24.04.202610010", "24.04.202610010-bad"]


async def test_client_for_cloud_uses_its_arm_endpoint() -> None:
    from vmssdash.azure.clouds import get_cloud

    cloud = get_cloud("AzureChinaCloud")
    async with ArmClient.for_cloud(cloud, read_only=True) as client:
        assert client.endpoint == cloud.arm_endpoint.rstrip("/")
        assert client.read_only
        assert str(client.url_for(BASE)).startswith(
            cloud.arm_endpoint.rstrip("/") + "/subscriptions/"
        )
