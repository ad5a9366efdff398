"""Typed operations on one VM scale set, plus subscription and scale-set discovery.

Safety rules from the reference (§13) live here rather than in the UI: VMs are listed
with ``$expand=instanceView`` and never ``$select`` (which hides ``latestModelApplied``),
upgrades and actions need explicit instance ids (never ``"*"``), model edits carry
``If-Match`` and a 412 comes back with both versions of the model for a diff.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from vmssdash.azure import flexible
from vmssdash.azure.bounds import pages_for
from vmssdash.azure.client import ArmClient
from vmssdash.azure.decode import decode_json
from vmssdash.azure.errors import ArmError, PreconditionFailedError, invalid_body
from vmssdash.azure.lro import Operation
from vmssdash.azure.models.operations import RollingUpgradeStatus
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.pacing import Pacing
from vmssdash.azure.vm_pages import read_member_page, read_vm_page, without_duplicates

PageCallback = Callable[[list[ScaleSetVM]], Awaitable[None] | None]

ACTIONS = frozenset(
    {"restart", "start", "poweroff", "deallocate", "reimage", "reimageall", "delete"}
)
VM_FILTERS = frozenset(
    {
        "startswith(instanceView/statuses/code, 'PowerState') eq true",
        "properties/latestModelApplied eq true",
        "properties/latestModelApplied eq false",
    }
)

_RID = re.compile(
    r"^/?subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)

_RID_PREFIX = re.compile(_RID.pattern.removesuffix("/?$") + r"(?:/[^/]*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ResourceId:
    """The parts of a scale set's ARM resource id that the API needs."""

    subscription: str
    resource_group: str
    name: str

    @property
    def path(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.name}"
        )

    def __str__(self) -> str:
        return self.path


def parse_resource_id(rid: str) -> ResourceId:
    """Parse ``/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/
    virtualMachineScaleSets/<name>`` (case-insensitive; a full portal/ARM URL works too)."""
    text = (rid or "").strip()
    is_url = "://" in text
    if is_url:
        # ARM URL (…/subscriptions/…?api-version=…) or portal URL
        # (https://portal.azure.com/#@tenant/resource/subscriptions/…/overview).
        text = text.split("://", 1)[1]
        if "#" not in text:
            text = text.split("?", 1)[0]
        lower = text.lower()
        text = text[lower.index("/subscriptions/") :] if "/subscriptions/" in lower else ""
    match = _RID.match(text)
    if match is None and is_url:
        match = _RID_PREFIX.match(text)  # a portal blade suffix (/overview, /instances)
    if not match:
        raise ValueError(
            f"not a VM scale set resource id: {rid!r}; expected /subscriptions/<id>/"
            "resourceGroups/<group>/providers/Microsoft.Compute/virtualMachineScaleSets/<name>"
        )
    return ResourceId(match["sub"], match["rg"], match["name"])


def _scale_sets_from(items: list[dict[str, Any]]) -> list[ScaleSet]:
    """Every item that reads as a scale set with an id; the others are left out (a
    picker cannot offer a set it cannot name)."""
    sets: list[ScaleSet] = []
    for item in items:
        try:
            ss = ScaleSet.model_validate(item)
        except ValidationError:
            continue
        if ss.id:
            ss._raw = item
            sets.append(ss)
    return sets


def _scale_set(data: dict[str, Any], resource_id: ResourceId) -> ScaleSet:
    scale_set = ScaleSet.model_validate(data)
    scale_set._raw = data
    scale_set.id = scale_set.id or resource_id.path
    scale_set.name = scale_set.name or resource_id.name
    return scale_set


def _vm(data: dict[str, Any]) -> ScaleSetVM:
    vm = ScaleSetVM.model_validate(data)
    vm._raw = data
    return vm


