"""Every change vmssdash sends to Azure, as a value that knows its scope and describes itself.

A ``Change`` is built from a snapshot before anything is asked: its ``scope`` holds the
exact instance ids that will be in the request bodies (after every skip rule: the plan's
``skip_reason`` for upgrades) and the skipped ones with why; ``describe()`` is the
confirmation text; ``is_large`` (one threshold, ``is_large``) asks for the scale set's
name to be typed; ``run(ctx, emit)`` sends it. The dashboard's ``submit(change)`` and
the headless commands run the same values, so what was confirmed is what runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from vmssdash.azure.errors import PreconditionFailedError
from vmssdash.azure.lro import Operation
from vmssdash.azure.models import ScaleSet
from vmssdash.azure.pacing import Pacing
from vmssdash.core.events import OrchestratorEvent, RunState
from vmssdash.core.journal import Replay
from vmssdash.core.model_edit import ImageSpec
from vmssdash.core.orchestrator import Orchestrator, RollingRunner, RunResult, UpgradeApi
from vmssdash.core.plan import Plan, Skip
from vmssdash.core.plan_text import id_key, ids_text, render_plan, skipped_lines
from vmssdash.core.reading import VmReader
from vmssdash.core.runlock import RunLock
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import vms, who

#: Changes touching more VMs than this (or the whole set) need the scale set's name typed.
LARGE_OVER = 20


def is_large(count: int, total: int) -> bool:
    """The one rule for "type the name to confirm": many VMs, or all of them."""
    return count > LARGE_OVER or (total > 0 and count >= total)


class ChangeApi(UpgradeApi, Protocol):
    """The writes of ``ScaleSetApi`` that changes send (a fake can stand in)."""

    async def begin_action(self, action: str, instance_ids: Iterable[str | int]) -> Operation: ...

    async def set_capacity(self, n: int, *, etag: str | None) -> ScaleSet: ...

    async def update_model(
        self, patch: dict[str, Any], *, etag: str | None, base: ScaleSet | None = None
    ) -> ScaleSet: ...


@dataclass(frozen=True)
class RunContext:
    """What a change needs to run: the API, time, the reader a run gates on, the journal
    folder and this scale set's run lock."""

    api: ChangeApi
    pacing: Pacing
    reader: VmReader
    journal_dir: Path
    lock: RunLock
    poll_interval: float = 5.0
    health_timeout: float = 300.0


@dataclass(frozen=True)
class Accepted:
    """Azure accepted the request (the marked VMs it was about can be unmarked)."""

    what: str


@dataclass(frozen=True)
class RunStarted:
    """A run began: ``control`` pauses, resumes and aborts it."""

    control: Orchestrator | RollingRunner


ChangeEvent = Accepted | RunStarted | OrchestratorEvent
Emit = Callable[[ChangeEvent], None]


@dataclass(frozen=True)
class Outcome:
    """How a change ended: ``detail`` for the log; a run's result; the fresh model."""

    ok: bool
    detail: str
    result: RunResult | None = None
    scale_set: ScaleSet | None = None


@dataclass(frozen=True)
class Scope:
    """The exact instance ids sent, the ids skipped and why, and the set's size."""

    sent: tuple[str, ...]
    skipped: tuple[Skip, ...] = ()
    total: int = 0

    def lines(self) -> list[str]:
        out = [f"Instance ids: {ids_text(self.sent)}"] if self.sent else []
        return out + skipped_lines(self.skipped)


