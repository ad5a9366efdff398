"""One page of a scale set's VM list, from bytes to ``ScaleSetVM``s.

The refresh of a 1,000-VM set reads 20 such pages, so this is the hot path (issue 11).
A page is validated in one pass straight from its bytes, against the fields that are
read (``ScaleSetVM``, its ``properties`` as ``TypedDict``s): no dict of the ~100 fields
per VM nobody reads, no model tree per VM. Only a well-formed page takes that path: any
page that does not fit (not JSON, a malformed item, an item without ``instanceId``) is
read the careful way, decoded and validated item by item, with the same errors and
"unreadable" stand-ins as ever.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any, Required

import httpx
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from vmssdash.azure import flexible
from vmssdash.azure.decode import list_page
from vmssdash.azure.errors import describe_validation
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM, with_identity
from vmssdash.azure.vm_json import PageBody, RawItem


class _VmPageJson(TypedDict, total=False):
    """A page as the fast path takes it: a VM without ``instanceId`` (Azure always
    sends it; deriving it is ``with_identity``'s job) sends the page the careful way."""

    value: Required[list[ScaleSetVM]]
    nextLink: str | None


_VM_PAGE = TypeAdapter(_VmPageJson)
_VM_LIST = TypeAdapter(list[ScaleSetVM])


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Building thousands of small objects trips the cyclic GC over and over (and a full
    collection walks the whole app heap); none of them form cycles, so pause it for this
    bounded step (~1 ms a page; the pause is process-wide even when run in a thread)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_vm_page(response: httpx.Response, offset: int) -> tuple[list[ScaleSetVM], object]:
    """A page's VMs and its ``nextLink`` as sent; the body is decoded once.

    ``offset`` (VMs on earlier pages) keeps stand-in ids unique across pages."""
    with _gc_paused():
        try:
            page = _VM_PAGE.validate_json(response.content)
        except ValidationError:
            items, link = list_page(response)
            return vms_from(items, offset), link
        vms = page["value"]
        body = PageBody(response.content)
        for index, vm in enumerate(vms):
            vm._raw = RawItem(body, index)
    return vms, page.get("nextLink")


def read_member_page(
    response: httpx.Response, offset: int, model: ScaleSet | None
) -> tuple[list[ScaleSetVM], object]:
    """A Flexible set's page of member VMs, each mapped into the ``ScaleSetVM`` shape
    first (``flexible.as_scale_set_vm``); each keeps the JSON Azure sent as its ``raw``."""
    items, link = list_page(response)
    vms = vms_from([flexible.as_scale_set_vm(i, model) for i in items], offset)
    for vm, item in zip(vms, items, strict=True):
        vm._raw = item
    return vms, link


def vms_from(items: list[dict[str, Any]], offset: int = 0) -> list[ScaleSetVM]:
    """Validate decoded items in one call (much cheaper than per-item ``from_json``).

    The item dicts are fresh from the JSON decoder and owned by nobody else, so they
    become the models' ``raw`` without a deep copy (``raw`` copies on access anyway).
    When they do not validate, each item is read on its own: one bad VM becomes an
    "unreadable" stand-in and never costs the others.
    """
    with _gc_paused():
        try:
            vms = _VM_LIST.validate_python([with_identity(item) for item in items])
            for vm, item in zip(vms, items, strict=True):
                vm._raw = item
        except ValidationError:
            vms = [
                _vm_or_stand_in(item, f"unreadable-{offset + i}") for i, item in enumerate(items)
            ]
    return vms


def _vm_or_stand_in(item: Any, fallback_id: str) -> ScaleSetVM:
    try:
        vm = ScaleSetVM.model_validate(item)
    except ValidationError as exc:
        return ScaleSetVM.unreadable_item(item, describe_validation(exc), fallback_id)
    vm._raw = item
    return vm


def without_duplicates(vms: list[ScaleSetVM]) -> list[ScaleSetVM]:
    """A list naming one instance id twice is malformed: every copy after the first
    becomes unreadable, so no VM is ever planned (and sent) twice."""
    seen: set[str] = set()
    out: list[ScaleSetVM] = []
    for index, vm in enumerate(vms):
        if vm.instance_id in seen:
            reason = f"the list names instance {vm.instance_id} more than once"
            vm = ScaleSetVM.unreadable_item({}, reason, f"unreadable-duplicate-{index}")
        seen.add(vm.instance_id)
        out.append(vm)
    return out
