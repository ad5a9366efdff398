"""Resource Graph against the simulator: paging, the quota, the error shape, the fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.plugins.sim import SimTime
from tests.ui.story import new_image_version
from vmssdash.azure import graph_queries
from vmssdash.azure.client import ArmClient
from vmssdash.azure.errors import ArmError
from vmssdash.azure.models.scaleset import IMAGE_KEYS
from vmssdash.azure.resource_graph import ResourceGraph, parse_resets_after
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.fleet import SOURCE_ARM, SOURCE_GRAPH, load_fleet
from vmssdash.core.runlock import RunLock
from vmssdash.sim.scenario_build import SUBSCRIPTION
from vmssdash.sim.scenario_fleet import FLEET_SUBSCRIPTIONS

ALL_SUBS = [SUBSCRIPTION, *(s for s, _ in FLEET_SUBSCRIPTIONS)]


def _client(sim: Any, time: SimTime | None = None, **kwargs: Any) -> ArmClient:
    if time is not None:
        kwargs.update(sleep=time.sleep, clock=time.clock)
    return ArmClient(sim.base_url, **kwargs)


def _post(url: str) -> httpx.Response:
    return httpx.post(url, json={})


def _configure(sim: Any, **data: Any) -> dict[str, Any]:
    response = httpx.post(f"{sim.base_url}/_sim/resource-graph", json=data)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_member_query_groups_by_the_image_fields_flexible_compares() -> None:
    text = graph_queries.normalize(graph_queries.FLEXIBLE_MEMBERS)
    assert all(f"{key} = tolower(tostring(image.{key}))" in text for key in IMAGE_KEYS)


def test_resets_after_is_read_as_seconds() -> None:
    assert parse_resets_after("00:00:05") == 5.0
    assert parse_resets_after("01:02:03") == 3723.0
    assert parse_resets_after("soon") is None


async def test_pages_follow_skip_token_across_subscriptions(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with _client(sim) as client:
        graph = ResourceGraph(client, page_size=7)
        pages = [page async for page in graph.pages(graph_queries.SCALE_SETS, ALL_SUBS)]
    ids = [row["id"] for page in pages for row in page]
    assert len(ids) == len(sim.world.scale_sets) == 60
    assert len(set(ids)) == 60
    assert [len(p) for p in pages] == [7] * 8 + [4]
    assert graph.queries == 9
    assert {row["subscriptionId"] for page in pages for row in page} == set(ALL_SUBS)


async def test_client_waits_out_the_quota_on_the_sim_clock(make_sim: Any) -> None:
    sim = make_sim("fleet")
    _configure(sim, quota=3, window=5)
    time = SimTime(sim)
    async with _client(sim, time) as client:
        graph = ResourceGraph(client, page_size=8)
        rows = await graph.rows(graph_queries.SCALE_SETS, ALL_SUBS)
    assert len(rows) == 60
    state = _configure(sim)
    # Eight pages at three per five seconds: two waits for the window to reset, no 429.
    assert state["queries"] == 8
    assert state["throttled"] == 0
    assert time.sleeps == [5.0, 5.0]
    assert graph.waited == 10.0


def test_sim_enforces_the_quota_and_says_when_it_resets(make_sim: Any) -> None:
    sim = make_sim("fleet")
    _configure(sim, quota=2, window=5)
    body = {"subscriptions": ALL_SUBS, "query": graph_queries.SCALE_SETS}
    url = f"{sim.base_url}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"
    answers = [httpx.post(url, json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ms-user-quota-remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].headers["x-ms-user-quota-resets-after"] == "00:00:05"
    assert answers[2].json()["error"]["code"] == "RateLimiting"
    sim.advance(5)
    assert httpx.post(url, json=body).status_code == 200


async def test_unknown_query_gets_resource_graphs_error_shape(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with _client(sim) as client:
        with pytest.raises(ArmError) as caught:
            await ResourceGraph(client).rows("resources | take 5", ALL_SUBS)
    assert caught.value.status == 400
    assert caught.value.code == "BadRequest"
    assert [d.code for d in caught.value.details][:1] == ["InvalidQuery"]


async def test_fleet_rows_and_counts_come_from_resource_graph(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with _client(sim) as client:
        fleet = await load_fleet(client)
    assert fleet.source == SOURCE_GRAPH
    assert fleet.notes == ()
    rows = {r.name: r for r in fleet.rows}
    assert len(rows) == 60
    web = rows["vmss-web"]
    assert (web.stale, web.unhealthy, web.capacity) == (8, 0, 40)
    assert rows["vmss-zonal"].stale == 3
    assert rows["vmss-api-01"].subscription_name == "contoso-dev"
    # Computed from the world, not fixed: every row agrees with the simulator's VMs.
    for vmss in sim.world.scale_sets.values():
        assert rows[vmss.name].stale == _world_stale(vmss), vmss.name


def _image(ref: Any) -> tuple[str, ...]:
    return tuple(str((ref or {}).get(k) or "").lower() for k in IMAGE_KEYS)


def _world_stale(vmss: Any) -> int:
    """The simulator's own count: a Uniform VM not on the latest model; a Flexible member
    whose image (its applied model's) names another image than the set's model."""
    if not vmss.flexible:
        return sum(1 for vm in vmss.vms.values() if vm.applied_gen != vmss.model_gen)
    model = _image(vmss.profile["storageProfile"].get("imageReference"))
    return sum(
        1
        for vm in vmss.vms.values()
        if _image(vmss.profiles[vm.applied_gen]["storageProfile"].get("imageReference")) != model
    )


def _stop_one_member(sim: Any, name: str) -> None:
    with sim.world.lock:
        vmss = next(s for s in sim.world.scale_sets.values() if s.name == name)
        vmss.sorted_vms()[0].power = "stopped"


async def test_flexible_counts_come_from_its_members_in_resource_graph(make_sim: Any) -> None:
    sim = make_sim("fleet")
    _stop_one_member(sim, "vmss-flex-regional")
    async with _client(sim) as client:
        fleet = await load_fleet(client)
    assert fleet.source == SOURCE_GRAPH
    rows = {r.name: r for r in fleet.rows}
    flexible = [s for s in sim.world.scale_sets.values() if s.flexible]
    assert len(flexible) >= 2
    for vmss in flexible:
        assert rows[vmss.name].stale == _world_stale(vmss), vmss.name
    assert any(rows[s.name].stale for s in flexible)  # the scenario has stale members
    assert rows["vmss-flex-regional"].unhealthy == 1
    assert rows["vmss-flex-zonal"].unhealthy == 0
    # One more query for the members, not one per set.
    assert _configure(sim)["queries"] == 3


async def test_flexible_stale_follows_a_model_change(make_sim: Any) -> None:
    sim = make_sim("fleet")
    vmss = next(s for s in sim.world.scale_sets.values() if s.name == "vmss-flex-zonal")
    async with _client(sim, SimTime(sim)) as client:
        api = ScaleSetApi(client, vmss.id)
        ref = vmss.profile["storageProfile"]["imageReference"]
        versions = await api.list_image_versions(
            vmss.location, ref["publisher"], ref["offer"], ref["sku"]
        )
        current = ref["version"]
        await new_image_version(api, next(v for v in versions if v != current))
        fleet = await load_fleet(client)
    row = {r.name: r for r in fleet.rows}["vmss-flex-zonal"]
    assert row.stale == _world_stale(vmss) == len(vmss.vms)


async def test_rolling_upgrade_and_vmssdash_run_are_shown(make_sim: Any, tmp_path: Path) -> None:
    sim = make_sim("fleet")
    rolling = sim.resource_id("vmss-rolling")
    start = _post(f"{sim.base_url}{rolling}/osRollingUpgrade?api-version=2024-07-01")
    assert start.status_code == 202
    journal = tmp_path / "journal"
    _unfinished_plan(journal, sim.resource_id("vmss-web"))
    locks = tmp_path / "locks"
    with RunLock(locks, sim.resource_id("vmss-zonal")).hold("upgrade plan"):
        async with _client(sim) as client:
            fleet = await load_fleet(client, journal_dir=journal, lock_dir=locks)
    rows = {r.name: r for r in fleet.rows}
    assert rows["vmss-rolling"].rolling_upgrade is True
    assert rows["vmss-web"].run is not None and rows["vmss-web"].run.startswith("unfinished plan")
    zonal = rows["vmss-zonal"].run
    assert zonal is not None and zonal.startswith("upgrade plan by") and rows["vmss-zonal"].busy
    assert rows["vmss-api-01"].busy is False
    # Released: the set is no longer shown as busy.
    async with _client(sim) as client:
        after = await load_fleet(client, lock_dir=locks)
    assert {r.name: r for r in after.rows}["vmss-zonal"].run is None


@pytest.mark.parametrize(("mode", "status"), [("forbidden", 403), ("unavailable", 404)])
async def test_fallback_to_arm_lists_says_so(make_sim: Any, mode: str, status: int) -> None:
    sim = make_sim("fleet")
    _configure(sim, mode=mode)
    _stop_one_member(sim, "vmss-flex-regional")
    async with _client(sim) as client:
        fleet = await load_fleet(client)
    assert fleet.source == SOURCE_ARM
    assert len(fleet.rows) == 60
    assert len(fleet.notes) == 1 and f"HTTP {status}" in fleet.notes[0]
    assert "listed with ARM" in fleet.notes[0]
    rows = {r.name: r for r in fleet.rows}
    # Uniform counts would need a VM list per set; a Flexible set's member list is read.
    for vmss in sim.world.scale_sets.values():
        expected = _world_stale(vmss) if vmss.flexible else None
        assert rows[vmss.name].stale == expected, vmss.name
    assert rows["vmss-flex-regional"].unhealthy == 1
    assert "unknown for Uniform" in fleet.counts_from


async def test_read_only_never_posts_to_resource_graph(make_sim: Any) -> None:
    sim = make_sim("fleet")
    async with _client(sim, read_only=True) as client:
        fleet = await load_fleet(client, subscriptions=[SUBSCRIPTION])
    assert fleet.source == SOURCE_ARM
    assert {r.name for r in fleet.rows} == {"vmss-web", "vmss-zonal", "vmss-rolling"}
    assert _configure(sim)["queries"] == 0


def _unfinished_plan(journal: Path, scale_set_id: str) -> None:
    from vmssdash.core.journal import Journal
    from vmssdash.core.plan import Plan, Policy, Strategy

    plan = Plan(
        plan_id="0123456789abcdef",
        scale_set_id=scale_set_id,
        scale_set_name=scale_set_id.rsplit("/", 1)[-1],
        strategy=Strategy.UPDATE_DOMAIN,
        waves=(),
        skipped=(),
        policy=Policy(),
        total_instances=40,
    )
    Journal.create(journal, plan)  # a plan line and nothing after it: unfinished