class Change(ABC):
    """One write to one scale set, described before it is sent."""

    #: A run holds the scale set's run lock and shows in the run pane.
    is_run: ClassVar[bool] = False

    @property
    @abstractmethod
    def scale_set_name(self) -> str: ...

    @property
    @abstractmethod
    def scope(self) -> Scope: ...

    @property
    def confirm_label(self) -> str:
        return "Confirm"

    @property
    @abstractmethod
    def title(self) -> str:
        """The confirmation's question."""

    @property
    @abstractmethod
    def what(self) -> str:
        """Short name while in flight: "restart of VM 3"."""

    @abstractmethod
    def describe(self) -> str:
        """The confirmation body: exactly what will be sent."""

    @property
    def is_large(self) -> bool:
        return is_large(len(self.scope.sent), self.scope.total)

    @abstractmethod
    async def run(self, ctx: RunContext, emit: Emit) -> Outcome: ...


# ---------------------------------------------------------------------- VM actions


@dataclass(frozen=True)
class ActionKind:
    name: str  # the ARM action path segment
    verb: str
    key: str
    dangerous: bool = False
    note: str = ""

    def skip_reason(self, power_state: str | None, running: bool) -> str | None:
        if self.name == "start" and running:
            return "already running"
        if self.name == "deallocate" and power_state == "deallocated":
            return "already deallocated"
        if self.name == "poweroff" and power_state in ("stopped", "deallocated"):
            return "already stopped"
        return None


ACTIONS: tuple[ActionKind, ...] = (
    ActionKind("restart", "Restart", "r"),
    ActionKind("start", "Start", "s"),
    ActionKind("poweroff", "Power off", "o"),
    ActionKind("deallocate", "Deallocate", "d", dangerous=True),
    ActionKind(
        "reimage", "Reimage", "i", True, "Reimage resets the OS disk of each VM to the image."
    ),
    ActionKind(
        "delete", "Delete", "x", True, "Deleted VMs and their OS disks cannot be brought back."
    ),
)


@dataclass(frozen=True)
class VmAction(Change):
    action: ActionKind
    set_name: str
    _scope: Scope
    whole_set: bool = False

    @classmethod
    def build(cls, snapshot: ScaleSetSnapshot, action: ActionKind, ids: Iterable[str]) -> VmAction:
        wanted = set(ids)
        sent: list[str] = []
        skipped: list[Skip] = []
        for iid in sorted(wanted, key=id_key):
            vm = snapshot.by_id.get(iid)
            reason = (
                "not in the scale set any more"
                if vm is None
                else "protected from scale-set actions"
                if vm.protected_from_scale_set_actions and action.name != "delete"
                else f"busy ({vm.state.label})"
                if vm.state.is_transitional
                else action.skip_reason(vm.power_state, vm.is_running)
            )
            if reason:
                skipped.append(Skip(iid, reason))
            else:
                sent.append(iid)
        whole = bool(snapshot.vms) and wanted >= set(snapshot.by_id)
        scope = Scope(tuple(sent), tuple(skipped), len(snapshot.vms))
        return cls(action, snapshot.scale_set.name, scope, whole)

    @property
    def scale_set_name(self) -> str:
        return self.set_name

    @property
    def scope(self) -> Scope:
        return self._scope

    @property
    def title(self) -> str:
        return f"{self.action.verb} {vms(len(self.scope.sent))}?"

    @property
    def confirm_label(self) -> str:
        return self.action.verb

    @property
    def what(self) -> str:
        return f"{self.action.name} of {who(self.scope.sent)}"

    @property
    def is_large(self) -> bool:
        return self.action.name == "delete" or super().is_large

    def describe(self) -> str:
        s = self.scope
        head = f"{self.action.verb} {len(s.sent)} of {vms(s.total)} of {self.scale_set_name}"
        lines = [head + (" (the WHOLE scale set)" if self.whole_set else ""), *s.lines()]
        return "\n".join(lines + ([self.action.note] if self.action.note else []))

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        operation = await ctx.api.begin_action(self.action.name, self.scope.sent)
        emit(Accepted(self.what))
        return Outcome(True, (await operation.wait()).status)


# ---------------------------------------------------------------------- scale, model


