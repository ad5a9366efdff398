"""The azure layer stands alone (issue 12, item 5): it imports nothing from the layers
above it (``vmssdash.config``, ``core``, ``ui``, ``sim``, the commands), and its modules do
not import each other in a cycle (``client`` ↔ ``lro`` did, through ``client._emit``).
Imports are read from the source, those under ``TYPE_CHECKING`` included."""

from __future__ import annotations

import ast
from pathlib import Path

AZURE = Path(__file__).parents[2] / "vmssdash" / "azure"
ABOVE = ("vmssdash.config", "vmssdash.core", "vmssdash.ui", "vmssdash.sim", "vmssdash.cli")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _module(path: Path) -> str:
    parts = path.relative_to(AZURE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): _imports(p) for p in AZURE.rglob("*.py")}


def test_azure_imports_nothing_from_the_layers_above() -> None:
    bad = {
        module: sorted(n for n in names if n.startswith(ABOVE))
        for module, names in MODULES.items()
        if any(n.startswith(ABOVE) for n in names)
    }
    assert bad == {}


def test_azure_modules_import_each_other_without_cycles() -> None:
    graph = {m: {n for n in names if n in MODULES and n != m} for m, names in MODULES.items()}
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module in done:
            return
        for nxt in graph[module]:
            visit(nxt, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())
