"""A simulator scenario from a file: a copy of a real scale set's layout, served locally.

The named scenarios are made up. A rehearsal (``vmssdash rehearse``) needs the real
thing instead: the same instance ids in the same update domains, fault domains, zones and
placement groups, the same image and upgrade policy, the same VMs stale, and upgrade times
like the ones earlier runs measured. ``vmssdash rehearse --save FILE`` writes that as JSON
and ``vmssdash sim --scenario-file FILE`` serves it, so a plan can be tried, watched and
repeated on a copy before anything touches production.

The file (pydantic at the edge; unknown keys refused so a typo is not silently lost)::

    {"name": "...", "faults": "unhealthy=0.1", "timings": {"upgrade": 45, "upgrade_spread": 0.3},
     "sets": [{"name": "vmss-web", "mode": "Manual", "rolling": {...}, "zones": ["1"],
               "image": {imageReference}, "old_image": {imageReference} | null,
               "health_extension": true, "single_pg": true,
               "vms": [{"id": 0, "ud": 0, "fd": 0, "zone": null, "pg": 0, "latest": false,
                        "version": "24.04.202609110", "power": "running",
                        "health": "healthy", "protected": false}]}]}
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vmssdash.sim.scenario_build import LOCATION, Scenario, SetSpec, add_scale_set
from vmssdash.sim.world import Timings, World
from vmssdash.sim.world.images import image_kind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VmFile(_Strict):
    id: int = Field(ge=0)
    ud: int = Field(default=0, ge=0)
    fd: int = Field(default=0, ge=0)
    zone: str | None = None
    pg: int = Field(default=0, ge=0)
    latest: bool = True
    version: str | None = None
    power: str = "running"
    health: str | None = "healthy"
    protected: bool = False


class SetFile(_Strict):
    name: str = Field(min_length=1)
    sku: str = "Standard_D2s_v5"
    mode: str = "Manual"
    rolling: dict[str, Any] = Field(default_factory=dict)
    zones: list[str] = Field(default_factory=list)
    fd_count: int = Field(default=5, ge=1)
    single_pg: bool = True
    image: dict[str, Any]
    old_image: dict[str, Any] | None = None
    health_extension: bool = True
    vms: list[VmFile] = Field(min_length=1)


class ScenarioFile(_Strict):
    name: str = "file"
    description: str = ""
    faults: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    sets: list[SetFile] = Field(min_length=1)


def load(path: Path) -> FileScenario:
    """The scenario in ``path``; ValueError with one line naming what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read scenario file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"scenario file {path} is not JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    return from_json(data, source=str(path))


def from_json(data: object, *, source: str = "scenario") -> FileScenario:
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{source}: {where}: {first['msg']}") from None
    known = {f.name for f in dataclasses.fields(Timings)}
    unknown = sorted(set(parsed.timings) - known)
    if unknown:
        raise ValueError(
            f"{source}: timings: unknown {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return FileScenario(
        name=parsed.name,
        description=parsed.description or f"from {source}",
        sets=(),
        faults=parsed.faults,
        timings=Timings(**parsed.timings),
        file=parsed,
    )


@dataclasses.dataclass(frozen=True)
class FileScenario(Scenario):
    file: ScenarioFile | None = None

    def build(self, world: World) -> None:
        super().build(world)  # the shared base: subscription, resource group, catalog
        for spec in self.file.sets if self.file else []:
            _add_set(world, spec)


def _add_set(world: World, spec: SetFile) -> None:
    _register_images(world, spec)
    vmss = add_scale_set(
        world,
        SetSpec(
            name=spec.name,
            count=len(spec.vms),
            image=spec.image,
            old_image=spec.old_image,
            mode=spec.mode,
            rolling=spec.rolling,
            zones=tuple(spec.zones),
            fd_count=spec.fd_count,
            ud_count=max(v.ud for v in spec.vms) + 1,
            single_pg=spec.single_pg,
            sku=spec.sku,
        ),
    )
    vmss.health_reporting = spec.health_extension
    current = world.catalog.resolve(LOCATION, spec.image)
    old = world.catalog.resolve(LOCATION, spec.old_image) if spec.old_image else current
    templates = vmss.sorted_vms()
    pgs = sorted({t.placement_group for t in templates}) or [world.uuid()]
    vmss.vms = {}
    for template, vm in zip(templates, spec.vms, strict=True):
        stale = not vm.latest and spec.old_image is not None
        vmss.vms[vm.id] = dataclasses.replace(
            template,
            instance_id=vm.id,
            ud=vm.ud,
            fd=vm.fd,
            zone=vm.zone,
            placement_group=pgs[min(vm.pg, len(pgs) - 1)],
            applied_gen=1 if stale else vmss.model_gen,
            exact_version=vm.version or (old if stale else current),
            power=vm.power,
            health=vm.health if spec.health_extension else None,
            protect_from_scale_set_actions=vm.protected,
        )
    vmss.next_instance_id = max(vmss.vms) + 1
    vmss.sku["capacity"] = len(vmss.vms)


def _register_images(world: World, spec: SetFile) -> None:
    """The catalog must know every version the file names, or the model would not
    validate: add them to what the base catalog holds."""
    for image in (spec.image, spec.old_image):
        if not image:
            continue
        versions = {v.version for v in spec.vms if v.version} | {str(image.get("version", ""))}
        versions.discard("")
        versions.discard("latest")
        kind = image_kind(image)
        if kind == "platform":
            key = (str(image["publisher"]), str(image["offer"]), str(image["sku"]))
            known = world.catalog.platform_versions(LOCATION, *key)
            world.catalog.add_platform(LOCATION, *key, [*known, *versions])
        elif kind == "gallery" and "/versions/" in str(image.get("id", "")).lower():
            definition, _, version = str(image["id"]).rpartition("/versions/")
            known = world.catalog.gallery.get(definition.lower(), [])
            world.catalog.add_gallery(definition, [*known, version, *versions])


def save(scenario: ScenarioFile, path: Path) -> None:
    path.write_text(json.dumps(scenario.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
