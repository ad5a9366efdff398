"""Runs: a plan wave by wave, or the platform's rolling upgrade; each holds the run lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmssdash.core.changes.base import (
    Accepted,
    Change,
    Emit,
    Outcome,
    RunContext,
    RunStarted,
    Scope,
)
from vmssdash.core.events import RunState
from vmssdash.core.journal import Replay
from vmssdash.core.orchestrator import Orchestrator
from vmssdash.core.plan import Plan
from vmssdash.core.plan_text import ids_text, render_plan
from vmssdash.core.report import image_of, run_context
from vmssdash.core.rolling_runner import RollingRunner
from vmssdash.core.runner import RunResult
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import vms, who

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
            if orchestrator.journal is not None:
                context = run_context(
                    identity=ctx.identity,
                    endpoint=ctx.endpoint,
                    resumed=self.replay is not None,
                    image=image_of(await ctx.api.get()),
                )
                for kind, data in (("context", context), *ctx.records):
                    orchestrator.journal.append(kind, **data)
            emit(RunStarted(orchestrator))
            return run_outcome(await orchestrator.run())


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
            return run_outcome(await runner.run())


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


def run_outcome(result: RunResult) -> Outcome:
    ok = result.state is RunState.COMPLETED
    detail = f"{result.state.value}" + (f": {result.reason}" if result.reason else "")
    return Outcome(ok, detail, result=result)
