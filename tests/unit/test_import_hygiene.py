"""core and azure must never pull in Textual: they run headless and in the simulator."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import vmssdash.azure
import vmssdash.core


def _modules(package: object) -> list[str]:
    path = package.__path__  # type: ignore[attr-defined]
    prefix = package.__name__ + "."  # type: ignore[attr-defined]
    return [m.name for m in pkgutil.walk_packages(path, prefix)]


def test_core_and_azure_do_not_import_textual() -> None:
    modules = _modules(vmssdash.core) + _modules(vmssdash.azure)
    assert "vmssdash.core.state" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"textual imported by core/azure: {out.stdout.strip()}"