def _instance_ids(ids: Iterable[str | int], what: str, *, names: bool = False) -> list[str]:
    """Explicit ids, never ``"*"``: decimal for Uniform, VM names (``names``) for Flexible,
    as Azure takes them."""
    out = [str(i).strip() for i in ids]
    if not out:
        raise ValueError(f"{what}: no instance ids given; name the VMs explicitly")
    if any(i == "*" for i in out):
        raise ValueError(f"{what}: '*' (every VM at once) is refused; name the VMs explicitly")
    valid = flexible.is_member_name if names else str.isdigit
    bad = [i for i in out if not valid(i)]
    if bad:
        words = (
            "a Flexible set's instance ids are VM names"
            if names
            else "instance ids are decimal strings"
        )
        raise ValueError(f"{what}: {words}, got {bad[:3]!r}")
    return sorted(set(out)) if names else sorted(set(out), key=int)


class ScaleSetApi:
    """Operations on one scale set through an ``ArmClient``."""

    def __init__(self, client: ArmClient, resource_id: ResourceId | str) -> None:
        self.client = client
        self.resource_id = (
            resource_id if isinstance(resource_id, ResourceId) else parse_resource_id(resource_id)
        )
        self.path = self.resource_id.path
        #: The model as last read by ``get()``: the "yours" side of a 412 diff.
        self.last_loaded: ScaleSet | None = None

    @property
    def name(self) -> str:
        return self.resource_id.name

    @property
    def pacing(self) -> Pacing:
        return self.client.pacing

    @property
    def flexible(self) -> bool:
        """Flexible orchestration, as the model last read says (members are then plain
        VMs, read through the VM API, and named rather than numbered)."""
        return flexible.is_flexible(self.last_loaded)

    # ------------------------------------------------------------------ reads

    async def get(self) -> ScaleSet:
        scale_set = await self.client.get_parsed(
            self.path, lambda data: _scale_set(data, self.resource_id), "scale set"
        )
        self.last_loaded = scale_set
        return scale_set

    async def list_vms(
        self, *, on_page: PageCallback | None = None, filter: str | None = None
    ) -> list[ScaleSetVM]:
        """Every VM with its instance view (paged); ``on_page`` sees each page as it lands.

        The orchestration mode comes from the model: read it (``get``) first, or a
        Flexible set is asked the Uniform way and answers 400, as Azure does."""
        known = self.last_loaded
        path = f"{self.path}/virtualMachines"
        params: dict[str, str] = {"$expand": "instanceView"}
        if known is not None and self.flexible:
            if filter is not None:
                raise ValueError(f"the VM filter {filter!r} is Uniform-only (a Flexible set)")
            rid = self.resource_id
            path = flexible.members_path(rid.subscription, rid.resource_group)
            params = flexible.members_params(known.id or self.path)
        elif filter is not None:
            if filter not in VM_FILTERS:
                raise ValueError(
                    f"unsupported VM filter {filter!r}; ARM accepts only {sorted(VM_FILTERS)}"
                )
            params["$filter"] = filter
        vms: list[ScaleSetVM] = []
        max_pages = pages_for(known.capacity) if known is not None else None

        def read(response: httpx.Response) -> tuple[list[ScaleSetVM], object]:
            # Off the loop for a big page (the client's choice), so a 1,000-VM refresh
            # never holds up keystrokes (the GIL is handed back between pages).
            return self._page(response, len(vms))

        async for parsed in self.client.iter_read_pages(
            path, read, params=params, max_pages=max_pages
        ):
            vms.extend(parsed)
            if on_page is not None:
                outcome = on_page(parsed)
                if inspect.isawaitable(outcome):
                    await outcome
        vms.sort(
            key=lambda vm: (
                (int(vm.instance_id), "") if vm.instance_id.isdigit() else (1 << 62, vm.instance_id)
            )
        )
        return without_duplicates(vms)

    def _page(self, response: httpx.Response, offset: int) -> tuple[list[ScaleSetVM], object]:
        """One page as ``ScaleSetVM``s, the Flexible way or the Uniform one."""
        if self.flexible:
            return read_member_page(response, offset, self.last_loaded)
        return read_vm_page(response, offset)

    async def instance_view_summary(self) -> dict[str, int]:
        """The aggregate ``GET …/instanceView``: VM count per status code (no per-VM data).

        One call of the cheap GetVMScaleSet policy however large the set is, which makes
        it the way to keep state counts fresh without listing every VM.
        """
        data = await self.client.get_json(f"{self.path}/instanceView")
        summary = (data.get("virtualMachine") or {}).get("statusesSummary") or []
        counts: dict[str, int] = {}
        for item in summary if isinstance(summary, list) else []:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                count = item.get("count")
                counts[item["code"]] = count if isinstance(count, int) else 0
        return counts

    async def get_vm(self, instance_id: str) -> ScaleSetVM:
        """One VM with its instance view; a Flexible member by name through the VM API."""
        if self.flexible:
            rid = self.resource_id
            model = self.last_loaded

            def member(data: dict[str, Any]) -> ScaleSetVM:
                vm = _vm(flexible.as_scale_set_vm(data, model))
                vm._raw = data
                return vm

            return await self.client.get_parsed(
                f"{flexible.members_path(rid.subscription, rid.resource_group)}"
                f"/{quote(str(instance_id), safe='')}",
                member,
                "VM",
                params={"$expand": "instanceView"},
            )
        return await self.client.get_parsed(
            f"{self.path}/virtualMachines/{quote(str(instance_id), safe='')}",
            _vm,
            "VM",
            params={"$expand": "instanceView"},
        )

    async def rolling_upgrade_latest(self) -> RollingUpgradeStatus:
        return await self.client.get_parsed(
            f"{self.path}/rollingUpgrades/latest",
            RollingUpgradeStatus.model_validate,
            "rolling upgrade status",
        )

    async def list_image_versions(
        self, location: str, publisher: str, offer: str, sku: str
    ) -> list[str]:
        """Platform image versions for a publisher/offer/sku, oldest first."""
        path = (
            f"/subscriptions/{self.resource_id.subscription}/providers/Microsoft.Compute"
            f"/locations/{quote(location, safe='')}/publishers/{quote(publisher, safe='')}"
            f"/artifacttypes/vmimage/offers/{quote(offer, safe='')}/skus/{quote(sku, safe='')}/versions"
        )
        response = await self.client.request("GET", path)
        data = decode_json(response) or []
        items = data.get("value", []) if isinstance(data, dict) else data
        names = [str(item["name"]) for item in items if isinstance(item, dict) and "name" in item]
        return sorted(names, key=_version_key)

    # ------------------------------------------------------------------ model writes

    async def update_model(
        self, patch: dict[str, Any], *, etag: str | None, base: ScaleSet | None = None
    ) -> ScaleSet:
        """PATCH only what changed, with ``If-Match``; wait; return the fresh model.

        On 412 raise ``PreconditionFailedError`` carrying ``yours`` (``base`` or the model
        last loaded with that ETag) and ``theirs`` (a fresh GET).
        """
        return await self._write("PATCH", patch, etag, base)

    async def replace_model(
        self, body: dict[str, Any], *, etag: str | None, base: ScaleSet | None = None
    ) -> ScaleSet:
        """Full PUT of a raw model (every unknown field round-trips), with ``If-Match``."""
        return await self._write("PUT", body, etag, base)

    async def _write(
        self, method: str, body: dict[str, Any], etag: str | None, base: ScaleSet | None
    ) -> ScaleSet:
        """Send a model write with ``If-Match``, wait for it; reuse the operation's final
        GET when it made one."""
        headers = {"If-Match": etag} if etag else None
        try:
            operation = await self.client.begin(method, self.path, json=body, headers=headers)
        except PreconditionFailedError as exc:
            raise await self._stale(exc, body, etag, base) from None
        await operation.wait()
        result = operation.result
        if operation.polls and isinstance(result, dict) and result.get("id"):
            try:
                scale_set = _scale_set(result, self.resource_id)
            except ValidationError as exc:
                raise invalid_body(exc, "scale set", operation.response) from None
            self.last_loaded = scale_set
            return scale_set
        return await self.get()

    async def set_capacity(self, n: int, *, etag: str | None) -> ScaleSet:
        if n < 0:
            raise ValueError(f"capacity must be ≥ 0, got {n}")
        return await self.update_model({"sku": {"capacity": n}}, etag=etag)

    async def _stale(
        self,
        exc: PreconditionFailedError,
        patch: dict[str, Any],
        etag: str | None,
        base: ScaleSet | None,
    ) -> PreconditionFailedError:
        yours = base
        if yours is None and self.last_loaded is not None and self.last_loaded.etag == etag:
            yours = self.last_loaded
        theirs: ScaleSet | None
        try:
            theirs = await self.get()
        except ArmError:
            theirs = None
        server_etag = theirs.etag if theirs else None
        error = PreconditionFailedError(
            f"the scale set changed since you loaded it (your ETag {etag or '-'}, "
            f"now {server_etag or 'unknown'}); reload, review the differences and edit again",
            status=exc.status,
            code=exc.code,
            target=exc.target,
            details=exc.details,
            request_id=exc.request_id,
            correlation_id=exc.correlation_id,
            method=exc.method,
            url=exc.url,
        )
        error.yours = yours
        error.theirs = theirs
        error.patch = patch
        error.your_etag = etag
        error.server_etag = server_etag
        return error

    # ------------------------------------------------------------------ actions

    async def begin_manual_upgrade(self, instance_ids: Iterable[str | int]) -> Operation:
        ids = _instance_ids(instance_ids, "manual upgrade", names=self.flexible)
        return await self.client.begin(
            "POST", f"{self.path}/manualupgrade", json={"instanceIds": ids}
        )

    async def begin_action(self, action: str, instance_ids: Iterable[str | int]) -> Operation:
        name = action.lower()
        if name not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {', '.join(sorted(ACTIONS))}")
        ids = _instance_ids(instance_ids, name, names=self.flexible)
        return await self.client.begin("POST", f"{self.path}/{name}", json={"instanceIds": ids})

    async def begin_rolling_upgrade(self) -> Operation:
        return await self.client.begin("POST", f"{self.path}/osRollingUpgrade")

    async def begin_cancel_rolling_upgrade(self) -> Operation:
        return await self.client.begin("POST", f"{self.path}/rollingUpgrades/cancel")


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    parts: list[tuple[int, int | str]] = []
    for piece in re.split(r"[.\-]", version):
        parts.append((0, int(piece)) if piece.isdigit() else (1, piece))
    return tuple(parts)


# ---------------------------------------------------------------------- discovery


class Subscription(BaseModel):
    """One entry of ``GET /subscriptions``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    subscription_id: str
    display_name: str = ""
    state: str | None = None
    tenant_id: str | None = None


async def list_subscriptions(client: ArmClient) -> list[Subscription]:
    subs: list[Subscription] = []
    async for page in client.iter_pages("/subscriptions"):
        for item in page:
            try:
                subs.append(Subscription.model_validate(item))
            except ValidationError:
                continue  # a picker cannot offer a subscription it cannot name
    return subs


async def list_scale_sets(
    client: ArmClient, subscription_id: str, resource_group: str | None = None
) -> list[ScaleSet]:
    if resource_group:
        path = (
            f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            "/providers/Microsoft.Compute/virtualMachineScaleSets"
        )
    else:
        path = (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Compute/virtualMachineScaleSets"
        )
    out: list[ScaleSet] = []
    async for page in client.iter_pages(path):
        out.extend(_scale_sets_from(page))
    return out
