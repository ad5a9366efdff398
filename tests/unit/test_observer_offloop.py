"""A big refresh keeps the event loop free: decode, validation and classification run in
worker threads, page by page, so keystrokes are served between pages."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from tests.ui.fakeapi import RG, SUB, scale_set_json, vm_json
from vmssdash.azure import client as client_mod
from vmssdash.azure import decode as decode_mod
from vmssdash.azure import scaleset as scaleset_mod
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core import readings as readings_mod
from vmssdash.core import snapshot as snapshot_mod
from vmssdash.core.observer import Observer

PAGE = 60  # ~40 KB of JSON per page: above the off-loop decode threshold
TOTAL = 180
RID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-fake"


def _transport() -> httpx.MockTransport:
    vms = [vm_json("vmss-fake", i, ud=i % 5, fd=i % 3) for i in range(TOTAL)]

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/virtualMachines"):
            start = int(request.url.params.get("skip", "0"))
            body: dict[str, Any] = {"value": vms[start : start + PAGE]}
            if start + PAGE < TOTAL:
                body["nextLink"] = f"http://arm.test{path}?skip={start + PAGE}&api-version=x"
            return httpx.Response(200, content=json.dumps(body).encode())
        return httpx.Response(200, json=scale_set_json(capacity=TOTAL))

    return httpx.MockTransport(handle)


async def test_pages_are_decoded_validated_and_classified_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.current_thread()
    seen: dict[str, list[bool]] = {"decode": [], "validate": [], "classify": [], "build": []}

    def spy(kind: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[kind].append(threading.current_thread() is loop_thread)
            return real(*args, **kwargs)

        return wrapper

    decode_spy = spy("decode", decode_mod.decode_json)
    monkeypatch.setattr(decode_mod, "decode_json", decode_spy)
    monkeypatch.setattr(client_mod, "decode_json", decode_spy)  # get_json's own binding
    # A VM page is decoded and validated in one step (straight from its bytes).
    monkeypatch.setattr(scaleset_mod, "read_vm_page", spy("validate", scaleset_mod.read_vm_page))
    monkeypatch.setattr(readings_mod, "classify_all", spy("classify", readings_mod.classify_all))
    real_of = snapshot_mod.ScaleSetSnapshot.of
    monkeypatch.setattr(snapshot_mod.ScaleSetSnapshot, "of", staticmethod(spy("build", real_of)))
    async with ArmClient("http://arm.test", transport=_transport()) as client:
        observer = Observer(ScaleSetApi(client, RID))
        await observer.step(force=True)
    snap = observer.latest
    assert snap is not None and len(snap.vms) == TOTAL
    pages = -(-TOTAL // PAGE)
    assert seen["validate"] == [False] * pages
    assert seen["classify"] == [False]
    assert seen["build"] == [False]
    # The small GETs (model, aggregate view) decode inline (a thread hop costs more than
    # it saves); no VM page is decoded a second time.
    assert seen["decode"] == [True, True]


def test_page_size_in_this_test_is_above_the_threshold() -> None:
    page = json.dumps({"value": [vm_json("vmss-fake", i, ud=0, fd=0) for i in range(PAGE)]})
    assert len(page) > decode_mod.OFF_LOOP_DECODE_BYTES
