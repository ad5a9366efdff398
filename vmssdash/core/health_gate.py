"""The health gate of a run: when a VM's upgrade has succeeded or failed, what counts
against the rolling-upgrade policy's unhealthy limits, and the texts that say why a limit
stops the run. Pure functions of ``VmInfo``, so they are tested without a simulator."""

from __future__ import annotations

from vmssdash.core.state import VmInfo, VmState


def blocks_unhealthy_count(vm: VmInfo) -> bool:
    """Counts against max-unhealthy: failed, unhealthy, in transition, or health unknown.

    Deliberately stopped or deallocated VMs are left out: they are not serving before
    the upgrade either, and counting them would stop every run on a set with one parked VM.
    """
    if vm.state in (VmState.DEALLOCATED, VmState.STOPPED):
        return False
    if vm.state in (VmState.FAILED, VmState.UNHEALTHY) or vm.state.is_transitional:
        return True
    return vm.health in ("unhealthy", "unknown")


def verdict(
    vm: VmInfo | None, *, operation_failed: str | None = None, was_off: bool = False
) -> tuple[bool, str] | None:
    """(ok, reason) once a dispatched VM's outcome is known; None while still waiting.

    A VM that was stopped or deallocated before its upgrade stays so afterwards: for it,
    being on the latest model is the whole success.
    """
    if vm is None:
        return (False, "the VM is gone from the scale set")
    if vm.state is VmState.FAILED:
        return (False, f"provisioning failed ({vm.failure_code or vm.provisioning_state})")
    if was_off and vm.latest_model and vm.state in (VmState.DEALLOCATED, VmState.STOPPED):
        return (True, "")
    if vm.latest_model and not vm.state.is_transitional:
        if vm.health == "unhealthy":
            return (False, "health probe reports unhealthy after the upgrade")
        if vm.is_running and vm.health in (None, "healthy") and vm.state is not VmState.UNKNOWN:
            return (True, "")
        return None
    if operation_failed and not vm.latest_model and not vm.state.is_transitional:
        return (False, f"not upgraded: {operation_failed}")
    return None


def describe_wait(vm: VmInfo | None) -> str:
    if vm is None:
        return "gone"
    parts = [vm.state.label]
    if vm.health:
        parts.append(f"health {vm.health}")
    if vm.latest_model is False:
        parts.append("not on the latest model")
    return ", ".join(parts)


def id_key(iid: str) -> tuple[int, str]:
    """Numeric instance ids in numeric order, any other after them by name."""
    return (int(iid), "") if iid.isdigit() else (1 << 62, iid)


def precheck(infos: dict[str, VmInfo], wave_ids: list[str], limit: int) -> str:
    """Why the next wave would break max-unhealthy ``limit`` (percent), or "" if it would not."""
    total = len(infos) or 1
    unhealthy = {i for i, v in infos.items() if blocks_unhealthy_count(v)}
    would_be = unhealthy | set(wave_ids)
    if len(would_be) * 100 > limit * total:
        already = sorted(unhealthy - set(wave_ids), key=id_key)
        return (
            f"max unhealthy instance limit: {len(already)} VMs already unhealthy"
            + (f" [{', '.join(already[:10])}]" if already else "")
            + f" + {len(wave_ids)} in the next wave = {len(would_be)} of {total} "
            f"({len(would_be) * 100 / total:.0f}%), more than the {limit}% allowed"
        )
    return ""


def postcheck(ok_count: int, failed: dict[str, str], limit: int) -> str:
    """Why the upgraded VMs so far break max-unhealthy-upgraded ``limit``, or "" if not."""
    upgraded = ok_count + len(failed)
    if not upgraded:
        return ""
    bad = len(failed)
    if bad * 100 > limit * upgraded:
        reasons = "; ".join(
            f"VM {i}: {r}" for i, r in sorted(failed.items(), key=lambda kv: id_key(kv[0]))[:5]
        )
        return (
            f"max unhealthy upgraded instance limit: {bad} of {upgraded} upgraded VMs "
            f"unhealthy ({bad * 100 / upgraded:.0f}%), more than the {limit}% allowed — {reasons}"
        )
    return ""
