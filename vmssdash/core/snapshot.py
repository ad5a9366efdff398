"""An immutable picture of one scale set at one refresh.

Everything the UI draws comes from a ``ScaleSetSnapshot`` plus the selection, so a
refresh is a pure replacement and a widget can diff two snapshots to repaint only
the cells that changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from vmssdash.azure.flexible import is_flexible
from vmssdash.azure.models.scaleset import ScaleSet
from vmssdash.azure.models.vm import ScaleSetVM
from vmssdash.core.state import VmInfo, VmState, classify


class Grouping(Enum):
    """How heatmap rows are formed; ``next`` is the order ``g`` cycles through.

    A Flexible set has no update domains: its rows are zone × fault domain (just zone
    when it spreads over one fault domain, as Azure leaves ``platformFaultDomain`` unset
    then), and ``g`` cycles through the groupings it has."""

    UPDATE_DOMAIN = "update domain"
    FAULT_DOMAIN = "fault domain"
    ZONE = "zone"
    ZONE_FAULT_DOMAIN = "zone × fault domain"

    @property
    def short(self) -> str:
        return {
            "update domain": "UD",
            "fault domain": "FD",
            "zone": "zone",
            "zone × fault domain": "zone×FD",
        }[self.value]

    def next(self, *, flexible: bool = False) -> Grouping:
        members = list(Grouping)
        members.remove(Grouping.UPDATE_DOMAIN if flexible else Grouping.ZONE_FAULT_DOMAIN)
        if self not in members:
            return members[0]
        return members[(members.index(self) + 1) % len(members)]

    def key_of(self, vm: VmInfo) -> str | int | None:
        if self is Grouping.UPDATE_DOMAIN:
            return vm.update_domain
        if self is Grouping.FAULT_DOMAIN:
            return vm.fault_domain
        if self is Grouping.ZONE_FAULT_DOMAIN:
            parts = [f"zone {vm.zone}" if vm.zone is not None else ""]
            parts.append(f"FD {vm.fault_domain}" if vm.fault_domain is not None else "")
            return " ".join(p for p in parts if p) or None
        return vm.zone


@dataclass(frozen=True, slots=True)
class Group:
    """One heatmap row: the VMs of one domain (within one placement group)."""

    label: str
    key: str | int | None
    placement_group: str | None
    vms: tuple[VmInfo, ...]


def describe_image(scale_set: ScaleSet) -> str:
    """One line naming the model's image, whatever form it takes."""
    ref = scale_set.image_reference
    if ref is not None:
        if ref.id:
            return ref.id.rsplit("/providers/", 1)[-1] if "/providers/" in ref.id else ref.id
        if ref.shared_gallery_image_id:
            return ref.shared_gallery_image_id
        if ref.community_gallery_image_id:
            return ref.community_gallery_image_id
        if ref.publisher or ref.offer:
            return f"{ref.publisher}:{ref.offer}:{ref.sku}:{ref.version}"
    uri = scale_set.os_disk_image_uri
    return uri or "(no image)"


@dataclass(frozen=True)
class ScaleSetSnapshot:
    scale_set: ScaleSet
    vms: tuple[VmInfo, ...]
    taken_at: float = 0.0
    by_id: Mapping[str, VmInfo] = field(init=False, repr=False, compare=False)
    _counts: Counter[VmState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Both are read on every refresh by several panes: computed once, where the
        # snapshot is built (a worker thread), not on the event loop.
        object.__setattr__(self, "by_id", {vm.instance_id: vm for vm in self.vms})
        object.__setattr__(self, "_counts", Counter(vm.state for vm in self.vms))

    @classmethod
    def build(
        cls, scale_set: ScaleSet, vms: Iterable[ScaleSetVM], taken_at: float = 0.0
    ) -> ScaleSetSnapshot:
        infos = sorted((classify(vm) for vm in vms), key=lambda v: v.sort_key)
        return cls(scale_set=scale_set, vms=tuple(infos), taken_at=taken_at)

    @classmethod
    def of(
        cls, scale_set: ScaleSet, infos: Iterable[VmInfo], taken_at: float = 0.0
    ) -> ScaleSetSnapshot:
        """From readings already classified (the observer keeps one per VM)."""
        vms = tuple(sorted(infos, key=lambda v: v.sort_key))
        return cls(scale_set=scale_set, vms=vms, taken_at=taken_at)

    @property
    def flexible(self) -> bool:
        return is_flexible(self.scale_set)

    @property
    def default_grouping(self) -> Grouping:
        """Update domains for Uniform; zone × fault domain for Flexible (none has UDs)."""
        return Grouping.ZONE_FAULT_DOMAIN if self.flexible else Grouping.UPDATE_DOMAIN

    @property
    def image(self) -> str:
        return describe_image(self.scale_set)

    def counts(self) -> Counter[VmState]:
        return self._counts.copy()

    @property
    def placement_groups(self) -> list[str | None]:
        return sorted({vm.placement_group for vm in self.vms}, key=lambda p: (p is None, p or ""))

    def groups(self, grouping: Grouping = Grouping.UPDATE_DOMAIN) -> list[Group]:
        """Rows for the heatmap: per placement group (when several), per domain.

        VMs that do not report the grouping key yet (still being created) get their own
        row at the end instead of being dropped.
        """
        several_pgs = len(self.placement_groups) > 1
        buckets: dict[tuple[str | None, str | int | None], list[VmInfo]] = {}
        for vm in self.vms:
            pg = vm.placement_group if several_pgs else None
            buckets.setdefault((pg, grouping.key_of(vm)), []).append(vm)

        def order(item: tuple[str | None, str | int | None]) -> tuple[bool, str, bool, str]:
            pg, key = item
            key_text = f"{key:>6}" if isinstance(key, int) else str(key or "")
            return (pg is None and several_pgs, pg or "", key is None, key_text)

        rows: list[Group] = []
        for pg, key in sorted(buckets, key=order):
            name = f"{grouping.short} {key}" if key is not None else f"{grouping.short} ?"
            if grouping is Grouping.ZONE_FAULT_DOMAIN:
                name = str(key) if key is not None else "no zone"
            if grouping is Grouping.ZONE and key is None:
                name = "no zone"
            if several_pgs:
                name = f"{(pg or '?')[:8]} {name}"
            rows.append(
                Group(label=name, key=key, placement_group=pg, vms=tuple(buckets[(pg, key)]))
            )
        return rows

    def changed_since(self, previous: ScaleSetSnapshot | None) -> frozenset[str]:
        """Instance ids whose displayed facts differ from the previous snapshot."""
        if previous is None:
            return frozenset()
        old = previous.by_id
        return frozenset(vm.instance_id for vm in self.vms if old.get(vm.instance_id) != vm)

    def stale_ids(self) -> list[str]:
        return [vm.instance_id for vm in self.vms if vm.latest_model is False]
