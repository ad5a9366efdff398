"""The official Azure SDK for Python drives the simulator with no special casing.

The simulator serves https with a generated CA (``--tls``), so the SDK's bearer-token
policy (which refuses plain http) runs unchanged; the client only gets the CA bundle
through ``connection_verify``, exactly as a user behind a TLS-inspecting proxy would.
Long-running operations complete because the simulated clock runs fast (speed 200);
no assertion depends on timing.
"""

# The SDK's models make every field Optional; these tests assert on them directly.
# mypy: disable-error-code="union-attr,arg-type,type-var,operator,misc"

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceModifiedError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    VirtualMachineScaleSetUpdate,
    VirtualMachineScaleSetVMInstanceIDs,
    VirtualMachineScaleSetVMInstanceRequiredIDs,
)

from tests.factories import SUB
from vmssdash.sim import tls
from vmssdash.sim.app import create_app
from vmssdash.sim.server import RunningServer, serve_in_thread
from vmssdash.sim.throttle import ThrottleConfig

RG = "vmssdash-demo"


class FakeCredential:
    """Any token will do: the simulator does not check it (ARM would)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("simulated-token", int(time.time()) + 3600)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tls.TlsFiles:
    return tls.generate(Path(tmp_path_factory.mktemp("sim-tls")))


@pytest.fixture
def serve(tls_files: tls.TlsFiles) -> Iterator[Callable[..., tuple[RunningServer, Any]]]:
    servers: list[RunningServer] = []

    def start(**kwargs: Any) -> tuple[RunningServer, Any]:
        kwargs.setdefault("speed", 200.0)
        app = create_app(kwargs.pop("scenario", "demo"), **kwargs)
        server = serve_in_thread(
            app, ssl_certfile=str(tls_files.server_cert), ssl_keyfile=str(tls_files.server_key)
        )
        servers.append(server)
        return server, app

    yield start
    for server in servers:
        server.stop()


def sdk(server: RunningServer, tls_files: tls.TlsFiles) -> ComputeManagementClient:
    return ComputeManagementClient(
        FakeCredential(),
        SUB,
        base_url=server.base_url,
        credential_scopes=[f"{server.base_url}/.default"],
        connection_verify=str(tls_files.ca_cert),
        polling_interval=0.05,
    )


def test_list_get_and_vms_with_instance_view(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    server, _ = serve(page_size=7)
    client = sdk(server, tls_files)
    names = sorted(s.name for s in client.virtual_machine_scale_sets.list(RG))
    assert names == ["vmss-flex", "vmss-rolling", "vmss-web", "vmss-zonal"]
    assert sorted(s.name for s in client.virtual_machine_scale_sets.list_all()) == names
    vmss = client.virtual_machine_scale_sets.get(RG, "vmss-web")
    assert vmss.sku.capacity == 40
    assert vmss.properties.upgrade_policy.mode == "Manual"
    assert vmss.etag == '"3"'
    vms = list(client.virtual_machine_scale_set_vms.list(RG, "vmss-web", expand="instanceView"))
    assert len(vms) == 40  # followed nextLink over six pages
    assert len({vm.instance_id for vm in vms}) == 40
    assert all(vm.properties.instance_view.platform_update_domain is not None for vm in vms)
    assert sum(1 for vm in vms if vm.properties.latest_model_applied is False) == 8


def test_update_instances_and_restart_complete(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    server, _ = serve()
    client = sdk(server, tls_files)
    stale = [
        vm.instance_id
        for vm in client.virtual_machine_scale_set_vms.list(RG, "vmss-web")
        if not vm.properties.latest_model_applied
    ][:3]
    poller = client.virtual_machine_scale_sets.begin_update_instances(
        RG, "vmss-web", VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=stale)
    )
    assert poller.result() is None
    assert poller.status() == "Succeeded"
    for iid in stale:
        vm = client.virtual_machine_scale_set_vms.get(RG, "vmss-web", iid, expand="instanceView")
        assert vm.properties.latest_model_applied is True
        assert vm.properties.provisioning_state == "Succeeded"
    restart = client.virtual_machine_scale_sets.begin_restart(
        RG, "vmss-web", VirtualMachineScaleSetVMInstanceIDs(instance_ids=stale[:1])
    )
    restart.result()
    assert restart.status() == "Succeeded"
    view = client.virtual_machine_scale_set_vms.get_instance_view(RG, "vmss-web", stale[0])
    assert any(s.code == "PowerState/running" for s in view.statuses)


def test_rolling_upgrade_start_latest_cancel(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    server, _ = serve(speed=5.0)
    client = sdk(server, tls_files)
    upgrades = client.virtual_machine_scale_set_rolling_upgrades
    start = upgrades.begin_start_os_upgrade(RG, "vmss-rolling")
    latest = upgrades.get_latest(RG, "vmss-rolling")
    assert latest.properties.running_status.code == "RollingForward"
    assert latest.properties.progress.pending_instance_count >= 1
    upgrades.begin_cancel(RG, "vmss-rolling").result()
    latest = upgrades.get_latest(RG, "vmss-rolling")
    assert latest.properties.running_status.code == "Cancelled"
    assert latest.properties.running_status.last_action == "Cancel"
    start.result()
    assert start.status() == "Succeeded"


def test_stale_etag_is_412(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    server, _ = serve()
    client = sdk(server, tls_files)
    vmss = client.virtual_machine_scale_sets.get(RG, "vmss-web")
    update = VirtualMachineScaleSetUpdate(tags={"touched": "yes"})
    fresh = client.virtual_machine_scale_sets.begin_update(
        RG, "vmss-web", update, etag=vmss.etag, match_condition=MatchConditions.IfNotModified
    ).result()
    assert fresh.tags == {"touched": "yes"}
    assert fresh.etag != vmss.etag
    with pytest.raises(ResourceModifiedError) as info:
        client.virtual_machine_scale_sets.begin_update(
            RG, "vmss-web", update, etag=vmss.etag, match_condition=MatchConditions.IfNotModified
        )
    assert info.value.status_code == 412
    assert info.value.error is not None and info.value.error.code == "PreconditionFailed"


def test_sdk_retries_past_a_429(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    # A manual clock (speed 500 only scales Retry-After): the window rolls over when the
    # test says so, however slow the machine is.
    server, app = serve(
        manual_clock=True, speed=500.0, throttle=ThrottleConfig(limits={"GetVMScaleSet3Min": 1})
    )
    world = app.state.world
    client = sdk(server, tls_files)
    seen: list[int] = []

    def hook(response: Any) -> None:
        status = response.http_response.status_code
        seen.append(status)
        if status == 429:
            assert response.http_response.headers["Retry-After"] == "1"
            with world.lock:
                world.clock.advance(180)

    client.virtual_machine_scale_sets.get(RG, "vmss-web", raw_response_hook=hook)
    vmss = client.virtual_machine_scale_sets.get(RG, "vmss-web", raw_response_hook=hook)
    assert vmss.name == "vmss-web"
    assert seen == [200, 429, 200]


def test_flexible_members_list_and_upgrade_by_name_through_the_sdk(
    serve: Callable[..., tuple[RunningServer, Any]], tls_files: tls.TlsFiles
) -> None:
    """The Azure SDK's own VM list (``$filter`` by set id, ``$expand=instanceView``) and
    ``update_instances`` with names read and upgrade the demo's Flexible set."""
    server, _ = serve(page_size=5)
    client = sdk(server, tls_files)
    set_id = client.virtual_machine_scale_sets.get(RG, "vmss-flex").id
    members = list(
        client.virtual_machines.list(
            RG, filter=f"'virtualMachineScaleSet/id' eq '{set_id}'", expand="instanceView"
        )
    )
    assert len(members) == 12  # over three pages of five
    assert all(m.name.startswith("vmss-flex_") and m.instance_view is not None for m in members)
    model = client.virtual_machine_scale_sets.get(RG, "vmss-flex")
    wanted = model.virtual_machine_profile.storage_profile.image_reference.version
    stale = [m.name for m in members if m.storage_profile.image_reference.version != wanted]
    assert len(stale) == 6
    poller = client.virtual_machine_scale_sets.begin_update_instances(
        RG, "vmss-flex", VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=stale)
    )
    assert poller.result() is None and poller.status() == "Succeeded"
    for name in stale:
        vm = client.virtual_machines.get(RG, name, expand="instanceView")
        assert vm.storage_profile.image_reference.version == wanted
