"""The route table: method and lower-cased path segments to a handler and its
throttling operation class.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmssdash.sim.arm.context import Handler
from vmssdash.sim.arm.h_scale_sets import (
    h_extension_rolling_upgrade,
    h_os_rolling_upgrade,
    h_os_upgrade_history,
    h_rolling_cancel,
    h_rolling_latest,
    h_vmss_action,
    h_vmss_delete,
    h_vmss_get,
    h_vmss_instance_view,
    h_vmss_list_all,
    h_vmss_list_rg,
    h_vmss_patch,
    h_vmss_put,
)
from vmssdash.sim.arm.h_tenant import (
    h_image_versions,
    h_operation,
    h_resource_group,
    h_resource_groups,
    h_subscription,
    h_subscriptions,
)
from vmssdash.sim.arm.h_vms import (
    h_vm_action,
    h_vm_delete,
    h_vm_get,
    h_vm_instance_view,
    h_vm_list,
    h_vm_put,
)

VMSS_ACTIONS = (
    "manualupgrade",
    "reimage",
    "reimageall",
    "restart",
    "start",
    "poweroff",
    "deallocate",
    "delete",
)
VM_ACTIONS = ("restart", "start", "poweroff", "deallocate", "reimage", "reimageall")

# --------------------------------------------------------------------------- routing

_VMSS_ACTION_CLASS = {a: "vmss_action" for a in VMSS_ACTIONS}


@dataclass
class Route_:
    handler: Handler
    op_class: str
    compute: bool


def resolve(method: str, low: list[str]) -> Route_ | None:
    """Map a request onto its handler by lower-cased path segments."""
    n = len(low)
    if n == 0 or low[0] != "subscriptions":
        return None
    if n == 1:
        return Route_(h_subscriptions, "arm", False) if method == "GET" else None
    if n == 2:
        return Route_(h_subscription, "arm", False) if method == "GET" else None
    if n == 3 and low[2] == "resourcegroups":
        return Route_(h_resource_groups, "arm", False) if method == "GET" else None
    if n == 4 and low[2] == "resourcegroups":
        return Route_(h_resource_group, "arm", False) if method == "GET" else None
    # Subscription-level Compute routes
    if n >= 5 and low[2] == "providers" and low[3] == "microsoft.compute":
        if n == 5 and low[4] == "virtualmachinescalesets" and method == "GET":
            return Route_(h_vmss_list_all, "vmss_list", True)
        if n >= 6 and low[4] == "locations":
            if n == 7 and low[6] == "virtualmachinescalesets" and method == "GET":
                return Route_(h_vmss_list_all, "vmss_list", True)
            if n == 8 and low[6] == "operations" and method == "GET":
                return Route_(h_operation, "operation", True)
            if (
                n in (15, 16)
                and method == "GET"
                and low[6] == "publishers"
                and low[8] == "artifacttypes"
                and low[9] == "vmimage"
                and low[10] == "offers"
                and low[12] == "skus"
                and low[14] == "versions"
            ):
                return Route_(h_image_versions, "arm", True)
        return None
    # Resource-group Compute routes
    if not (
        n >= 7
        and low[2] == "resourcegroups"
        and low[4] == "providers"
        and low[5] == "microsoft.compute"
        and low[6] == "virtualmachinescalesets"
    ):
        return None
    if n == 7:
        return Route_(h_vmss_list_rg, "vmss_list", True) if method == "GET" else None
    if n == 8:
        return {
            "GET": Route_(h_vmss_get, "vmss_get", True),
            "PUT": Route_(h_vmss_put, "vmss_write", True),
            "PATCH": Route_(h_vmss_patch, "vmss_write", True),
            "DELETE": Route_(h_vmss_delete, "vmss_delete", True),
        }.get(method)
    tail = low[8:]
    if n == 9:
        if tail[0] == "instanceview" and method == "GET":
            return Route_(h_vmss_instance_view, "vmss_get", True)
        if tail[0] == "virtualmachines" and method == "GET":
            return Route_(h_vm_list, "vm_list", True)
        if tail[0] == "osupgradehistory" and method == "GET":
            return Route_(h_os_upgrade_history, "vmss_get", True)
        if method == "POST":
            if tail[0] in VMSS_ACTIONS:
                return Route_(h_vmss_action, _VMSS_ACTION_CLASS[tail[0]], True)
            if tail[0] == "osrollingupgrade":
                return Route_(h_os_rolling_upgrade, "vmss_rolling", True)
            if tail[0] == "extensionrollingupgrade":
                return Route_(h_extension_rolling_upgrade, "vmss_rolling", True)
        return None
    if n == 10 and tail[0] == "rollingupgrades":
        if tail[1] == "latest" and method == "GET":
            return Route_(h_rolling_latest, "vmss_get", True)
        if tail[1] == "cancel" and method == "POST":
            return Route_(h_rolling_cancel, "vmss_rolling", True)
        return None
    if tail[0] != "virtualmachines":
        return None
    if n == 10:
        if method == "GET":
            return Route_(h_vm_get, "vm_get", True)
        if method == "DELETE":
            return Route_(h_vm_delete, "vm_delete", True)
        if method == "PUT":
            return Route_(h_vm_put, "vmss_action", True)
        return None
    if n == 11:
        if tail[2] == "instanceview" and method == "GET":
            return Route_(h_vm_instance_view, "vm_get", True)
        if tail[2] in VM_ACTIONS and method == "POST":
            klass = "vm_delete" if tail[2] in ("poweroff", "deallocate") else "vm_action"
            return Route_(h_vm_action, klass, True)
    return None
