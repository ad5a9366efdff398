"""One step back: put the model on the image a run started from, then re-upgrade exactly
the VMs that run upgraded, through the same gated pipeline.

When a canary or a bake catches a bad image, the person wants the touched VMs back on
the old image now, without working out which image that was or which VMs were touched.
Both are in the run's journal: before each wave the orchestrator records the image every
VM it dispatches runs (``before`` records), and the journal says which VMs were sent.
A revert is therefore computed, shown (the model diff and the VMs) and confirmed before
anything is sent; the PATCH carries ``If-Match``; the re-upgrade is an ordinary plan
(the run's own steps, limited to those VMs) with its own journal naming the run it
reverts, so it resumes like any run. Running ``revert`` again after a crash is safe: a
model already back on the old image is not patched again, and VMs already on it are
skipped by the plan's own rules.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.pacing import Pacing
from vmssdash.core.changes import Accepted, Change, Emit, Outcome, RunContext, RunStarted, Scope
from vmssdash.core.changes.runs import run_outcome
from vmssdash.core.journal import Journal, Replay, list_journals, read_records
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Plan, Strategy, build_plan
from vmssdash.core.reading import VmReader
from vmssdash.core.runner import EventSink, RunResult, UpgradeApi
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.steps import build_plan_from_steps, parse_steps
from vmssdash.core.words import who


class RevertError(ValueError):
    """A run that cannot be reverted; ``str()`` says why in one line."""


def touched_vms(replay: Replay) -> list[str]:
    """Every VM the run sent an upgrade for (settled or not), in the order sent."""
    return [iid for iid, calls in replay.upgrade_calls.items() if calls > 0]


def before_versions(path: Path) -> dict[str, str]:
    """The image version each VM ran before the run upgraded it (``before`` records)."""
    out: dict[str, str] = {}
    for record in read_records(path):
        if record.get("kind") == "before" and isinstance(record.get("versions"), dict):
            for iid, version in record["versions"].items():
                if isinstance(version, str):
                    out.setdefault(str(iid), version)
    return out


def find_run(directory: Path, run: str | None, scale_set_id: str | None = None) -> Replay:
    """The run named by a plan-id prefix, or the most recent one (of this scale set)."""
    runs = [
        r
        for r in list_journals(directory)
        if scale_set_id is None or r.plan.scale_set_id.lower() == scale_set_id.lower()
    ]
    if run:
        runs = [r for r in runs if r.plan.plan_id.startswith(run)]
        if len(runs) > 1:
            raise RevertError(
                f"run {run!r} is ambiguous: {', '.join(r.plan.plan_id[:12] for r in runs)}"
            )
    if not runs:
        raise RevertError(
            f"no run {run!r} in {directory}" if run else f"no run to revert in {directory}"
        )
    return max(runs, key=lambda r: r.last_ts)


def reverted_image(current: dict[str, Any], version: str) -> dict[str, Any]:
    """The model's imageReference with the version the VMs ran before."""
    image = {k: v for k, v in current.items() if k != "exactVersion"}
    if image.get("id") and "/versions/" in str(image["id"]).lower():
        base = str(image["id"])
        cut = base.lower().rfind("/versions/")
        image["id"] = f"{base[:cut]}/versions/{version}"
        return image
    if image.get("publisher"):
        image["version"] = version
        return image
    raise RevertError(
        "the model's image is not a platform or gallery image version; "
        "put it back in the model pane instead"
    )


@dataclass(frozen=True)
class Revert:
    """What a revert will do, computed before anything is sent."""

    run_id: str
    scale_set_id: str
    scale_set_name: str
    before_version: str
    current_image: dict[str, Any]
    image: dict[str, Any]
    instance_ids: tuple[str, ...]
    steps: tuple[str, ...]
    etag: str | None

    @property
    def model_changes(self) -> list[str]:
        keys = sorted(set(self.current_image) | set(self.image))
        return [
            f"imageReference.{k}: {self.current_image.get(k, '–')} → {self.image.get(k, '–')}"
            for k in keys
            if self.current_image.get(k) != self.image.get(k)
        ]

    def patch(self) -> dict[str, Any]:
        return {
            "properties": {
                "virtualMachineProfile": {
                    "storageProfile": {"imageReference": copy.deepcopy(self.image)}
                }
            }
        }

    def describe(self) -> str:
        changes = self.model_changes
        model = (
            "Model: " + "; ".join(changes) + " (PATCH with If-Match)"
            if changes
            else f"Model: already on {self.before_version}; not patched again"
        )
        how = ", ".join(self.steps) if self.steps else "by update domain"
        return (
            f"Revert run {self.run_id[:8]} on {self.scale_set_name}\n{model}\n"
            f"Then re-upgrade the {len(self.instance_ids)} VMs that run upgraded "
            f"[{', '.join(self.instance_ids)}] ({how})"
        )


