"""Capacity: where a new VM goes, and which VMs leave first on scale-in."""

from __future__ import annotations

from typing import Any

from vmssdash.sim.world.model import Operation, ScaleSet, Vm, computer_name
from vmssdash.sim.world.vm_jobs import VmJobs


class Scaling(VmJobs):
    """Changing a scale set's capacity."""

    def place_vm(self, vmss: ScaleSet) -> Vm:
        """A new VM on the least-populated zone, update domain and fault domain, in turn."""
        vms = list(vmss.vms.values())
        zone: str | None = None
        if vmss.zones:
            zone = min(
                vmss.zones, key=lambda z: (sum(1 for v in vms if v.zone == z), vmss.zones.index(z))
            )
            peers = [v for v in vms if v.zone == zone]
        else:
            peers = vms
        ud = min(range(vmss.ud_count), key=lambda u: (sum(1 for v in peers if v.ud == u), u))
        fd_count = vmss.fd_count
        fd = min(range(fd_count), key=lambda f: (sum(1 for v in peers if v.fd == f), f))
        pg = self._placement_group_for(vmss)
        iid = vmss.next_instance_id
        vmss.next_instance_id += 1
        prefix = vmss.profile.get("osProfile", {}).get("computerNamePrefix") or vmss.name[:9]
        vm = Vm(
            instance_id=iid,
            ud=ud,
            fd=fd,
            zone=zone,
            placement_group=pg,
            vm_id=self.uuid(),
            computer_name=computer_name(prefix, iid),
            applied_gen=vmss.model_gen,
            exact_version=self.catalog.resolve(
                vmss.location, vmss.profile.get("storageProfile", {}).get("imageReference")
            ),
            time_created=self.now,
            disk_suffix=self.uuid().replace("-", "")[:32],
            prov_time=self.now,
        )
        vmss.vms[iid] = vm
        return vm

    def _placement_group_for(self, vmss: ScaleSet) -> str:
        groups: dict[str, int] = {}
        for v in vmss.vms.values():
            groups[v.placement_group] = groups.get(v.placement_group, 0) + 1
        if vmss.properties.get("singlePlacementGroup", True) is not False:
            return next(iter(groups), None) or self.uuid()
        for pg, count in sorted(groups.items()):
            if count < 100:
                return pg
        return self.uuid()

    def _scale_to(self, vmss: ScaleSet, capacity: int, op: Operation | None) -> None:
        live = [v for v in vmss.sorted_vms() if v.provisioning != "Deleting"]
        if capacity > len(live):
            for _ in range(capacity - len(live)):
                vm = self.place_vm(vmss)
                if op is not None:
                    self._attach(op, vmss, vm, "create")
                else:
                    self.run_vm_job(vmss, vm, "create")
        elif capacity < len(live):
            victims = self._scale_in_order(vmss, live)[: len(live) - capacity]
            for vm in victims:
                vm.busy = None
                if op is not None:
                    self._attach(op, vmss, vm, "delete")
                else:
                    self.run_vm_job(vmss, vm, "delete")

    def _scale_in_order(self, vmss: ScaleSet, live: list[Vm]) -> list[Vm]:
        """Default scale-in policy: balance zones/fault domains, then highest id first."""
        candidates = [v for v in live if not v.protect_from_scale_in]
        remaining = list(candidates)
        order: list[Vm] = []
        counts: dict[Any, int] = {}
        for v in live:
            key = v.zone if vmss.zones else v.fd
            counts[key] = counts.get(key, 0) + 1
        while remaining:

            def rank(v: Vm) -> tuple[int, int]:
                key = v.zone if vmss.zones else v.fd
                return (counts.get(key, 0), v.instance_id)

            pick = max(remaining, key=rank)
            remaining.remove(pick)
            order.append(pick)
            key = pick.zone if vmss.zones else pick.fd
            counts[key] -= 1
        return order
