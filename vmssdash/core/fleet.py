"""The fleet: every scale set an identity can see, across subscriptions, in one table.

Rows come from Azure Resource Graph (one query per page over all chosen subscriptions);
when Resource Graph is forbidden, absent from the cloud or failing, or the client is
read-only (a Resource Graph query is a POST), the sets are listed with ARM instead and
the fleet says so in ``notes``. Where each column comes from:

- set properties: Resource Graph ``resources`` (lags ARM by up to a minute), else ARM.
- stale / unhealthy: failed provisioning or stopped (not deallocated) is unhealthy. For
  Uniform sets, Resource Graph ``computeresources`` (``latestModelApplied`` false). For
  Flexible sets, their members in Resource Graph ``resources`` (plain VMs, no
  ``latestModelApplied``): stale when the VM's image reference names another image than
  the set's model, the rule of ``azure.flexible``; in the ARM fallback, the set's member
  list (one VM API list per Flexible set). ``None`` = unknown: instances not indexed, or a
  Uniform set in the ARM fallback (which would need one costly VM list per set).
- rolling upgrade: ARM ``rollingUpgrades/latest`` for Rolling and Automatic sets only.
- vmssdash run: a live holder of the set's run lock on this machine (``core.runlock``), or
  an unfinished plan in this machine's journal directory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vmssdash.azure import flexible, graph_queries
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmConnectionError, ArmError, NotFoundError
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.azure.resource_graph import ResourceGraph
from vmssdash.azure.scaleset import ScaleSetApi, list_scale_sets, list_subscriptions
from vmssdash.core.journal import list_journals
from vmssdash.core.runlock import RunLock, default_lock_dir

SOURCE_GRAPH = "resource-graph"
SOURCE_ARM = "arm"
COUNTS_FROM = {
    SOURCE_GRAPH: "Resource Graph: Uniform instances not on the latest model "
    "(computeresources), Flexible members whose image differs from the model's (resources); "
    "instances that failed to provision or are stopped (application health is not in "
    "Resource Graph)",
    SOURCE_ARM: "Flexible sets from their member lists (image differs from the model's); "
    "unknown for Uniform sets, which would need one costly VM list per scale set",
}
ROLLING_MODES = frozenset({"rolling", "automatic"})
#: Columns the fleet sorts by; counts sort unknown last.
SORT_KEYS = (
    "name",
    "group",
    "subscription",
    "location",
    "orchestration",
    "upgrade",
    "capacity",
    "stale",
    "unhealthy",
)


@dataclass(frozen=True)
class FleetRow:
    id: str
    name: str
    resource_group: str
    subscription_id: str
    subscription_name: str
    location: str
    orchestration: str
    upgrade_mode: str
    capacity: int
    stale: int | None = None
    unhealthy: int | None = None
    rolling_upgrade: bool | None = None
    run: str | None = None

    @property
    def busy(self) -> bool:
        return bool(self.rolling_upgrade) or self.run is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "resourceGroup": self.resource_group,
            "subscriptionId": self.subscription_id,
            "subscriptionName": self.subscription_name,
            "location": self.location,
            "orchestrationMode": self.orchestration,
            "upgradeMode": self.upgrade_mode,
            "capacity": self.capacity,
            "stale": self.stale,
            "unhealthy": self.unhealthy,
            "rollingUpgradeInProgress": self.rolling_upgrade,
            "vmssdashRun": self.run,
        }

    def text(self) -> str:
        """What a free-text filter searches."""
        return " ".join(
            (
                self.name,
                self.resource_group,
                self.subscription_name,
                self.subscription_id,
                self.location,
                self.orchestration,
                self.upgrade_mode,
            )
        ).lower()


@dataclass(frozen=True)
class Fleet:
    rows: tuple[FleetRow, ...]
    source: str
    notes: tuple[str, ...] = ()
    queries: int = 0
    quota_wait: float = 0.0

    @property
    def counts_from(self) -> str:
        return COUNTS_FROM[self.source]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "countsFrom": self.counts_from,
            "notes": list(self.notes),
            "scaleSets": [row.to_json() for row in self.rows],
        }


# --------------------------------------------------------------------------- display

#: (title, sort key) of each column the screen and the table show; "" = not sortable.
COLUMNS = (
    ("Scale set", "name"),
    ("Resource group", "group"),
    ("Subscription", "subscription"),
    ("Location", "location"),
    ("Orch.", "orchestration"),
    ("Upgrade", "upgrade"),
    ("Cap.", "capacity"),
    ("Stale", "stale"),
    ("Unhealthy", "unhealthy"),
    ("Busy", ""),
)


def cells(row: FleetRow) -> tuple[str, ...]:
    """The row as text, in ``COLUMNS`` order; ``?`` is a count nobody could tell."""

    def count(value: int | None) -> str:
        return "?" if value is None else str(value)

    busy = ["rolling upgrade" if row.rolling_upgrade else "", "vmssdash run" if row.run else ""]
    return (
        row.name,
        row.resource_group,
        row.subscription_name,
        row.location,
        row.orchestration,
        row.upgrade_mode,
        str(row.capacity),
        count(row.stale),
        count(row.unhealthy),
        ", ".join(b for b in busy if b),
    )


# --------------------------------------------------------------------------- sort, filter


def sort_rows(rows: Iterable[FleetRow], key: str, *, descending: bool = False) -> list[FleetRow]:
    """Rows ordered by one column (then by id, so ties stay put); unknown counts last."""
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r} (one of {', '.join(SORT_KEYS)})")
    getters: dict[str, Callable[[FleetRow], Any]] = {
        "name": lambda r: r.name.lower(),
        "group": lambda r: r.resource_group.lower(),
        "subscription": lambda r: r.subscription_name.lower(),
        "location": lambda r: r.location.lower(),
        "orchestration": lambda r: r.orchestration.lower(),
        "upgrade": lambda r: r.upgrade_mode.lower(),
        "capacity": lambda r: r.capacity,
        "stale": lambda r: r.stale,
        "unhealthy": lambda r: r.unhealthy,
    }
    get = getters[key]
    ordered = sorted(rows, key=lambda r: r.id.lower())
    known = [r for r in ordered if get(r) is not None]
    unknown = [r for r in ordered if get(r) is None]
    return sorted(known, key=get, reverse=descending) + unknown


def filter_rows(rows: Iterable[FleetRow], text: str) -> list[FleetRow]:
    """Every term must match: ``is:stale``, ``is:unhealthy``, ``is:busy`` (a rolling upgrade
    or a vmssdash run), ``is:flexible``, or a substring of a name, group, subscription,
    location or mode."""
    flags: dict[str, Callable[[FleetRow], bool]] = {
        "is:stale": lambda r: bool(r.stale),
        "is:unhealthy": lambda r: bool(r.unhealthy),
        "is:busy": lambda r: r.busy,
        "is:flexible": lambda r: r.orchestration.lower() == "flexible",
    }
    terms = text.lower().split()
    return [r for r in rows if all(flags[t](r) if t in flags else t in r.text() for t in terms)]


# --------------------------------------------------------------------------- loading


def _resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    i = lowered.index("resourcegroups") if "resourcegroups" in lowered else -1
    return parts[i + 1] if 0 <= i < len(parts) - 1 else ""


def _graph_fallback_reason(exc: ArmError) -> str | None:
    """Why Resource Graph cannot serve us (then ARM lists do), or None to report ``exc``."""
    if exc.status == 403:
        return "Resource Graph is forbidden for this identity"
    if isinstance(exc, NotFoundError) or exc.status == 404:
        return "Resource Graph is not available on this endpoint"
    if isinstance(exc, ArmConnectionError) or (exc.status or 0) >= 500:
        return "Resource Graph is failing"
    return None


def _is_flexible(orchestration: str) -> bool:
    return orchestration.lower() == flexible.FLEXIBLE


def _flexible_counts(
    groups: Sequence[dict[str, Any]], model_image: Any
) -> tuple[int | None, int | None]:
    """(stale, unhealthy) of a Flexible set from its ``FLEXIBLE_MEMBERS`` rows (one per
    image its members run); a member without an image reference is never counted stale."""
    if not groups:
        return None, None
    unhealthy = sum(int(g.get("unhealthy") or 0) for g in groups)
    wanted = flexible.image_identity(model_image)
    known = [g for g in groups if flexible.image_identity(g) is not None]
    if wanted is None or not known:
        return None, unhealthy
    stale = sum(int(g.get("total") or 0) for g in known if flexible.image_identity(g) != wanted)
    return stale, unhealthy


async def _from_graph(
    graph: ResourceGraph, subscriptions: Sequence[str], names: dict[str, str]
) -> list[FleetRow]:
    sets = await graph.rows(graph_queries.SCALE_SETS, subscriptions)
    counts = {
        str(c.get("scaleSetId", "")).lower(): c
        for c in await graph.rows(graph_queries.INSTANCE_COUNTS, subscriptions)
    }
    members: dict[str, list[dict[str, Any]]] = {}
    if any(_is_flexible(str(item.get("orchestrationMode") or "")) for item in sets):
        for group in await graph.rows(graph_queries.FLEXIBLE_MEMBERS, subscriptions):
            members.setdefault(str(group.get("scaleSetId", "")).lower(), []).append(group)
    rows: list[FleetRow] = []
    for item in sets:
        rid = str(item.get("id", ""))
        sub = str(item.get("subscriptionId", ""))
        count = counts.get(rid.lower(), {})
        known = int(count.get("known") or 0) > 0
        stale = int(count.get("stale") or 0) if known else None
        unhealthy = int(count.get("unhealthy") or 0) if count else None
        if _is_flexible(str(item.get("orchestrationMode") or "")):
            stale, unhealthy = _flexible_counts(
                members.get(rid.lower(), []), item.get("modelImage")
            )
        rows.append(
            FleetRow(
                id=rid,
                name=str(item.get("name", "")),
                resource_group=str(item.get("resourceGroup") or _resource_group_of(rid)),
                subscription_id=sub,
                subscription_name=names.get(sub.lower(), sub),
                location=str(item.get("location", "")),
                orchestration=str(item.get("orchestrationMode") or "Uniform"),
                upgrade_mode=str(item.get("upgradeMode") or "Manual"),
                capacity=int(item.get("capacity") or 0),
                stale=stale,
                unhealthy=unhealthy,
            )
        )
    return rows


async def _from_arm(
    client: ArmClient, subscriptions: Sequence[str], names: dict[str, str]
) -> list[FleetRow]:
    rows: list[FleetRow] = []
    for sub in subscriptions:
        for s in await list_scale_sets(client, sub):
            rows.append(
                FleetRow(
                    id=s.id,
                    name=s.name,
                    resource_group=_resource_group_of(s.id),
                    subscription_id=sub,
                    subscription_name=names.get(sub.lower(), sub),
                    location=s.location,
                    orchestration=s.properties.orchestration_mode or "Uniform",
                    upgrade_mode=s.upgrade_mode,
                    capacity=s.capacity,
                )
            )
    return rows


def _unhealthy(vm: ScaleSetVM) -> bool:
    """The rule of ``graph_queries.INSTANCE_COUNTS`` on a VM read through ARM."""
    props = vm.properties
    view = props.instance_view
    power = view.status_with_prefix("PowerState/") if view is not None else None
    code = (power.code or "").lower() if power is not None else ""
    return (props.provisioning_state or "").lower() == "failed" or (
        code != "" and code not in ("powerstate/running", "powerstate/deallocated")
    )


async def _member_counts(client: ArmClient, row: FleetRow, gate: asyncio.Semaphore) -> FleetRow:
    """A Flexible set's counts from its member list, for the ARM fallback: one VM API
    list per set (its ``latestModelApplied`` is ``azure.flexible``'s image comparison)."""
    api = ScaleSetApi(client, row.id)
    async with gate:
        try:
            await api.get()
            vms = [vm for vm in await api.list_vms() if vm.unreadable is None]
        except ArmError:
            return row
    known = [vm.properties.latest_model_applied for vm in vms]
    stale = sum(1 for latest in known if latest is False)
    return replace(
        row,
        stale=stale if any(latest is not None for latest in known) else None,
        unhealthy=sum(1 for vm in vms if _unhealthy(vm)) if vms else None,
    )


async def _rolling(client: ArmClient, row: FleetRow, gate: asyncio.Semaphore) -> bool | None:
    async with gate:
        try:
            status = await ScaleSetApi(client, row.id).rolling_upgrade_latest()
        except NotFoundError:
            return False  # no rolling upgrade ever ran on this set
        except ArmError:
            return None
    running = status.properties.running_status
    code = running.code if running is not None else None
    return str(code or "").lower() == "rollingforward"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it exists
    return True


def _runs(rows: Sequence[FleetRow], journal_dir: Path | None, lock_dir: Path) -> dict[str, str]:
    """What vmssdash is doing to each set on this machine, by id (lower case): a live run
    lock holder first, else the most recent unfinished plan in the journal."""
    out: dict[str, str] = {}
    if journal_dir is not None:
        for replay in sorted(list_journals(journal_dir), key=lambda r: r.last_ts):
            if not replay.finished:
                out[replay.plan.scale_set_id.lower()] = f"unfinished {replay.describe()}"
    for row in rows:
        holder = RunLock(lock_dir, row.id).holder()  # a holder file outlives a crash
        if holder is not None and _alive(holder.pid):
            out[row.id.lower()] = holder.describe()
    return out


async def load_fleet(
    client: ArmClient,
    *,
    subscriptions: Sequence[str] = (),
    journal_dir: Path | None = None,
    lock_dir: Path | None = None,
    page_size: int = 1000,
    rolling_concurrency: int = 4,
) -> Fleet:
    """The fleet over ``subscriptions`` (all the identity can see when empty);
    ``rolling_concurrency`` bounds the per-set ARM reads (rolling upgrade status, and the
    Flexible member lists of the ARM fallback)."""
    listed = await list_subscriptions(client)
    names = {s.subscription_id.lower(): s.display_name or s.subscription_id for s in listed}
    chosen = list(subscriptions) or [s.subscription_id for s in listed]
    notes: list[str] = []
    graph = ResourceGraph(client, page_size=page_size)
    rows: list[FleetRow] | None = None
    if client.read_only:
        notes.append(
            "read-only mode sends only GET: listed with ARM instead of Resource Graph (a POST)"
        )
    else:
        try:
            rows = await _from_graph(graph, chosen, names)
        except ArmError as exc:
            reason = _graph_fallback_reason(exc)
            if reason is None:
                raise
            notes.append(f"{reason} ({exc}); listed with ARM instead")
    source = SOURCE_GRAPH if rows is not None else SOURCE_ARM
    gate = asyncio.Semaphore(max(1, rolling_concurrency))
    if rows is None:
        rows = await _from_arm(client, chosen, names)
        flexible_rows = [r for r in rows if _is_flexible(r.orchestration)]
        counted = await asyncio.gather(*(_member_counts(client, r, gate) for r in flexible_rows))
        by_id = {r.id: r for r in counted}
        rows = [by_id.get(r.id, r) for r in rows]
    rolling_rows = [r for r in rows if r.upgrade_mode.lower() in ROLLING_MODES]
    states = await asyncio.gather(*(_rolling(client, r, gate) for r in rolling_rows))
    rolling = {r.id: state for r, state in zip(rolling_rows, states, strict=True)}
    runs = _runs(rows, journal_dir, lock_dir or default_lock_dir())
    rows = [
        replace(r, rolling_upgrade=rolling.get(r.id, False), run=runs.get(r.id.lower()))
        for r in rows
    ]
    return Fleet(
        rows=tuple(sort_rows(rows, "name")),
        source=source,
        notes=tuple(notes),
        queries=graph.queries,
        quota_wait=graph.waited,
    )