def plan_revert(replay: Replay, scale_set: ScaleSet) -> Revert:
    ids = touched_vms(replay)
    if not ids:
        raise RevertError(f"run {replay.plan.plan_id[:8]} upgraded no VM: nothing to revert")
    versions = before_versions(replay.path)
    known = [versions[i] for i in ids if i in versions]
    if not known:
        raise RevertError(
            f"run {replay.plan.plan_id[:8]}'s journal does not say which image its VMs ran "
            "before (it predates revert); set the image in the model pane instead"
        )
    before, _ = Counter(known).most_common(1)[0]
    ref = scale_set.image_reference
    current = ref.model_dump(mode="json", by_alias=True, exclude_none=True) if ref else {}
    image = reverted_image(current, before)
    return Revert(
        run_id=replay.plan.plan_id,
        scale_set_id=replay.plan.scale_set_id,
        scale_set_name=replay.plan.scale_set_name,
        before_version=before,
        current_image={k: v for k, v in current.items() if k != "exactVersion"},
        image=image,
        instance_ids=tuple(ids),
        steps=replay.plan.steps,
        etag=scale_set.etag,
    )


def revert_plan(revert: Revert, snapshot: ScaleSetSnapshot) -> Plan:
    """The re-upgrade: the run's own steps (or by update domain), only its VMs."""
    if revert.steps:
        return build_plan_from_steps(
            snapshot, parse_steps(revert.steps), selection=revert.instance_ids
        )
    return build_plan(snapshot, Strategy.UPDATE_DOMAIN, selection=revert.instance_ids)


class RevertApi(UpgradeApi, Protocol):
    async def update_model(
        self, patch: dict[str, Any], *, etag: str | None, base: ScaleSet | None = None
    ) -> ScaleSet: ...


async def send_model_back(api: RevertApi, revert: Revert, source: Replay) -> None:
    """The model PATCH (If-Match), journalled in the reverted run's journal before and
    after; nothing is sent when the model is already back."""
    if not revert.model_changes:
        return
    note = Journal(source.path)
    note.append("revert-model", image=revert.image, etag=revert.etag or "")
    await api.update_model(revert.patch(), etag=revert.etag)
    note.append("revert-model-done", image=revert.image)


async def revert_orchestrator(
    api: RevertApi, revert: Revert, source: Replay, *, journal_dir: Path, **options: Any
) -> Orchestrator:
    """The re-upgrade as a run of its own (its journal names the run it reverts)."""
    snapshot = ScaleSetSnapshot.build(await api.get(), await api.list_vms())
    plan = revert_plan(revert, snapshot)
    journal = Journal.create(journal_dir, plan)
    journal.append("revert", run=revert.run_id, image=revert.image)
    Journal(source.path).append("reverted-by", run=plan.plan_id)
    return Orchestrator(api, plan, journal=journal, **options)


async def run_revert(
    api: RevertApi,
    revert: Revert,
    source: Replay,
    *,
    journal_dir: Path,
    on_event: EventSink | None = None,
    reader: VmReader | None = None,
    pacing: Pacing | None = None,
    poll_interval: float = 5.0,
    health_timeout: float = 300.0,
) -> RunResult:
    """Send the confirmed revert: the model back, then the re-upgrade."""
    await send_model_back(api, revert, source)
    orchestrator = await revert_orchestrator(
        api,
        revert,
        source,
        journal_dir=journal_dir,
        on_event=on_event,
        reader=reader,
        pacing=pacing,
        poll_interval=poll_interval,
        health_timeout=health_timeout,
    )
    return await orchestrator.run()


@dataclass(frozen=True)
class RevertRun(Change):
    """A revert as a change: previewed (the model diff and the VMs), confirmed, then the
    model PATCH and the re-upgrade, holding the scale set's run lock."""

    revert: Revert
    source: Replay
    total: int
    is_run: ClassVar[bool] = True

    @property
    def scale_set_name(self) -> str:
        return self.revert.scale_set_name

    @property
    def scope(self) -> Scope:
        return Scope(self.revert.instance_ids, (), self.total)

    @property
    def confirm_label(self) -> str:
        return "Revert"

    @property
    def title(self) -> str:
        return f"Revert run {self.revert.run_id[:8]} on {self.scale_set_name}?"

    @property
    def what(self) -> str:
        return f"revert of {who(self.revert.instance_ids)} to {self.revert.before_version}"

    def describe(self) -> str:
        return self.revert.describe()

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        with ctx.lock.hold(self.what):
            await send_model_back(ctx.api, self.revert, self.source)
            if self.revert.model_changes:
                emit(Accepted(f"model back on {self.revert.before_version}"))
            orchestrator = await revert_orchestrator(
                ctx.api,
                self.revert,
                self.source,
                journal_dir=ctx.journal_dir,
                on_event=emit,
                reader=ctx.reader,
                pacing=ctx.pacing,
                poll_interval=ctx.poll_interval,
                health_timeout=ctx.health_timeout,
            )
            emit(RunStarted(orchestrator))
            return run_outcome(await orchestrator.run())
