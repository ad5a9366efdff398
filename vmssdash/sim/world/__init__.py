"""The simulated Azure: subscriptions, scale sets, VMs, operations, and their timed changes.

The world is a discrete-event simulation. Every state change is either immediate (a
request) or an event scheduled at a simulated time; ``advance(now)`` runs the due events
in time order. The app calls it lazily at the start of every request, so there is no
background thread, and a manual clock makes every test deterministic.

All mutation happens with ``world.lock`` held (the app takes it around each request).
Randomness comes from ``random.Random`` instances seeded from the scenario seed.

The package splits the world by job: ``model`` (records), ``images`` (catalogue), ``core``
(state, time, operations), ``vm_jobs``, ``rolling``, ``scaling``, and ``lifecycle``, whose
``World`` puts them together.
"""

from vmssdash.sim.world.lifecycle import World
from vmssdash.sim.world.model import Operation, ScaleSet, Timings, Vm, parse_iso_duration

__all__ = ["Operation", "ScaleSet", "Timings", "Vm", "World", "parse_iso_duration"]
