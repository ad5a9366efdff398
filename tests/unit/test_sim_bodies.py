"""Every body the simulator emits parses with our models, in every phase of its life.

In-process (ASGI transport, no sockets): walk each scenario through upgrades, rolling
upgrades, scaling and failures, and validate whatever comes back at each step.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.factories import API, image_patch
from tests.factories import SUB as SUB_ID
from vmssdash.azure.flexible import as_scale_set_vm
from vmssdash.azure.models.operations import (
    ArmErrorBody,
    OperationStatus,
    Page,
    RollingUpgradeStatus,
)
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM, VMInstanceView
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.sim.app import create_app
from vmssdash.sim.world import World

SUB = f"/subscriptions/{SUB_ID}"
RG = f"{SUB}/resourceGroups/vmssdash-demo/providers/Microsoft.Compute/virtualMachineScaleSets"


def in_process(app: Starlette) -> httpx.AsyncClient:
    """A client that calls the simulator app directly (ASGI), no socket."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim.test")


class Sweep:
    def __init__(self, scenario: str) -> None:
        self.app = create_app(scenario, manual_clock=True, page_size=16)
        self.world: World = self.app.state.world
        self.client = in_process(self.app)
        self.ops: list[str] = []

    def tick(self, seconds: float) -> None:
        with self.world.lock:
            self.world.clock.advance(seconds)
            self.world.advance()

    async def check_all(self) -> None:
        r = await self.client.get(RG, params=API)
        sets = [ScaleSet.from_json(v) for v in Page.model_validate(r.json()).value]
        for vmss in sets:
            got = ScaleSet.from_json((await self.client.get(vmss.id, params=API)).json())
            assert got.etag and got.properties.provisioning_state
            vms: list[ScaleSetVM] = []
            url: str | None = (
                f"{vmss.id}/virtualMachines?api-version=2026-04-01&$expand=instanceView"
            )
            flexible = got.properties.orchestration_mode == "Flexible"
            if flexible:  # members through the VM API, as ScaleSetApi reads them
                members = vmss.id.split("/virtualMachineScaleSets/")[0] + "/virtualMachines"
                url = (
                    f"{members}?api-version=2026-04-01&$expand=instanceView"
                    f"&$filter='virtualMachineScaleSet/id' eq '{vmss.id}'"
                )
            while url:
                page = Page.model_validate((await self.client.get(url)).json())
                vms.extend(
                    ScaleSetVM.from_json(as_scale_set_vm(v, got) if flexible else v)
                    for v in page.value
                )
                url = page.next_link
            assert len(vms) == len(self.world.scale_sets[_key(vmss.name)].vms)
            ScaleSetSnapshot.build(got, vms)  # the core layer accepts it too
            for vm in [] if flexible else vms[:3]:  # the scale-set VM API is Uniform's
                one = await self.client.get(
                    f"{vmss.id}/virtualMachines/{vm.instance_id}",
                    params={**API, "$expand": "instanceView"},
                )
                ScaleSetVM.from_json(one.json())
                view = await self.client.get(
                    f"{vmss.id}/virtualMachines/{vm.instance_id}/instanceView", params=API
                )
                VMInstanceView.model_validate(view.json())
            rolling = await self.client.get(f"{vmss.id}/rollingUpgrades/latest", params=API)
            if rolling.status_code == 200:
                RollingUpgradeStatus.model_validate(rolling.json())
            else:
                ArmErrorBody.model_validate(rolling.json())
        for url in self.ops:
            OperationStatus.model_validate((await self.client.get(url)).json())

    async def post(self, path: str, body: Any = None) -> httpx.Response:
        r = await self.client.post(path, params=API, json=body)
        if r.status_code == 202:
            self.ops.append(r.headers["azure-asyncoperation"])
        else:
            ArmErrorBody.model_validate(r.json())
        return r

    async def patch(self, path: str, body: Any) -> httpx.Response:
        r = await self.client.patch(path, params=API, json=body)
        if r.status_code == 200:
            ScaleSet.from_json(r.json())
            self.ops.append(r.headers["azure-asyncoperation"])
        else:
            ArmErrorBody.model_validate(r.json())
        return r


def _key(name: str) -> tuple[str, str, str]:
    return ("00000000-0000-0000-0000-000000000000", "vmssdash-demo", name)


def _image(version: str) -> dict[str, Any]:
    return image_patch(version=version)


@pytest.mark.parametrize("scenario", ["demo", "small"])
async def test_bodies_validate_through_a_busy_life(scenario: str) -> None:
    sweep = Sweep(scenario)
    async with sweep.client:
        await sweep.check_all()
        for vmss in list(sweep.world.scale_sets.values()):
            ids = [str(i) for i in sorted(vmss.vms)][:4]
            await sweep.post(f"{RG}/{vmss.name}/manualupgrade", {"instanceIds": ids[:2]})
            await sweep.post(f"{RG}/{vmss.name}/manualupgrade", {"instanceIds": ids[2:]})  # 409
            await sweep.post(f"{RG}/{vmss.name}/manualupgrade", {"instanceIds": ["99999"]})
        for step in (1, 4, 10):
            sweep.tick(step)
            await sweep.check_all()
        sweep.tick(60)
        for vmss in list(sweep.world.scale_sets.values()):
            await sweep.patch(f"{RG}/{vmss.name}", {"sku": {"capacity": len(vmss.vms) + 2}})
            await sweep.post(f"{RG}/{vmss.name}/poweroff", {"instanceIds": [str(min(vmss.vms))]})
        sweep.tick(3)
        await sweep.check_all()
        sweep.tick(60)
        name = next(iter(sweep.world.scale_sets.values())).name
        if scenario == "demo":
            await sweep.patch(f"{RG}/vmss-web", _image("24.04.202611991-fail"))
            await sweep.post(f"{RG}/vmss-web/manualupgrade", {"instanceIds": ["*"]})
            await sweep.patch(f"{RG}/vmss-rolling", _image("24.04.202611990-bad"))
            await sweep.post(f"{RG}/vmss-zonal/osRollingUpgrade")
        else:
            await sweep.patch(f"{RG}/{name}", _image("24.04.202611990-bad"))
            await sweep.post(f"{RG}/{name}/osRollingUpgrade")
        for step in (2, 10, 30, 120):
            sweep.tick(step)
            await sweep.check_all()
        assert sweep.ops