@dataclass(frozen=True)
class Scale(Change):
    scale_set: ScaleSet
    capacity: int

    @property
    def scale_set_name(self) -> str:
        return self.scale_set.name

    @property
    def confirm_label(self) -> str:
        return "Scale"

    @property
    def scope(self) -> Scope:
        return Scope((), (), self.scale_set.capacity)

    @property
    def title(self) -> str:
        return f"Scale {self.scale_set.name} to {vms(self.capacity)}?"

    @property
    def what(self) -> str:
        return f"scale {self.scale_set.name} {self.scale_set.capacity} → {self.capacity}"

    @property
    def is_large(self) -> bool:
        now = self.scale_set.capacity
        return self.capacity == 0 or is_large(abs(self.capacity - now), now)

    def describe(self) -> str:
        now, n = self.scale_set.capacity, self.capacity
        if n >= now:
            return f"Capacity {now} → {n}: adds {vms(n - now)} on the current model."
        return (
            f"Capacity {now} → {n}: REMOVES {vms(now - n)} (the platform picks which, by its "
            "scale-in policy; VMs protected from scale-in are kept)."
        )

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        fresh = await ctx.api.set_capacity(self.capacity, etag=self.scale_set.etag)
        return Outcome(True, f"capacity is now {fresh.capacity}", scale_set=fresh)


@dataclass(frozen=True)
class ModelPatch(Change):
    """A PATCH of the model with If-Match; a revert is one too (to the previous model)."""

    base: ScaleSet
    patch: dict[str, Any]
    changes: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def scale_set_name(self) -> str:
        return self.base.name

    @property
    def confirm_label(self) -> str:
        return "Apply"

    @property
    def scope(self) -> Scope:
        return Scope((), (), self.base.capacity)

    @property
    def title(self) -> str:
        n = len(self.changes)
        return f"Apply {n} model change{'' if n == 1 else 's'} to {self.base.name}?"

    @property
    def what(self) -> str:
        return f"model update of {self.base.name}"

    @property
    def is_large(self) -> bool:
        # An Automatic-mode set upgrades every VM to a changed model by itself.
        return self.base.upgrade_mode.lower() == "automatic"

    def describe(self) -> str:
        lines = [f"Scale set {self.base.name}: PATCH with If-Match {self.base.etag or '-'}", ""]
        lines += [*self.changes, ""]
        if self.base.upgrade_mode.lower() == "automatic":
            lines.append("Upgrade mode Automatic: Azure upgrades every VM to this model.")
        return "\n".join(lines + list(self.warnings)).rstrip()

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        try:
            fresh = await ctx.api.update_model(self.patch, etag=self.base.etag, base=self.base)
        except PreconditionFailedError as exc:
            # The caller rebases the edit on the model now in Azure: fetch it if the
            # client did not.
            if exc.theirs is None:
                exc.theirs = await ctx.api.get()
            raise
        image = ImageSpec.from_scale_set(fresh).describe()
        return Outcome(True, f"now {image}, capacity {fresh.capacity}", scale_set=fresh)


# ---------------------------------------------------------------------- runs


