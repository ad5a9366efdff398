"""Plans and scopes in words: the text a confirmation shows is the text the CLI prints."""

from __future__ import annotations

from collections.abc import Sequence

from vmssdash.core.events import format_seconds
from vmssdash.core.plan import Plan, Skip
from vmssdash.core.words import vms


def id_key(iid: str) -> tuple[int, str]:
    return (int(iid), "") if iid.isdigit() else (1 << 62, iid)


def ids_text(ids: Sequence[str], limit: int = 40) -> str:
    return ", ".join(ids[:limit]) + (" …" if len(ids) > limit else "")


def skipped_lines(skipped: Sequence[Skip]) -> list[str]:
    """ "Skipped (3):" then one line per reason with its count and ids."""
    if not skipped:
        return []
    reasons: dict[str, list[str]] = {}
    for skip in skipped:
        reasons.setdefault(skip.reason, []).append(skip.instance_id)
    lines = [f"Skipped ({len(skipped)}):"]
    for reason, ids in reasons.items():
        lines.append(f"  {reason}: {len(ids)} [{ids_text(ids, 15)}]")
    return lines


def render_plan(plan: Plan, image: str) -> str:
    """The plan wave by wave, with the skipped VMs, duration and warnings."""
    lines = [plan.summary(), f"Image: {image}", f"Policy: {plan.policy.describe()}", ""]
    for wave in plan.waves:
        lines.append(
            f"Wave {wave.index + 1:>2}  {wave.label:<16} {vms(len(wave.instance_ids)):>6}  "
            + ids_text(wave.instance_ids, 20)
        )
        lines += [f"         then {hold.text()}" for hold in wave.after]
    if not plan.waves:
        lines.append("Nothing to upgrade.")
    if plan.skipped:
        lines += ["", *skipped_lines(plan.skipped)]
    lines += ["", f"Estimated duration: {format_seconds(plan.estimated_seconds)}"]
    lines += [f"Warning: {warning}" for warning in plan.warnings]
    return "\n".join(lines)
