"""TLS: a custom CA bundle (``verify=``) against the simulator served over https."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.sim import scale_set_id, serve_tls
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmConnectionError
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.sim.app import create_app
from vmssdash.sim.server import RunningServer


@pytest.fixture
def tls_sim(tmp_path: Path) -> Iterator[tuple[RunningServer, Path]]:
    with serve_tls(create_app("small", manual_clock=True), tmp_path / "tls") as served:
        yield served


async def test_custom_ca_bundle_is_trusted(tls_sim: tuple[RunningServer, Path]) -> None:
    server, ca = tls_sim
    assert server.base_url.startswith("https://")
    async with ArmClient(server.base_url, verify=str(ca)) as client:
        vms = await ScaleSetApi(client, scale_set_id("vmss-small")).list_vms()
    assert len(vms) == 10


async def test_unknown_ca_is_refused_clearly(tls_sim: tuple[RunningServer, Path]) -> None:
    server, _ = tls_sim
    async with ArmClient(server.base_url) as client:
        with pytest.raises(ArmConnectionError, match="CERTIFICATE_VERIFY_FAILED") as info:
            await ScaleSetApi(client, scale_set_id("vmss-small")).get()
        assert client.request_count == 1  # a certificate problem is not retried
    assert "TLS handshake" in str(info.value) and "CA" in str(info.value)
