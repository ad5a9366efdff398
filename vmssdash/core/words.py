"""Counts in words: "1 VM", "2 VMs", "1 wave" (never "1 VMs", "in 1 waves") wherever the UI
shows a count."""

from __future__ import annotations

from collections.abc import Sequence


def count(n: int, noun: str) -> str:
    """ "1 wave", "3 waves": the noun in the singular for exactly one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def vms(n: int) -> str:
    return count(n, "VM")


def who(ids: Sequence[str], *, list_up_to: int = 1) -> str:
    """ "VM 3"; "VMs 3, 8" while there are at most ``list_up_to``; then "12 VMs"."""
    if len(ids) == 1:
        return f"VM {ids[0]}"
    if len(ids) <= list_up_to:
        return f"VMs {', '.join(ids)}"
    return vms(len(ids))