async def test_common_headers_and_request_id_echo() -> None:
    app = create_app("small", manual_clock=True)
    async with in_process(app) as c:
        r = await c.get(
            f"{RG}/vmss-small",
            params=API,
            headers={"x-ms-client-request-id": "abc-123", "x-ms-correlation-request-id": "corr-1"},
        )
    assert r.headers["x-ms-client-request-id"] == "abc-123"
    assert r.headers["x-ms-correlation-request-id"] == "corr-1"
    assert r.headers["cache-control"] == "no-cache" and r.headers["expires"] == "-1"
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert r.headers["x-ms-routing-request-id"].startswith("WESTEUROPE:2026")
    assert len(r.headers["x-ms-request-id"]) == 36
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-ms-ratelimit-remaining-subscription-reads"] == "11999"


async def test_lro_retry_after_is_off_by_default_and_configurable() -> None:
    for setting, expected in ((None, None), (3, "3")):
        app = create_app("small", manual_clock=True, retry_after_202=setting)
        async with in_process(app) as c:
            r = await c.post(f"{RG}/vmss-small/restart", params=API)
        assert r.status_code == 202
        assert r.headers.get("retry-after") == expected


async def test_require_auth_answers_401_like_arm() -> None:
    import base64
    import json
    import time

    def jwt(exp: float) -> str:
        payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJub25lIn0.{payload}."

    app = create_app("small", manual_clock=True, require_auth=True)
    async with in_process(app) as c:
        missing = await c.get(f"{RG}/vmss-small", params=API)
        assert missing.status_code == 401
        assert ArmErrorBody.model_validate(missing.json()).error.code == "AuthenticationFailed"
        assert missing.headers["www-authenticate"].startswith("Bearer authorization_uri=")
        assert "retry-after" not in missing.headers
        garbage = await c.get(f"{RG}/vmss-small", params=API, headers={"Authorization": "Bearer x"})
        assert garbage.json()["error"]["code"] == "InvalidAuthenticationToken"
        expired = await c.get(
            f"{RG}/vmss-small",
            params=API,
            headers={"Authorization": f"Bearer {jwt(time.time() - 60)}"},
        )
        assert expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
        ok = await c.get(
            f"{RG}/vmss-small",
            params=API,
            headers={"Authorization": f"Bearer {jwt(time.time() + 600)}"},
        )
        assert ok.status_code == 200
        assert (await c.get("/_sim/health")).status_code == 200


async def test_images_scenario_covers_every_image_form() -> None:
    from vmssdash.core.snapshot import describe_image

    sweep = Sweep("images")
    async with sweep.client:
        await sweep.check_all()
        described = {}
        for name in ("vmss-managed", "vmss-vhd", "vmss-shared"):
            got = ScaleSet.from_json((await sweep.client.get(f"{RG}/{name}", params=API)).json())
            described[name] = describe_image(got)
        assert "web-2026-10" in described["vmss-managed"]
        assert "web-2026-10.vhd" in described["vmss-vhd"]
        assert "1.4.0" in described["vmss-shared"]
        vhd = (await sweep.client.get(f"{RG}/vmss-vhd", params=API)).json()
        storage = vhd["properties"]["virtualMachineProfile"]["storageProfile"]
        assert "imageReference" not in storage and storage["osDisk"]["image"]["uri"]
        managed_id = (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vmssdash-demo"
            "/providers/Microsoft.Compute/images/web-2026-11"
        )
        patches = {
            "vmss-managed": {"imageReference": {"id": managed_id}},
            "vmss-vhd": {
                "osDisk": {
                    "image": {"uri": "https://vmssdashimages.blob.core.windows.net/vhds/web-11.vhd"}
                }
            },
        }
        for name, storage_patch in patches.items():
            body = {"properties": {"virtualMachineProfile": {"storageProfile": storage_patch}}}
            assert (await sweep.patch(f"{RG}/{name}", body)).status_code == 200
            sweep.tick(5)
            r = await sweep.post(f"{RG}/{name}/manualupgrade", {"instanceIds": ["*"]})
            assert r.status_code == 202
        bad = image_patch(id="/nope")
        assert (await sweep.patch(f"{RG}/vmss-managed", bad)).status_code == 400
        sweep.tick(60)
        await sweep.check_all()
        for name in patches:
            s = sweep.world.scale_sets[_key(name)]
            assert all(vm.applied_gen == s.model_gen for vm in s.vms.values())
