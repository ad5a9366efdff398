"""Changes that name no run: VM actions, scale, and model patches (a revert is one)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vmssdash.azure.errors import PreconditionFailedError
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.core.changes.base import Accepted, Change, Emit, Outcome, RunContext, Scope, is_large
from vmssdash.core.model_edit import ImageSpec
from vmssdash.core.plan import Skip
from vmssdash.core.plan_text import id_key
from vmssdash.core.snapshot import ScaleSetSnapshot
from vmssdash.core.words import vms, who

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
    #: The new image version sorts below the current one (``ModelEdit.downgrade``).
    downgrade: bool = False

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
        # An Automatic-mode set upgrades every VM to a changed model by itself; a
        # downgrade is easy to pick by mistake from a list of versions.
        return self.downgrade or self.base.upgrade_mode.lower() == "automatic"

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
