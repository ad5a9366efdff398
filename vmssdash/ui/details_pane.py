"""The pane with everything known about the VM under the cursor (a ``TextPane``)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.style import Style
from rich.text import Text

from vmssdash.core.state import VmInfo
from vmssdash.ui.panes import TextPane

PORTAL = "https://portal.azure.com/#@/resource"


def portal_link(resource_id: str) -> str:
    return f"{PORTAL}{resource_id}"


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


class DetailsPane(TextPane):
    """Everything known about the VM under the cursor."""

    DEFAULT_CSS = "DetailsPane { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.vm: VmInfo | None = None
        self.model_image: str = ""

    def show(self, vm: VmInfo | None, model_image: str = "") -> None:
        # The app shows the cursor's VM after each snapshot and again when the heatmap
        # reports the cursor's VM changed: the second call has nothing new.
        if vm is self.vm and model_image == self.model_image and self._strips:
            return
        self.vm = vm
        self.model_image = model_image
        self._changed()

    def build(self, width: int) -> Text:
        vm = self.vm
        key = self.component_style("pane--key")
        muted = self.component_style("pane--muted")
        if vm is None:
            return Text("no VM under the cursor", muted)
        text = Text()
        text.append(vm.state.glyph + " ", self.state_style(vm.state))
        text.append(vm.state.label, self.state_style(vm.state))
        if vm.failure_code:
            text.append(f" ({vm.failure_code})")
        if vm.unreadable:
            text.append(f"\nunreadable: {vm.unreadable}")
        rows: list[tuple[str, str]] = [
            ("instance", vm.instance_id),
            ("name", vm.name),
            ("computer", vm.computer_name or "-"),
            ("UD/FD", f"{_opt(vm.update_domain)} / {_opt(vm.fault_domain)}"),
            ("zone", vm.zone or "-"),
            ("PG", vm.placement_group or "-"),
            ("power", vm.power_display or vm.power_state or "-"),
            ("provision", vm.provisioning_display or vm.provisioning_state or "-"),
            ("since", _short_time(vm.provisioning_time)),
            ("health", vm.health or "not reported"),
            ("latest", _yes_no(vm.latest_model)),
            ("runs", vm.image_version or "unknown"),
            ("model", self.model_image or "-"),
            (
                "protect",
                ", ".join(
                    p
                    for p, on in (
                        ("scale-set actions", vm.protected_from_scale_set_actions),
                        ("scale-in", vm.protected_from_scale_in),
                    )
                    if on
                )
                or "none",
            ),
        ]
        for label, value in rows:
            text.append(f"\n{label:<10}", key)
            text.append(value)
        if vm.resource_id:
            text.append("\nportal ", key)
            link = portal_link(vm.resource_id)
            text.append(link, Style(link=link, underline=True))
        return text


def _short_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if when.tzinfo else "")


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)
