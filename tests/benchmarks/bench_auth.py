"""Benchmark: what signing in costs (owner: AUTH).

Against the fake Entra authority over loopback TLS (the simulator's CA helper), measures
a cold service-principal token (OIDC discovery + token POST), a forced refresh, a token
served by msal's cache to a fresh provider, our in-memory reuse (the per-request cost the
ARM client pays), saving the persisted cache, and a token from a fake ``az`` (subprocess
cost only). Loopback only; nothing here reaches a real host.

Run: ``.venv/bin/python -m tests.benchmarks bench_auth``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette

RUNS = int(os.environ.get("BENCH_AUTH_RUNS", "20"))
TENANT = "11111111-2222-3333-4444-555555555555"

FAKE_AZ = """#!{python}
import json, time
print(json.dumps({{"accessToken": "a.b.c", "expires_on": int(time.time()) + 3600}}))
"""


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.2f} ms"


async def _timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return out


async def _run(tmp: Path) -> list[tuple[str, str]]:
    from vmssdash.azure.auth import build_token_provider
    from vmssdash.azure.clouds import Cloud
    from vmssdash.azure.msal_http import MsalHttpClient
    from vmssdash.azure.token_cache import TokenCacheStore
    from vmssdash.sim import tls
    from vmssdash.sim.entra import FakeEntra
    from vmssdash.sim.server import serve_in_thread

    files = tls.generate(tmp / "tls")
    server = serve_in_thread(
        Starlette(routes=FakeEntra().routes()),
        ssl_certfile=str(files.server_cert),
        ssl_keyfile=str(files.server_key),
    )
    rows: list[tuple[str, str]] = []
    try:
        cloud = Cloud(
            name="bench",
            authority_host=server.base_url,
            arm_endpoint=server.base_url,
            arm_scope="https://management.azure.com/.default",
            validate_authority=False,
            ca_file=str(files.ca_cert),
        )
        os.environ.update(
            AZURE_CLIENT_ID="bench-client", AZURE_TENANT_ID=TENANT, AZURE_CLIENT_SECRET="x"
        )
        http = MsalHttpClient.create(verify=str(files.ca_cert))

        def provider(store: TokenCacheStore | None = None):  # type: ignore[no-untyped-def]
            return build_token_provider(
                "env", cloud, None, http_client=http, store=store or TokenCacheStore(persist=False)
            )

        async def cold() -> None:
            await provider().get_token()

        rows.append(("cold SP token: discovery + token POST", _median_ms(await _timed(cold, RUNS))))

        warm = provider()
        await warm.get_token()
        rows.append(
            (
                "forced refresh (token POST)",
                _median_ms(await _timed(lambda: warm.get_token(force_refresh=True), RUNS)),
            )
        )

        shared = TokenCacheStore(persist=False)
        await provider(shared).get_token()

        async def msal_cache_hit() -> None:
            await provider(shared).get_token()

        rows.append(
            (
                "new provider: discovery + msal cache hit",
                _median_ms(await _timed(msal_cache_hit, RUNS)),
            )
        )

        n = 10_000
        t0 = time.perf_counter()
        for _ in range(n):
            await warm.get_token()
        per_call = (time.perf_counter() - t0) / n
        rows.append(("in-memory reuse per get_token", f"{per_call * 1e6:8.2f} µs"))

        store = TokenCacheStore(tmp / "cache", persist=True)
        await provider(store).get_token()
        saves = []
        for _ in range(RUNS):
            store.cache.has_state_changed = True
            t0 = time.perf_counter()
            store.save()
            saves.append(time.perf_counter() - t0)
        rows.append(("persist cache (0600 atomic write)", _median_ms(saves)))

        bindir = tmp / "bin"
        bindir.mkdir()
        az = bindir / "az"
        az.write_text(FAKE_AZ.format(python=sys.executable))
        az.chmod(0o755)
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"

        async def cli() -> None:
            await build_token_provider("cli", cloud, None).get_token()

        rows.append(("Azure CLI token (fake az, subprocess)", _median_ms(await _timed(cli, 5))))
        http.close()
    finally:
        server.server.force_exit = True
        server.stop()
    return rows


def main() -> None:
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
        os.environ["VMSSDASH_PLAINTEXT_TOKEN_CACHE"] = "1"
        os.environ["VMSSDASH_DISABLE_MANAGED_IDENTITY"] = "1"
        try:
            rows = asyncio.run(_run(Path(tmp)))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    width = max(len(r[0]) for r in rows)
    print(f"{'auth operation (median of runs)':{width}}  time")
    for label, value in rows:
        print(f"{label:{width}}  {value}")


if __name__ == "__main__":
    main()