@dataclass(frozen=True)
class UpgradePlan(Change):
    """Run a plan wave by wave (``replay``: resume an unfinished one from the journal)."""

    plan: Plan
    image: str = ""
    replay: Replay | None = None
    is_run: ClassVar[bool] = True

    @property
    def scale_set_name(self) -> str:
        return self.plan.scale_set_name

    @property
    def confirm_label(self) -> str:
        return "Resume" if self.replay is not None else "Start upgrade"

    @property
    def scope(self) -> Scope:
        p = self.plan
        return Scope(p.targets, p.skipped, p.total_instances)

    @property
    def title(self) -> str:
        if self.replay is not None:
            return "Resume the unfinished upgrade?"
        return f"{self.plan.summary()}?"

    @property
    def what(self) -> str:
        n = len(self.plan.waves)
        return f"upgrade of {who(self.plan.targets)} in {n} wave{'' if n == 1 else 's'}"

    @property
    def is_large(self) -> bool:
        # A resumed plan had its name typed when it first started.
        return self.replay is None and (self.plan.is_whole_set or super().is_large)

    def describe(self) -> str:
        body = render_plan(self.plan, self.image)
        if self.replay is None:
            return body
        return (
            f"The journal has an unfinished {self.replay.describe()}.\n"
            "Resuming re-reads the VMs: finished VMs are not upgraded again, VMs whose "
            "upgrade was already sent are only watched, and none is skipped.\n\n" + body
        )

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        with ctx.lock.hold(self.what):
            orchestrator = Orchestrator(
                ctx.api,
                self.plan,
                on_event=emit,
                journal_dir=ctx.journal_dir,
                replay=self.replay,
                pacing=ctx.pacing,
                reader=ctx.reader,
                poll_interval=ctx.poll_interval,
                health_timeout=ctx.health_timeout,
            )
            emit(RunStarted(orchestrator))
            return _run_outcome(await orchestrator.run())


@dataclass(frozen=True)
class RollingStart(Change):
    """Start the platform's own rolling upgrade of a Rolling-mode set and watch it."""

    set_name: str
    stale: tuple[str, ...]
    total: int
    is_run: ClassVar[bool] = True

    @property
    def scale_set_name(self) -> str:
        return self.set_name

    @property
    def confirm_label(self) -> str:
        return "Start rolling upgrade"

    @classmethod
    def build(cls, snapshot: ScaleSetSnapshot) -> RollingStart:
        stale = tuple(vm.instance_id for vm in snapshot.vms if vm.latest_model is False)
        return cls(snapshot.scale_set.name, stale, len(snapshot.vms))

    @property
    def scope(self) -> Scope:
        # The request names no VMs: the platform picks the stale ones by its policy.
        return Scope((), (), self.total)

    @property
    def title(self) -> str:
        return f"Start a server-side rolling upgrade of {self.scale_set_name}?"

    @property
    def what(self) -> str:
        return f"rolling upgrade of {self.scale_set_name}"

    @property
    def is_large(self) -> bool:
        return True  # the whole set, in batches the platform picks

    def describe(self) -> str:
        return (
            f"{self.scale_set_name} is in Rolling mode: the platform upgrades its "
            f"{vms(len(self.stale))} not on the latest model ({ids_text(self.stale)}) in "
            "batches by its rollingUpgradePolicy. vmssdash starts it, shows "
            "rollingUpgrades/latest live and can cancel it."
        )

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        with ctx.lock.hold(self.what):
            runner = RollingRunner(
                ctx.api, on_event=emit, pacing=ctx.pacing, poll_interval=ctx.poll_interval
            )
            emit(RunStarted(runner))
            return _run_outcome(await runner.run())


@dataclass(frozen=True)
class RollingCancel(Change):
    set_name: str

    @property
    def scale_set_name(self) -> str:
        return self.set_name

    @property
    def confirm_label(self) -> str:
        return "Cancel rolling upgrade"

    @property
    def scope(self) -> Scope:
        return Scope(())

    @property
    def title(self) -> str:
        return f"Cancel the rolling upgrade of {self.scale_set_name}?"

    @property
    def what(self) -> str:
        return f"cancel of the rolling upgrade of {self.scale_set_name}"

    def describe(self) -> str:
        return (
            "The server-side rolling upgrade is cancelled: no new batch starts; the batch "
            "in progress cannot be recalled."
        )

    async def run(self, ctx: RunContext, emit: Emit) -> Outcome:
        operation = await ctx.api.begin_cancel_rolling_upgrade()
        emit(Accepted(self.what))
        return Outcome(True, (await operation.wait()).status)


def _run_outcome(result: RunResult) -> Outcome:
    ok = result.state is RunState.COMPLETED
    detail = f"{result.state.value}" + (f": {result.reason}" if result.reason else "")
    return Outcome(ok, detail, result=result)
