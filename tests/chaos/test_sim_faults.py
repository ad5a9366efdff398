"""Fault injection: the faults happen, look like Azure's, and repeat for a given seed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.factories import API
from tests.plugins.sim import SimHandle, scale_set_id
from vmssdash.azure.models.operations import ArmErrorBody
from vmssdash.sim.faults import FaultConfig

SPEC = "429=0.2,500=0.1,503=0.1,reset=0.1"


def outcomes(base_url: str, n: int) -> list[str]:
    out: list[str] = []
    with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as c:
        for _ in range(n):
            try:
                r = c.get(scale_set_id("vmss-small"), params=API)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                out.append("reset")
                continue
            if r.status_code in (429, 503):
                assert r.headers["retry-after"] == "1"
                ArmErrorBody.model_validate(r.json())
            elif r.status_code == 500:
                assert "retry-after" not in r.headers
                assert ArmErrorBody.model_validate(r.json()).error.code == "InternalServerError"
            out.append(str(r.status_code))
    return out


def test_faults_follow_the_spec_and_repeat_with_the_seed(
    make_sim: Callable[..., SimHandle],
) -> None:
    first = outcomes(make_sim("small", faults=SPEC, seed=3).base_url, 120)
    again = outcomes(make_sim("small", faults=SPEC, seed=3).base_url, 120)
    other = outcomes(make_sim("small", faults=SPEC, seed=4).base_url, 120)
    assert first == again
    assert first != other
    for kind in ("200", "429", "500", "503", "reset"):
        assert kind in first, kind
    assert 30 <= first.count("200") <= 90


def test_throttle_fault_body_is_computes(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small", faults="429=1")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        r = c.get(scale_set_id("vmss-small"), params=API)
    assert r.status_code == 429
    err = ArmErrorBody.model_validate(r.json()).error
    assert err.code == "OperationNotAllowed" and err.details[0].code == "TooManyRequests"


def test_faults_can_be_switched_at_run_time(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("small", faults="500=1")
    with httpx.Client(base_url=sim.base_url, trust_env=False) as c:
        assert c.get(scale_set_id("vmss-small"), params=API).status_code == 500
        # The control path itself is never faulted.
        assert c.post("/_sim/faults", json={"spec": "off"}).json()["spec"] == "off"
        assert c.get(scale_set_id("vmss-small"), params=API).status_code == 200
        c.post("/_sim/faults", json={"503": 1, "retry-after": 7})
        r = c.get(scale_set_id("vmss-small"), params=API)
        assert r.status_code == 503 and r.headers["retry-after"] == "7"


def test_chaos_scenario_has_faults_on_by_default(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim("chaos", serve=False)
    config = sim.app.state.sim.injector.config
    assert config.throttle > 0 and config.upgrade_fail > 0
    assert make_sim("chaos", serve=False, faults="off").app.state.sim.injector.config.throttle == 0


@pytest.mark.parametrize(
    "spec",
    ["429=2", "latency=0.5:0.1", "bogus=1", "429", "429=0.6,500=0.6"],
)
def test_bad_fault_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultConfig.parse(spec)


def test_fault_spec_round_trip() -> None:
    spec = "429=0.1,500=0.02,reset=0.01,latency=0.05:0.2,upgrade-fail=0.05"
    config = FaultConfig.parse(spec)
    assert config.latency == (0.05, 0.2) and config.upgrade_fail == 0.05
    assert FaultConfig.parse(config.to_spec()) == config
