"""`make screenshots`: SVG + PNG of the main screen, made from the demo scenario.

The simulator runs in-process on loopback with a manual clock, so the pictures are
reproducible and contain no real resource names. One upgrade is started and the clock
moved so the heatmap shows stale, updating and up-to-date cells at once.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.plugins.sim import scale_set_id
from vmssdash.azure.client import ArmClient
from vmssdash.azure.scaleset import ScaleSetApi
from vmssdash.core.words import who
from vmssdash.sim.app import create_app
from vmssdash.sim.server import serve_in_thread
from vmssdash.ui.app import VmssDashApp

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (120, 36)


def _to_png(svg: Path, width: int) -> Path | None:
    png = svg.with_suffix(".png")
    try:
        import cairosvg  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: libcairo2 missing
        print(f"  (no PNG for {svg.name}: cairosvg unavailable: {exc})")
        return None
    cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=width * 12)
    return png


MARK_TWO = ("down", "down", "right", "space", "right", "space")


async def _shoot(
    base_url: str,
    name: str,
    stem: str,
    *,
    theme: str | None = None,
    upgrade_ud: int | None = None,
    size: tuple[int, int] = SIZE,
    keys: tuple[str, ...] = MARK_TWO,
) -> list[Path]:
    client = ArmClient(base_url, poll_interval=0.05)
    api = ScaleSetApi(client, scale_set_id(name))
    app = VmssDashApp(
        api,
        identity="operator@contoso.example",
        clock=lambda: 100.0,
        timestamp=lambda: "14:02:07",
        live=False,
    )
    if theme:
        app.theme = theme
    written: list[Path] = []
    async with app.run_test(size=size) as pilot:
        snap = await app.refresh_snapshot()
        if upgrade_ud is not None:
            ids = [
                vm.instance_id
                for vm in snap.vms
                if vm.update_domain == upgrade_ud and vm.latest_model is False
            ]
            if ids:
                operation = await api.begin_manual_upgrade(ids)
                app.log_activity(
                    f"manualupgrade of {who(ids)} requested"
                )  # as start_operation logs
                async with httpx.AsyncClient(base_url=base_url) as http:
                    await http.post("/_sim/clock/advance", json={"seconds": 4})
                await operation.poll()
                await app.refresh_snapshot()
        await pilot.press(*keys)
        await pilot.pause()
        svg = OUT / f"{stem}.svg"
        svg.write_text(app.export_screenshot(title="vmssdash"), encoding="utf-8")
        written.append(svg)
        png = _to_png(svg, size[0])
        if png:
            written.append(png)
    return written


async def _main() -> list[Path]:
    OUT.mkdir(exist_ok=True)
    written: list[Path] = []
    with serve_in_thread(create_app("demo", manual_clock=True, seed=0, faults="off")) as server:
        written += await _shoot(server.base_url, "vmss-web", "main", upgrade_ud=3)
    with serve_in_thread(create_app("demo", manual_clock=True, seed=0, faults="off")) as server:
        written += await _shoot(server.base_url, "vmss-web", "main-okabe-ito", theme="okabe-ito")
    with serve_in_thread(create_app("large", manual_clock=True, seed=0, faults="off")) as server:
        # The dense layout (D): all 1,000 VMs on one 160x48 screen.
        written += await _shoot(
            server.base_url, "vmss-large", "large", size=(160, 48), keys=("D", "down", "space")
        )
    return written


def main() -> int:
    for path in asyncio.run(_main()):
        print(path.relative_to(OUT.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
