"""`make bench`: run every tests/benchmarks/bench_*.py module's main() in turn.

Each benchmark prints its own small table; this runner only discovers and sequences them
so one command reproduces every figure quoted in the issues' closing notes. Each module
runs in a fresh interpreter so that one benchmark's imports, caches and peak RSS never
show up in another's figures.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        code = f"import tests.benchmarks.{name} as bench; bench.main()"
        result = subprocess.run([sys.executable, "-c", code], check=False)
        if result.returncode != 0:
            print(f"{name} failed with exit code {result.returncode}", flush=True)
            return result.returncode
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
