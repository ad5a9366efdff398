"""A scale set's lifecycle: create, model update (PUT/PATCH with ETags), delete."""

from __future__ import annotations

import copy
from typing import Any

from vmssdash.sim.errors import (
    SimError,
    conflict_concurrent,
    invalid_parameter,
    precondition_failed,
)
from vmssdash.sim.world.model import (
    Operation,
    ScaleSet,
    fill_upgrade_policy,
    merge_patch,
    writable_properties,
)
from vmssdash.sim.world.rolling import RollingUpgrades
from vmssdash.sim.world.scaling import Scaling


class World(RollingUpgrades, Scaling):
    """Everything the simulator knows, plus the event queue that moves it forward."""

    def check_etag(
        self, vmss: ScaleSet | None, if_match: str | None, if_none_match: str | None
    ) -> None:
        current = f'"{vmss.etag}"' if vmss else None
        if if_match is not None:
            provided = if_match.strip()
            if vmss is None or (provided != "*" and provided.removeprefix("W/") != current):
                raise precondition_failed(provided, current or '""')
        if if_none_match is not None and vmss is not None:
            provided = if_none_match.strip()
            if provided == "*" or provided == current:
                raise SimError(
                    412,
                    "PreconditionFailed",
                    f"Etag provided in if-none-match header {provided} matches etag "
                    f"{current} of resource.",
                )

    def update_model(self, vmss: ScaleSet, body: dict[str, Any], *, replace: bool) -> Operation:
        """PATCH (merge) or PUT (replace) of an existing scale set's model."""
        if vmss.deleting:
            raise conflict_concurrent()
        if vmss.model_op and not vmss.model_op.done:
            raise conflict_concurrent()
        props = copy.deepcopy(vmss.properties)
        incoming = body.get("properties")
        if incoming is not None and not isinstance(incoming, dict):
            raise invalid_parameter("The value of parameter properties is invalid.", "properties")
        incoming = writable_properties(incoming or {})
        if replace:
            new_props = copy.deepcopy(incoming)
            for key in ("orchestrationMode", "platformFaultDomainCount", "singlePlacementGroup"):
                if key in props and key not in new_props:
                    new_props[key] = props[key]
            if "virtualMachineProfile" not in new_props:
                raise invalid_parameter(
                    "Required parameter 'virtualMachineProfile' is missing (null).",
                    "virtualMachineProfile",
                )
        else:
            new_props = props
            merge_patch(new_props, incoming)
        fill_upgrade_policy(new_props)
        vmp = new_props.get("virtualMachineProfile") or {}
        storage = vmp.get("storageProfile") or {}
        self.catalog.validate(
            vmss.location, storage.get("imageReference"), storage.get("osDisk") or {}
        )
        sku = dict(vmss.sku)
        if isinstance(body.get("sku"), dict):
            sku.update({k: v for k, v in body["sku"].items() if v is not None})
        capacity = sku.get("capacity", len(vmss.vms))
        if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 1000:
            raise invalid_parameter(
                f"The value {capacity} of parameter 'sku.capacity' is out of range. The value "
                "must be between 0 and 1000, inclusive.",
                "sku.capacity",
            )
        # Accepted: apply.
        changed = new_props.get("virtualMachineProfile") != vmss.properties.get(
            "virtualMachineProfile"
        )
        vmss.properties = new_props
        vmss.sku = sku
        if isinstance(body.get("tags"), dict):
            vmss.tags = {str(k): str(v) for k, v in body["tags"].items()}
        vmss.etag += 1
        if changed:
            vmss.model_gen += 1
            vmss.profiles[vmss.model_gen] = copy.deepcopy(new_props["virtualMachineProfile"])
            for vm in vmss.vms.values():
                vm.rev += 1
        op = self.new_operation("update", vmss)
        vmss.model_op = op
        vmss.updating_ops += 1

        def finished(_op: Operation) -> None:
            vmss.updating_ops -= 1

        op.on_finish.append(finished)
        self._hold(op, self.timings.model_update * self._jitter())
        self._scale_to(vmss, capacity, op)
        if changed:
            mode = vmss.upgrade_mode
            if mode == "Automatic":
                for vm in vmss.sorted_vms():
                    if vm.applied_gen != vmss.model_gen and not vm.busy:
                        self.run_vm_job(vmss, vm, "upgrade")
            elif mode == "Rolling" and not (vmss.rolling and vmss.rolling.running):
                self.start_rolling_upgrade(vmss, operation=None)
        return op

    def create_scale_set(
        self, subscription: str, resource_group: str, name: str, body: dict[str, Any]
    ) -> tuple[ScaleSet, Operation]:
        """PUT of a scale set that does not exist yet."""
        rg = self.resource_groups.get((subscription.lower(), resource_group.lower()))
        if rg is None:
            raise SimError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{resource_group}' could not be found.",
            )
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise invalid_parameter("Required parameter 'location' is missing (null).", "location")
        props = writable_properties(body.get("properties") or {})
        if "virtualMachineProfile" not in props:
            raise invalid_parameter(
                "Required parameter 'virtualMachineProfile' is missing (null).",
                "virtualMachineProfile",
            )
        fill_upgrade_policy(props)
        props.setdefault("orchestrationMode", "Uniform")
        props.setdefault("overprovision", True)
        props.setdefault("singlePlacementGroup", True)
        props.setdefault("platformFaultDomainCount", 1 if body.get("zones") else 5)
        storage = props["virtualMachineProfile"].get("storageProfile") or {}
        self.catalog.validate(location, storage.get("imageReference"), storage.get("osDisk") or {})
        sku = dict(body.get("sku") or {"name": "Standard_D2s_v5", "tier": "Standard"})
        capacity = int(sku.get("capacity", 2))
        sku["capacity"] = capacity
        vmss = ScaleSet(
            subscription=subscription,
            resource_group=rg.name,
            name=name,
            location=location.lower().replace(" ", ""),
            sku=sku,
            properties=props,
            unique_id=self.uuid(),
            time_created=self.now,
            zones=[str(z) for z in body.get("zones") or []],
            tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
        )
        vmss.profiles[1] = copy.deepcopy(props["virtualMachineProfile"])
        self.add_scale_set(vmss)
        op = self.new_operation("create", vmss)
        vmss.model_op = op
        vmss.updating_ops += 1
        op.on_finish.append(lambda _o: setattr(vmss, "updating_ops", vmss.updating_ops - 1))
        self._hold(op, self.timings.model_update)
        self._scale_to(vmss, capacity, op)
        return vmss, op

    def delete_scale_set(self, vmss: ScaleSet) -> Operation:
        if vmss.deleting:
            raise conflict_concurrent()
        vmss.deleting = True
        if vmss.rolling and vmss.rolling.running:
            self._end_rolling(vmss, "Cancelled", "Cancel")
        op = self.new_operation("delete", vmss)
        self._hold(op, self.timings.delete)
        for vm in vmss.sorted_vms():
            vm.busy = None
            self._attach(op, vmss, vm, "delete")

        def gone(_op: Operation) -> None:
            self.scale_sets.pop(vmss.key, None)

        op.on_finish.append(gone)
        return op
