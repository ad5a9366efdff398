"""VM jobs (upgrade, restart, create, delete, ...) and the actions that start them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vmssdash.sim import delivery
from vmssdash.sim.errors import (
    SimError,
    conflict_concurrent,
    invalid_parameter,
    precondition_failed,
    vm_being_deleted,
)
from vmssdash.sim.world.core import WorldCore
from vmssdash.sim.world.images import marker_of
from vmssdash.sim.world.model import Operation, ScaleSet, Vm


class VmJobs(WorldCore):
    """Timed per-VM transitions, and the scale-set and VM actions that run them."""

    def run_vm_job(
        self,
        vmss: ScaleSet,
        vm: Vm,
        kind: str,
        *,
        on_done: Callable[[Vm, dict[str, Any] | None], None] | None = None,
        on_settled: Callable[[Vm, bool], None] | None = None,
    ) -> None:
        """Start one VM transition; ``on_done`` fires when its provisioning ends,
        ``on_settled`` when its health is known (after the warm-up)."""
        t = self.timings
        vm.busy = kind
        vm.job += 1
        token = vm.job
        gen = vmss.model_gen

        def guarded(fn: Callable[[], None], *, final: bool = False) -> Callable[[], None]:
            """Phases of a job that a newer job (scale-in, scale-set delete) replaced do
            nothing, except that the replaced operation learns it was pre-empted."""

            def run() -> None:
                if vm.job == token:
                    fn()
                    return
                if final:
                    if on_done:
                        on_done(
                            vm,
                            {
                                "code": "OperationPreempted",
                                "message": "Operation execution has been preempted by a more "
                                "recent operation.",
                                "target": str(vm.instance_id),
                            },
                        )
                    if on_settled:
                        on_settled(vm, False)

            return run

        def done(error: dict[str, Any] | None = None) -> None:
            vm.busy = None
            if on_done:
                on_done(vm, error)

        if kind in ("upgrade", "reimage", "reimageall"):
            factor = delivery.upgrade_factor(self.seed, vmss.name, vm.instance_id, t.upgrade_spread)
            total = t.upgrade * factor * self._jitter()
            target = self.catalog.resolve(
                vmss.location, vmss.profiles[gen].get("storageProfile", {}).get("imageReference")
            )
            if (
                kind == "upgrade"
                and vm.applied_gen == gen
                and vm.exact_version == target
                and vm.provisioning == "Succeeded"
            ):
                total = t.noop * self._jitter()
            was_off = vm.power in ("deallocated", "stopped")
            if was_off:
                self._touch(vm, provisioning="Updating")
            else:
                self._touch(vm, provisioning="Updating", power="stopping")

                def stopped() -> None:
                    self._touch(vm, power="stopped")

                def starting() -> None:
                    self._touch(vm, power="starting")

                self.schedule(total * 0.1, guarded(stopped))
                self.schedule(total * 0.9, guarded(starting))

            def finish() -> None:
                profile = vmss.profiles[gen]
                ref = profile.get("storageProfile", {}).get("imageReference")
                version = self.catalog.resolve(vmss.location, ref)
                power = vm.power if was_off else "running"
                if marker_of(version) == "fail" or self.faults.roll("upgrade_fail"):
                    code, message = (
                        ("OSProvisioningTimedOut", self._timeout_message(vmss, vm))
                        if marker_of(version) == "fail"
                        else (
                            "InternalOperationError",
                            "Operation abandoned due to internal error. Please try again later.",
                        )
                    )
                    self._touch(
                        vm,
                        provisioning="Failed",
                        failure_code=code,
                        failure_message=message,
                        prov_time=self.now,
                        power=power,
                        health="unknown" if vmss.health_reporting else None,
                        etag=vm.etag + 1,
                    )
                    done({"code": code, "message": message, "target": str(vm.instance_id)})
                    if on_settled:
                        on_settled(vm, False)
                    return
                self._touch(
                    vm,
                    provisioning="Succeeded",
                    failure_code=None,
                    failure_message=None,
                    prov_time=self.now,
                    power=power,
                    applied_gen=gen,
                    exact_version=version,
                    etag=vm.etag + 1,
                    health=(
                        ("unknown" if power != "running" else vm.health)
                        if vmss.health_reporting
                        else None
                    ),
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(total, guarded(finish, final=True))
            return

        if kind in ("restart", "start"):
            duration = (t.restart if kind == "restart" else t.start) * self._jitter()
            if kind == "start" and vm.power == "running":
                duration = t.noop
            self._touch(vm, provisioning="Updating", power="starting")

            def started() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded" if vm.failure_code is None else "Failed",
                    prov_time=self.now,
                    power="running",
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(duration, guarded(started, final=True))
            return

        if kind in ("poweroff", "deallocate"):
            final = "stopped" if kind == "poweroff" else "deallocated"
            if vm.power == final or (kind == "poweroff" and vm.power == "deallocated"):
                self.schedule(t.noop, guarded(done, final=True))
                return
            duration = (t.stop if kind == "poweroff" else t.deallocate) * self._jitter()
            self._touch(
                vm,
                provisioning="Updating",
                power="stopping" if kind == "poweroff" else "deallocating",
            )

            def stopped_final() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded" if vm.failure_code is None else "Failed",
                    prov_time=self.now,
                    power=final,
                    health="unknown" if vmss.health_reporting else None,
                )
                done()
                if on_settled:
                    on_settled(vm, False)

            self.schedule(duration, guarded(stopped_final, final=True))
            return

        if kind == "delete":
            self._touch(vm, provisioning="Deleting", power="stopping")

            def deleted() -> None:
                vmss.vms.pop(vm.instance_id, None)
                done()

            self.schedule(t.delete * self._jitter(), guarded(deleted, final=True))
            return

        if kind == "create":
            self._touch(vm, provisioning="Creating", power=None, health=None)

            def created() -> None:
                self._touch(
                    vm,
                    provisioning="Succeeded",
                    prov_time=self.now,
                    power="running",
                    health="unknown" if vmss.health_reporting else None,
                )
                done()
                self._warm_up(vmss, vm, on_settled)

            self.schedule(t.create * self._jitter(), guarded(created, final=True))
            return

        raise ValueError(f"unknown VM job {kind!r}")

    def _timeout_message(self, vmss: ScaleSet, vm: Vm) -> str:
        return (
            f"OS Provisioning for VM '{self.vm_name(vmss, vm)}' did not finish in the allotted "
            "time. The VM may still finish provisioning successfully. Please check "
            "provisioning state later."
        )

    # ----------------------------------------------------------------- actions

    def resolve_instance_ids(
        self, vmss: ScaleSet, ids: list[Any] | None, *, required: bool
    ) -> list[Vm]:
        """Instance ids from an action body; ``None`` (no body) means every VM."""
        if ids is None:
            if required:
                raise invalid_parameter(
                    "Required parameter 'instanceIds' is missing (null).", "instanceIds"
                )
            return vmss.sorted_vms()
        if not isinstance(ids, list) or (required and not ids):
            raise invalid_parameter("The value of parameter instanceIds is invalid.", "instanceIds")
        if any(str(i) == "*" for i in ids):
            return vmss.sorted_vms()
        out: list[Vm] = []
        seen: set[int] = set()
        # A Flexible set's instanceIds are its VMs' names (a number is no member there).
        by_name = {self.vm_name(vmss, v).lower(): v for v in vmss.vms.values()}
        for raw in ids:
            text = str(raw).strip()
            if vmss.flexible:
                vm = by_name.get(text.lower())
            else:
                vm = vmss.vms.get(int(text)) if text.isdigit() else None
            if vm is None:
                raise invalid_parameter(
                    f"The provided instanceId {text} is not an active Virtual Machine Scale "
                    "Set VM instanceId.",
                    "instanceIds",
                )
            if vm.instance_id not in seen:
                seen.add(vm.instance_id)
                out.append(vm)
        return out

    def start_action(
        self, vmss: ScaleSet, action: str, ids: list[Any] | None, *, explicit: bool
    ) -> Operation:
        """A VMSS-level POST action (manualupgrade, restart, ..., delete)."""
        required = action in ("manualupgrade", "delete")
        vms = self.resolve_instance_ids(vmss, ids, required=required)
        if isinstance(ids, list) and any(str(i) == "*" for i in ids):
            explicit = False  # "*" means every instance the action may touch
        self._check_action_conflict(vmss)
        if explicit:
            for vm in vms:
                if vm.protect_from_scale_set_actions and action != "delete":
                    raise SimError(
                        409,
                        "OperationNotAllowed",
                        f"Operation '{action}' is not allowed on VM "
                        f"'{self.vm_name(vmss, vm)}' since it is protected from scale set "
                        "actions.",
                    )
        else:
            vms = [vm for vm in vms if not vm.protect_from_scale_set_actions]
        for vm in vms:
            if vm.provisioning == "Deleting":
                raise vm_being_deleted(action, self.vm_name(vmss, vm))
            if vm.busy:
                raise conflict_concurrent()
        if action == "delete":
            # Deleting instances shrinks the model's capacity with them.
            vmss.sku["capacity"] = max(0, int(vmss.sku.get("capacity", 0)) - len(vms))
        op = self.new_operation(action, vmss)
        vmss.action_op = op
        op.on_finish.append(lambda o: self._clear_action(vmss, o))
        kind = {"manualupgrade": "upgrade"}.get(action, action)
        self._hold(op, self.timings.noop * 0.5)
        for vm in vms:
            if action == "manualupgrade":
                vm.manual_upgrades += 1
            self._attach(op, vmss, vm, kind)
        return op

    def _clear_action(self, vmss: ScaleSet, op: Operation) -> None:
        if vmss.action_op is op:
            vmss.action_op = None

    def _attach(self, op: Operation, vmss: ScaleSet, vm: Vm, kind: str) -> None:
        op.pending += 1
        self.run_vm_job(vmss, vm, kind, on_done=lambda _vm, err: self._release(op, err))

    def _check_action_conflict(self, vmss: ScaleSet) -> None:
        if vmss.deleting:
            raise SimError(
                409,
                "OperationNotAllowed",
                f"The operation is not allowed since the scale set '{vmss.name}' is being deleted.",
            )
        if (vmss.action_op and not vmss.action_op.done) or (vmss.rolling and vmss.rolling.running):
            raise conflict_concurrent()

    def start_vm_action(self, vmss: ScaleSet, vm: Vm, action: str) -> Operation:
        """A VM-level POST action (``VMBASE/restart`` ...) or DELETE."""
        if vm.provisioning == "Deleting":
            raise vm_being_deleted(action, self.vm_name(vmss, vm))
        if vm.busy or vmss.deleting:
            raise conflict_concurrent()
        if action == "delete":
            vmss.sku["capacity"] = max(0, int(vmss.sku.get("capacity", 0)) - 1)
        op = self.new_operation(action, vmss)
        self._hold(op, self.timings.noop * 0.5)
        self._attach(op, vmss, vm, action)
        return op

    def update_vm(
        self, vmss: ScaleSet, vm: Vm, body: dict[str, Any], if_match: str | None
    ) -> Operation:
        """VMSS-VM PUT: only ``protectionPolicy`` is modelled (the rest of a VM's model
        comes from the scale set)."""
        current = f'"{vm.etag}"'
        if if_match is not None and if_match.strip() not in ("*", current):
            raise precondition_failed(if_match.strip(), current)
        if vm.provisioning == "Deleting":
            raise vm_being_deleted("Update VM", self.vm_name(vmss, vm))
        if vm.busy:
            raise conflict_concurrent()
        policy = (body.get("properties") or {}).get("protectionPolicy")
        if policy is not None and not isinstance(policy, dict):
            raise invalid_parameter(
                "The value of parameter protectionPolicy is invalid.", "protectionPolicy"
            )
        op = self.new_operation("vmUpdate", vmss)
        changes: dict[str, Any] = {"etag": vm.etag + 1}
        if policy is not None:
            changes["protect_from_scale_in"] = bool(policy.get("protectFromScaleIn", False))
            changes["protect_from_scale_set_actions"] = bool(
                policy.get("protectFromScaleSetActions", False)
            )
        self._touch(vm, **changes)
        self._hold(op, self.timings.noop)
        return op
