"""Simulator additions other tests rely on: dispatch counts in /_sim/state, Entra tenant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

API = "2024-07-01"


def _state_of(base_url: str, name: str) -> dict[str, Any]:
    state = httpx.get(f"{base_url}/_sim/state", trust_env=False).json()
    return next(s for s in state["scaleSets"] if s["name"] == name)


def test_state_counts_manualupgrade_dispatches_per_vm(make_sim: Callable[..., Any]) -> None:
    sim = make_sim("small", faults="off")
    rid = sim.resource_id("vmss-small")
    assert _state_of(sim.base_url, "vmss-small")["manualUpgrades"] == {}

    def upgrade(ids: list[str]) -> None:
        r = httpx.post(
            f"{sim.base_url}{rid}/manualupgrade",
            params={"api-version": API},
            json={"instanceIds": ids},
            trust_env=False,
        )
        assert r.status_code == 202, r.text
        sim.advance(600)  # finish the operation so the next call is not a 409

    upgrade(["0", "1"])
    upgrade(["1"])
    # A restart is not an upgrade dispatch.
    r = httpx.post(
        f"{sim.base_url}{rid}/restart",
        params={"api-version": API},
        json={"instanceIds": ["2"]},
        trust_env=False,
    )
    assert r.status_code == 202, r.text
    assert _state_of(sim.base_url, "vmss-small")["manualUpgrades"] == {"0": 1, "1": 2}


def test_entra_authority_is_homed_in_the_worlds_tenant(make_sim: Callable[..., Any]) -> None:
    sim = make_sim("small")
    r = httpx.get(f"{sim.base_url}/common/v2.0/.well-known/openid-configuration", trust_env=False)
    assert r.status_code == 200, r.text
    assert r.json()["issuer"].endswith(f"/{sim.world.tenant_id}/v2.0")
