"""``vmssdash sim``: serve a simulated Azure on loopback.

stdout carries one line per scale set served (its full ARM resource id) so scripts and
``vmssdash demo`` can pick a target; everything for humans (the base URL, the TLS folder)
goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from vmssdash.sim import scenario_file
from vmssdash.sim.app import create_app
from vmssdash.sim.faults import FaultConfig
from vmssdash.sim.scenarios import SCENARIOS
from vmssdash.sim.server import bind_socket, make_server
from vmssdash.sim.throttle import ThrottleConfig

DEFAULT_PORT = 8765

FAULTS_HELP = (
    "fault spec, comma-separated key=value: 429=P, 500=P, 503=P, reset=P (probability per "
    "ARM request), latency=LO:HI (seconds added to every request), upgrade-fail=P (VM "
    "upgrade ends ProvisioningState/failed), unhealthy=P (VM unhealthy after upgrade), "
    "retry-after=N (seconds on injected 429/503); 'off' disables. Example: "
    "'429=0.1,500=0.02,reset=0.01,latency=0.05:0.2,upgrade-fail=0.05'. Change at run time "
    'with POST /_sim/faults {"spec": "..."}.'
)


def build_parser(prog: str = "vmssdash sim") -> argparse.ArgumentParser:
    scenarios = "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values())
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Serve a simulated Azure Compute API (VM scale sets) on loopback. Control paths: "
            'POST /_sim/clock/advance {"seconds": N}, /_sim/clock/pause, /_sim/clock/resume, '
            '/_sim/clock/speed {"speed": N}, GET /_sim/state, GET|POST /_sim/faults, '
            'GET|POST /_sim/throttle, POST /_sim/vm {"scaleSet", "instanceId", "health", '
            '"power"}, GET /_sim/health.'
        ),
        epilog=f"Scenarios: {scenarios}.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--scenario", default="demo", choices=sorted(SCENARIOS))
    parser.add_argument(
        "--scenario-file",
        type=Path,
        default=None,
        help="serve the scenario in this JSON file instead (e.g. from `vmssdash rehearse --save`)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    parser.add_argument("--faults", default=None, help=FAULTS_HELP)
    parser.add_argument(
        "--tls", action="store_true", help="serve https with a generated CA (folder printed)"
    )
    parser.add_argument("--tls-dir", type=Path, default=None, help="where --tls writes its files")
    parser.add_argument("--page-size", type=int, default=50, help="items per list page")
    parser.add_argument(
        "--manual-clock", action="store_true", help="time moves only via /_sim/clock/advance"
    )
    parser.add_argument(
        "--throttle-scale",
        type=float,
        default=1.0,
        help="multiply every throttling limit (e.g. 0.05 to meet 429s quickly)",
    )
    parser.add_argument("--no-throttle", action="store_true", help="never throttle")
    parser.add_argument(
        "--require-auth",
        action="store_true",
        help="answer 401 to ARM requests without an unexpired bearer JWT",
    )
    parser.add_argument(
        "--lro-retry-after",
        type=int,
        default=None,
        help="send Retry-After: N on LRO 202s (off by default, as on the real wire)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"vmssdash sim: warning: listening on {args.host}, not loopback", file=sys.stderr)
    try:
        faults = FaultConfig.parse(args.faults) if args.faults is not None else None
        scenario = scenario_file.load(args.scenario_file) if args.scenario_file else args.scenario
        app = create_app(
            scenario,
            speed=args.speed,
            seed=args.seed,
            faults=faults,
            page_size=args.page_size,
            manual_clock=args.manual_clock,
            throttle=ThrottleConfig(enabled=not args.no_throttle, scale=args.throttle_scale),
            retry_after_202=args.lro_retry_after,
            require_auth=args.require_auth,
        )
    except ValueError as exc:
        print(f"vmssdash sim: {exc}", file=sys.stderr)
        return 2
    certfile = keyfile = None
    if args.tls:
        from vmssdash.sim import tls

        folder = args.tls_dir or Path(tempfile.mkdtemp(prefix="vmssdash-sim-tls-"))
        hosts = tuple(dict.fromkeys([args.host, "127.0.0.1", "localhost", "::1"]))
        files = tls.generate(folder, hosts)
        certfile, keyfile = str(files.server_cert), str(files.server_key)
        print(f"vmssdash sim: TLS files in {files.folder} (trust {files.ca_cert})", file=sys.stderr)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"vmssdash sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    scheme = "https" if args.tls else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    world = app.state.world
    print(
        f"vmssdash sim: scenario {app.state.sim.scenario} on {scheme}://{host}:{port} "
        f"(speed {args.speed:g}, seed {args.seed}, faults {app.state.sim.injector.config.to_spec()})",
        file=sys.stderr,
        flush=True,
    )
    for vmss in world.scale_sets.values():  # scenario order: the main set first
        print(vmss.id, flush=True)
    server = make_server(app, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level=args.log_level)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal; make that an
    # orderly exit 0 instead of death by signal.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
