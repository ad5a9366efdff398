"""Rolling upgrades: batches by update domain, health gates, pause, cancel."""

from __future__ import annotations

import copy
from typing import Any

from vmssdash.sim.errors import SimError
from vmssdash.sim.world.model import Operation, RollingUpgrade, ScaleSet, Vm, parse_iso_duration
from vmssdash.sim.world.vm_jobs import VmJobs


class RollingUpgrades(VmJobs):
    """The service-side rolling upgrade of a scale set (reference §5)."""

    def _rolling_targets(self, vmss: ScaleSet) -> list[Vm]:
        ref = vmss.profile.get("storageProfile", {}).get("imageReference")
        newest = self.catalog.resolve(vmss.location, ref)
        return [
            vm
            for vm in vmss.sorted_vms()
            if vm.provisioning != "Deleting"
            and not vm.protect_from_scale_set_actions
            and (vm.applied_gen != vmss.model_gen or vm.exact_version != newest)
        ]

    def _vm_unhealthy(self, vm: Vm) -> bool:
        return (
            vm.provisioning == "Failed"
            or vm.power not in ("running", None)
            or vm.health in ("unhealthy", "unknown")
        )

    def start_rolling_upgrade(
        self, vmss: ScaleSet, *, operation: Operation | None
    ) -> RollingUpgrade:
        """Server-side rolling upgrade: batches by UD (and zone), health-gated."""
        policy = copy.deepcopy(vmss.properties["upgradePolicy"]["rollingUpgradePolicy"])
        targets = self._rolling_targets(vmss)
        n_total = max(1, len(vmss.vms))
        size = (
            1 if n_total <= 5 else max(1, n_total * int(policy["maxBatchInstancePercent"]) // 100)
        )
        if policy.get("prioritizeUnhealthyInstances"):
            targets.sort(key=lambda v: (not self._vm_unhealthy(v),))
        cross_zone = bool(policy.get("enableCrossZoneUpgrade"))

        def group_key(v: Vm) -> tuple[Any, ...]:
            zone = "" if cross_zone or v.zone is None else v.zone
            return (zone, v.ud)

        groups: dict[tuple[Any, ...], list[Vm]] = {}
        for vm in targets:
            groups.setdefault(group_key(vm), []).append(vm)
        batches: list[list[int]] = []
        prioritize = bool(policy.get("prioritizeUnhealthyInstances"))

        def group_order(k: tuple[Any, ...]) -> tuple[Any, ...]:
            sick = prioritize and any(self._vm_unhealthy(v) for v in groups[k])
            return (not sick, k[0], k[1])

        for key in sorted(groups, key=group_order):
            members = groups[key]
            for i in range(0, len(members), size):
                batches.append([v.instance_id for v in members[i : i + size]])
        ru = RollingUpgrade(
            policy=policy,
            start=self.now,
            operation=operation,
            batches=batches,
            total=len(targets),
            last_action_time=self.now,
            started_by="User" if operation is not None else "Platform",
            target_image=copy.deepcopy(
                vmss.profile.get("storageProfile", {}).get("imageReference") or {}
            ),
        )
        vmss.rolling = ru
        vmss.rolling_history.append(ru)
        if not batches:
            self._end_rolling(vmss, "Completed", None)
        else:
            self.schedule(0.0, lambda: self._next_batch(vmss, ru))
        return ru

    def _end_rolling(
        self, vmss: ScaleSet, code: str, action: str | None, error: dict[str, Any] | None = None
    ) -> None:
        ru = vmss.rolling
        if ru is None or not ru.running:
            return
        ru.code = code
        ru.end = self.now
        ru.error = error
        if action:
            ru.last_action = action
            ru.last_action_time = self.now
        if ru.operation is not None:
            if code == "Faulted":
                self.finish_operation(ru.operation, "Failed", error)
            else:
                self.finish_operation(ru.operation, "Succeeded")

    def _next_batch(self, vmss: ScaleSet, ru: RollingUpgrade) -> None:
        if vmss.rolling is not ru or not ru.running:
            return
        if not ru.batches:
            self._end_rolling(vmss, "Completed", None)
            return
        batch_ids = ru.batches.pop(0)
        batch = [vmss.vms[i] for i in batch_ids if i in vmss.vms]
        n_total = max(1, len(vmss.vms))
        unhealthy_now = sum(
            1 for v in vmss.vms.values() if v.instance_id not in batch_ids and self._vm_unhealthy(v)
        )
        limit = n_total * int(ru.policy["maxUnhealthyInstancePercent"]) / 100
        if unhealthy_now + len(batch) > limit and unhealthy_now + 1 > limit:
            pct = round(100 * unhealthy_now / n_total)
            self._end_rolling(
                vmss,
                "Faulted",
                None,
                {
                    "code": "MaxUnhealthyInstancePercentExceededBeforeRollingUpgrade",
                    "message": (
                        f"Rolling Upgrade failed after exceeding the MaxUnhealthyInstancePercent "
                        f"value defined in the RollingUpgradePolicy. {pct}% of instances are in "
                        "an unhealthy state - more than the threshold of "
                        f"{ru.policy['maxUnhealthyInstancePercent']}% configured in the "
                        "RollingUpgradePolicy."
                    ),
                },
            )
            return
        if unhealthy_now + len(batch) > limit:
            # Unhealthy instances shrink the batch; the rest waits for the next one.
            keep = max(1, int(limit - unhealthy_now))
            ru.batches.insert(0, [v.instance_id for v in batch[keep:]])
            batch = batch[:keep]
        if not batch:
            self.schedule(0.0, lambda: self._next_batch(vmss, ru))
            return
        ru.in_progress = len(batch)
        remaining = {v.instance_id for v in batch}
        results: dict[int, bool] = {}

        def settled(vm: Vm, ok: bool) -> None:
            if vm.instance_id not in remaining:
                return
            remaining.discard(vm.instance_id)
            results[vm.instance_id] = ok
            ru.in_progress -= 1
            ru.upgraded += 1
            if ok:
                ru.successful += 1
            else:
                ru.failed += 1
            if not remaining:
                self._batch_done(vmss, ru)

        for vm in batch:
            if vm.busy:
                settled(vm, not self._vm_unhealthy(vm))
                continue
            self.run_vm_job(vmss, vm, "upgrade", on_settled=settled)

    def _batch_done(self, vmss: ScaleSet, ru: RollingUpgrade) -> None:
        if vmss.rolling is not ru or not ru.running:
            return
        threshold = int(ru.policy["maxUnhealthyUpgradedInstancePercent"])
        if ru.upgraded and 100 * ru.failed / ru.upgraded > threshold:
            pct = round(100 * ru.failed / ru.upgraded)
            self._end_rolling(
                vmss,
                "Faulted",
                None,
                {
                    "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
                    "message": (
                        "Rolling Upgrade failed after exceeding the "
                        "MaxUnhealthyUpgradedInstancePercent value defined in the "
                        f"RollingUpgradePolicy. {pct}% of instances are in an unhealthy state "
                        "after being upgraded - more than the threshold of "
                        f"{threshold}% configured in the RollingUpgradePolicy. The most "
                        "impactful error is:  Instance found to be unhealthy or unreachable. "
                        "For details on rolling upgrades, use http://aka.ms/AzureVMSSRollingUpgrade"
                    ),
                },
            )
            return
        if not ru.batches:
            self._end_rolling(vmss, "Completed", None)
            return
        pause = parse_iso_duration(str(ru.policy.get("pauseTimeBetweenBatches", "PT0S")))
        self.schedule(pause, lambda: self._next_batch(vmss, ru))

    def begin_os_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        self._check_action_conflict(vmss)
        op = self.new_operation("osRollingUpgrade", vmss)
        self.start_rolling_upgrade(vmss, operation=op)
        return op

    def begin_extension_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        """Accepted and done at once: the simulated VMs carry no extension versions."""
        self._check_action_conflict(vmss)
        op = self.new_operation("extensionRollingUpgrade", vmss)
        self.finish_operation(op, "Succeeded")
        return op

    def cancel_rolling_upgrade(self, vmss: ScaleSet) -> Operation:
        if not (vmss.rolling and vmss.rolling.running):
            raise SimError(
                409, "OperationNotAllowed", "There is no ongoing Rolling Upgrade to cancel."
            )
        op = self.new_operation("rollingUpgradeCancel", vmss)
        self._end_rolling(vmss, "Cancelled", "Cancel")
        self.finish_operation(op, "Succeeded")
        return op
