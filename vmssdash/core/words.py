"""Counts in words: "1 VM", "2 VMs" (never "1 VMs") wherever the UI shows a count."""

from __future__ import annotations


def vms(n: int) -> str:
    return f"{n} VM" if n == 1 else f"{n} VMs"
