"""Flexible scale sets: their members are plain VMs, read through the VM API.

On a Flexible set the scale-set VM API is Uniform's: ``$expand=instanceView`` on its VM
list and any per-instance call by name answer 400 (reference: flexible-and-fleet.md). The
members are listed with ``GET …/resourceGroups/{rg}/providers/Microsoft.Compute/
virtualMachines?$filter='virtualMachineScaleSet/id' eq '{id}'&$expand=instanceView`` and
read one by one with ``GET …/virtualMachines/{name}``. Their ids are their names, which is
also what ``manualupgrade`` takes for a Flexible set.

The plain VM schema has no ``latestModelApplied``, so a member is stale when its
``storageProfile.imageReference`` names another image than the scale set's model (the
identity fields only: ``exactVersion`` is what ``latest`` resolved to, not the model). A
VM without an image reference, or a model without one, stays "unknown": never a target.
There are no update domains; the fault domain is ``properties.platformFaultDomain`` (set
only when the set spreads over 2 or 3 of them) or the instance view's.
"""

from __future__ import annotations

import re
from typing import Any

from vmssdash.azure.models.scaleset import IMAGE_KEYS, ImageReference, ScaleSet

FLEXIBLE = "flexible"
#: A VM name as Azure allows it (1-64 letters, digits, ``_ . -``): anything else in an
#: instance id list came from a malformed answer and is never sent. A bare number is a
#: Uniform instance id mixed up with a Flexible set, never a member's name here.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def is_flexible(scale_set: ScaleSet | None) -> bool:
    if scale_set is None:
        return False
    return (scale_set.properties.orchestration_mode or "").lower() == FLEXIBLE


def is_member_name(text: str) -> bool:
    return bool(_NAME.match(text)) and not text.isdigit()


def members_path(subscription: str, resource_group: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        "/providers/Microsoft.Compute/virtualMachines"
    )


def members_params(scale_set_id: str) -> dict[str, str]:
    """The documented form: the filter names the property in quotes, the expand needs it."""
    return {
        "$filter": f"'virtualMachineScaleSet/id' eq '{scale_set_id}'",
        "$expand": "instanceView",
    }


def image_identity(image: Any) -> tuple[str, ...] | None:
    """What names an image (lower case), or None when ``image`` names none: the value
    compared for staleness, here and in the fleet's Resource Graph rows."""
    if not isinstance(image, dict):
        return None
    values = tuple(str(image.get(k) or "").lower() for k in IMAGE_KEYS)
    return values if any(values) else None


def _model_identity(ref: ImageReference | None) -> tuple[str, ...] | None:
    return None if ref is None else image_identity(ref.model_dump(by_alias=True))


def as_scale_set_vm(item: Any, model: ScaleSet | None) -> Any:
    """A member in the shape ``ScaleSetVM`` reads: ``instanceId`` is the VM's name,
    ``latestModelApplied`` the image comparison, the fault domain in the instance view.

    Works on a copy (the original stays the VM's ``raw``); a non-dict is handed back for
    the caller's "unreadable" path."""
    if not isinstance(item, dict):
        return item
    out = dict(item)
    name = item.get("name")
    if isinstance(name, str) and name:
        out["instanceId"] = name
    props = item.get("properties")
    if not isinstance(props, dict):
        return out
    props = dict(props)
    out["properties"] = props
    if "latestModelApplied" not in props:
        storage = props.get("storageProfile")
        mine = image_identity(storage.get("imageReference")) if isinstance(storage, dict) else None
        wanted = _model_identity(model.image_reference if model else None)
        if mine is not None and wanted is not None:
            props["latestModelApplied"] = mine == wanted
    fault_domain = props.get("platformFaultDomain")
    view = props.get("instanceView")
    if isinstance(fault_domain, int) and isinstance(view, dict):
        props["instanceView"] = {"platformFaultDomain": fault_domain, **view}
    return out
