"""Simulator behaviour for progressive delivery: VMs that are not all alike.

Real fleets have slow VMs (a busy host, a cold cache) and images that pass their first
health probe and fail minutes later (a leak, a cron job, a certificate). A canary and a
bake exist for exactly those; these make the simulator show them, seeded so a test sees
the same fleet every time.

- ``upgrade_factor``: a per-VM multiplier on the upgrade time (``Timings.upgrade_spread``
  0.5 gives factors from 0.5 to 1.5), fixed by seed, scale set and instance id.
- images whose version contains ``bad-late`` come back healthy and turn unhealthy
  ``Timings.bad_after`` simulated seconds later, unless the VM moved on meanwhile.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

LATE_MARKER = "bad-late"


class _Vm(Protocol):
    instance_id: int
    exact_version: str
    health: str | None
    job: int


def upgrade_factor(seed: int, scale_set: str, instance_id: int, spread: float) -> float:
    if spread <= 0:
        return 1.0
    rng = random.Random(f"upgrade-time-{seed}-{scale_set}-{instance_id}")
    return max(0.05, 1.0 + rng.uniform(-spread, spread))


def is_late_bad(version: str) -> bool:
    return LATE_MARKER in version.lower()


def turn_bad_later(
    vm: _Vm,
    delay: float,
    schedule: Callable[[float, Callable[[], None]], None],
    touch: Callable[[str], None],
) -> None:
    """After ``delay``, the VM's health turns unhealthy if it still runs the same image
    under the same job and is still reporting healthy."""
    version, job = vm.exact_version, vm.job

    def turn() -> None:
        if vm.exact_version == version and vm.job == job and vm.health == "healthy":
            touch("unhealthy")

    schedule(delay, turn)
