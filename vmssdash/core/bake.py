"""Bakes and halts: watching what a run has upgraded before it goes on.

A canary proves little the moment it turns healthy: the image that breaks under load or
after its first cron job does so minutes later. A bake keeps reading the health of every
VM the run upgraded so far, for a set time on the pacing clock, and any breach halts the
run at once with a reason that names the VMs and the signal. The orchestrator calls in
here after each wave that has holds; this module owns what a breach is, how a bake and a
pause wait, and how the journal records them so a run resumed in the middle of a bake
finishes the time still owed instead of starting over or skipping it.

Journal records: ``hold-start`` (wave, hold, kind, seconds), ``bake-watch`` (wave, hold,
watched: seconds of the bake already watched), ``promote`` (wave, hold: written by
``vmssdash promote`` or the TUI), ``hold-done`` (wave, hold, ok, reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vmssdash.azure.models.durations import format_duration
from vmssdash.core.journal import Journal, read_records
from vmssdash.core.plan import Hold, Policy, Wave
from vmssdash.core.state import VmInfo, VmState

Read = Callable[[Collection[str], str], Awaitable[dict[str, VmInfo]]]

#: Seconds of bake between two ``bake-watch`` journal records (what a resume may credit).
WATCH_RECORD_EVERY = 15.0


def vm_signal(vm: VmInfo | None, *, was_running: bool = True) -> str:
    """The health signal that makes an upgraded VM a breach, or "" when it is fine."""
    if vm is None:
        return "gone from the scale set"
    if vm.state is VmState.FAILED:
        return f"provisioning failed ({vm.failure_code or vm.provisioning_state})"
    if vm.health == "unhealthy":
        return "application health unhealthy"
    if was_running and vm.power_state in ("stopped", "deallocated", "stopping", "deallocating"):
        return f"power state {vm.power_state}"
    return ""


def breach_reason(
    infos: dict[str, VmInfo],
    watched: Iterable[str],
    policy: Policy,
    *,
    not_running: Collection[str] = (),
) -> str:
    """Why the run must halt now ("" when it may go on): the upgraded VMs that show a bad
    signal, grouped by signal, or the whole set past the max-unhealthy-instance limit."""
    by_signal: dict[str, list[str]] = {}
    for iid in watched:
        signal = vm_signal(infos.get(iid), was_running=iid not in not_running)
        if signal:
            by_signal.setdefault(signal, []).append(iid)
    if by_signal:
        return "; ".join(
            f"{_vms(ids)}: {signal}"
            for signal, ids in sorted(by_signal.items(), key=lambda kv: kv[1])
        )
    sick = sorted(
        (i for i, v in infos.items() if v.state is VmState.FAILED or v.health == "unhealthy"),
        key=_id_key,
    )
    total = len(infos)
    if total and len(sick) * 100 > policy.max_unhealthy_percent * total:
        return (
            f"max unhealthy instance limit: {len(sick)} of {total} VMs unhealthy "
            f"({len(sick) * 100 / total:.0f}%, more than {policy.max_unhealthy_percent}%): "
            f"{_vms(sick[:10])}"
        )
    return ""


def wave_breach(wave: Wave, failed: dict[str, str]) -> str:
    """A VM of this wave judged not OK after its upgrade halts a progressive run."""
    bad = [i for i in wave.instance_ids if i in failed]
    if not bad:
        return ""
    return f"wave {wave.index + 1} ({wave.label}): " + "; ".join(
        f"VM {i}: {failed[i]}" for i in bad[:10]
    )


@dataclass
class HoldProgress:
    """What a journal says about the holds of a run (read once when resuming)."""

    done: set[tuple[int, int]] = field(default_factory=set)
    watched: dict[tuple[int, int], float] = field(default_factory=dict)
    promoted: set[tuple[int, int]] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> HoldProgress:
        progress = cls()
        for record in read_records(path):
            key = (record.get("wave"), record.get("hold"))
            if not isinstance(key[0], int) or not isinstance(key[1], int):
                continue
            at = (key[0], key[1])
            kind = record.get("kind")
            if kind == "hold-done":
                progress.done.add(at)
            elif kind == "bake-watch":
                progress.watched[at] = float(record.get("watched", 0.0))
            elif kind == "promote":
                progress.promoted.add(at)
        return progress


def promote_pending(path: Path) -> tuple[int, int] | None:
    """The pause a run is waiting at (wave, hold), if its journal shows one."""
    waiting: tuple[int, int] | None = None
    for record in read_records(path):
        kind = record.get("kind")
        wave, hold = record.get("wave"), record.get("hold")
        if kind == "finished":
            waiting = None
        elif not isinstance(wave, int) or not isinstance(hold, int):
            continue
        elif kind == "hold-start" and record.get("hold_kind") == "pause":
            waiting = (wave, hold)
        elif kind in ("hold-done", "promote") and waiting == (wave, hold):
            waiting = None
    return waiting


def promote_run(path: Path) -> tuple[int, int] | None:
    """Promote the pause a run is waiting at, from any process: a ``promote`` record in
    its journal, which the waiting run reads. Returns the (wave, hold) promoted, if any."""
    waiting = promote_pending(path)
    if waiting is not None:
        Journal(path).append("promote", wave=waiting[0], hold=waiting[1])
    return waiting


class Journaled:
    """The journal of the run, for the holds (reads back promotes written by others)."""

    def __init__(self, path: Path | None, append: Callable[..., None]) -> None:
        self.path = path
        self.append = append

    def promoted(self, at: tuple[int, int]) -> bool:
        return self.path is not None and at in HoldProgress.load(self.path).promoted


async def bake(
    *,
    hold: Hold,
    wave: Wave,
    at: tuple[int, int],
    watched_ids: list[str],
    policy: Policy,
    read: Read,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    interval: Callable[[], float],
    journal: Journaled,
    stopping: Callable[[], bool],
    progress: Callable[[str], None],
    already: float = 0.0,
) -> str:
    """Watch ``watched_ids`` for what is left of ``hold.seconds``; return a halt reason or
    "" once the time is up (or the run is being aborted)."""
    started = clock() - already
    end = started + hold.seconds
    recorded = clock()
    label = f"bake {format_duration(hold.seconds)} after wave {wave.index + 1} ({wave.label})"
    not_running: set[str] | None = None
    while True:
        infos = await read(watched_ids, label)
        if not_running is None:
            # VMs that were off when the bake began (upgraded while deallocated) stay off.
            not_running = {
                i for i in watched_ids if (v := infos.get(i)) is not None and not v.is_running
            }
        reason = breach_reason(infos, watched_ids, policy, not_running=not_running)
        now = clock()
        if reason:
            return f"{label}, {now - started:.0f} s in: {reason}"
        if now >= end or stopping():
            return ""
        if now - recorded >= WATCH_RECORD_EVERY:
            journal.append("bake-watch", wave=at[0], hold=at[1], watched=round(now - started, 3))
            recorded = now
        progress(f"{label}: {format_duration(end - now)} left, {len(watched_ids)} VMs watched")
        await sleep(max(0.0, min(interval(), end - now)))


async def wait_for_promote(
    *,
    wave: Wave,
    at: tuple[int, int],
    promoted: Callable[[], bool],
    journal: Journaled,
    sleep: Callable[[float], Awaitable[None]],
    interval: Callable[[], float],
    progress: Callable[[str], None],
) -> None:
    """Hold until a person promotes (in this process, or ``vmssdash promote`` through the
    journal), or the run is aborted (``promoted`` answers True for both)."""
    while not promoted() and not journal.promoted(at):
        progress(f"paused after wave {wave.index + 1} ({wave.label}): waiting for promote")
        await sleep(interval())


def _vms(ids: list[str]) -> str:
    return f"VM {ids[0]}" if len(ids) == 1 else f"VMs {', '.join(ids)}"


def _id_key(iid: str) -> tuple[int, str]:
    return (int(iid), "") if iid.isdigit() else (1 << 62, iid)
