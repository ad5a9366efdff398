"""ETags and minimal writes: If-Match on every model edit, a 412 with both versions."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from tests.factories import image_patch, scale_set_json
from tests.unit.test_client__fakes import BASE, RG, FakeArm, arm_error, js, make_client
from vmssdash.azure.errors import PreconditionFailedError
from vmssdash.azure.patch import minimal_patch, put_body
from vmssdash.azure.scaleset import ScaleSetApi


def scale_set(version: str, etag: str, capacity: int = 40) -> dict[str, Any]:
    """vmss-web with profile parts vmssdash does not model, which writes must keep."""
    data = scale_set_json("vmss-web", rg=RG, version=version, etag=etag, capacity=capacity)
    data["properties"]["virtualMachineProfile"].update(
        networkProfile={"networkInterfaceConfigurations": [{"name": "nic"}]},
        somethingNew2027={"keep": "me"},
    )
    return data


def test_minimal_patch_carries_only_changes() -> None:
    before = scale_set("24.04.1", '"3"')
    after = copy.deepcopy(before)
    after["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["version"] = (
        "24.04.2"
    )
    after["etag"] = '"99"'  # read-only: never sent
    assert minimal_patch(before, after) == image_patch(version="24.04.2")
    assert minimal_patch(before, copy.deepcopy(before)) == {}
    after2 = copy.deepcopy(before)
    del after2["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["version"]
    after2["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"] = (
        "/x/images/y"
    )
    ref = minimal_patch(before, after2)["properties"]["virtualMachineProfile"]["storageProfile"][
        "imageReference"
    ]
    assert ref == {"id": "/x/images/y", "version": None}


def test_put_body_round_trips_unknown_fields() -> None:
    raw = scale_set("24.04.1", '"3"')
    body = put_body(
        raw,
        image_patch(version="24.04.2"),
    )
    assert body["properties"]["virtualMachineProfile"]["somethingNew2027"] == {"keep": "me"}
    assert body["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"] == {
        "createOption": "FromImage",
        "caching": "ReadWrite",
    }
    assert (
        body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["version"]
        == "24.04.2"
    )
    assert (
        raw["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["version"]
        == "24.04.1"
    )


async def test_update_model_sends_if_match_and_exact_patch() -> None:
    arm = (
        FakeArm()
        .on("PATCH", BASE, js(200, scale_set("24.04.2", '"4"')))
        .on("GET", BASE, js(200, scale_set("24.04.1", '"3"')), js(200, scale_set("24.04.2", '"4"')))
    )
    patch = image_patch(version="24.04.2")
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        loaded = await api.get()
        fresh = await api.update_model(patch, etag=loaded.etag)
    sent = arm.calls("PATCH")[0]
    assert sent.headers["if-match"] == '"3"'  # quotes included, exactly as read
    assert json.loads(sent.content) == patch
    assert fresh.etag == '"4"'
    assert fresh.image_reference is not None and fresh.image_reference.version == "24.04.2"


async def test_412_says_scale_set_changed_and_carries_both_versions() -> None:
    mine = scale_set("24.04.1", '"3"')
    theirs = scale_set("24.04.1", '"5"', capacity=45)
    arm = (
        FakeArm()
        .on(
            "PATCH",
            BASE,
            arm_error(
                412,
                "PreconditionFailed",
                'Etag provided in if-match header "3" does not match etag "5" of resource.',
                {"x-ms-request-id": "r412"},
            ),
        )
        .on("GET", BASE, js(200, mine), js(200, theirs))
    )
    patch = image_patch(version="24.04.2")
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        loaded = await api.get()
        with pytest.raises(PreconditionFailedError) as info:
            await api.update_model(patch, etag=loaded.etag)
    err = info.value
    assert "the scale set changed since you loaded it" in str(err)
    assert err.status == 412 and err.code == "PreconditionFailed" and err.request_id == "r412"
    assert err.yours is not None and err.yours.etag == '"3"' and err.yours.capacity == 40
    assert err.theirs is not None and err.theirs.etag == '"5"' and err.theirs.capacity == 45
    assert (err.your_etag, err.server_etag) == ('"3"', '"5"')
    assert err.patch == patch
    assert len(arm.calls("PATCH")) == 1  # never retried


async def test_412_with_explicit_base_and_set_capacity() -> None:
    arm = (
        FakeArm()
        .on("PATCH", BASE, arm_error(412, "PreconditionFailed", "stale"))
        .on("GET", BASE, js(200, scale_set("v", '"8"')))
    )
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        with pytest.raises(PreconditionFailedError) as info:
            await api.set_capacity(10, etag='"7"')
    assert info.value.yours is None  # nothing loaded with that ETag
    assert info.value.theirs is not None and info.value.theirs.etag == '"8"'
    assert json.loads(arm.calls("PATCH")[0].content) == {"sku": {"capacity": 10}}


async def test_replace_model_puts_raw_json_with_if_match() -> None:
    raw = scale_set("24.04.1", '"3"')

    def on_put(request: httpx.Request) -> httpx.Response:
        return js(200, json.loads(request.content) | {"etag": '"4"'})

    arm = (
        FakeArm()
        .on("PUT", BASE, on_put)
        .on("GET", BASE, js(200, raw), js(200, scale_set("24.04.9", '"4"')))
    )
    async with make_client(arm) as client:
        api = ScaleSetApi(client, BASE)
        loaded = await api.get()
        body = put_body(
            loaded.raw,
            image_patch(version="24.04.9"),
        )
        await api.replace_model(body, etag=loaded.etag)
    sent = arm.calls("PUT")[0]
    assert sent.headers["if-match"] == '"3"'
    assert json.loads(sent.content)["properties"]["virtualMachineProfile"]["somethingNew2027"] == {
        "keep": "me"
    }
