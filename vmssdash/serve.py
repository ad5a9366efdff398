"""`vmssdash serve`: the dashboard in a browser, on textual-serve (``vmssdash[web]``).

Each browser tab gets its own ``vmssdash`` process (the dashboard arguments given after
the options, e.g. ``demo`` or ``-- --endpoint … --resource-id …``). With no target the tab
opens on the fleet view; choosing a set reopens the tab on ``/?target=<id>``.

Protection: it binds loopback by default. Told to bind anything else it warns and requires
a token (``--token`` or ``VMSSDASH_SERVE_TOKEN``; one is generated when neither is given):
the first visit carries ``?token=…``, which becomes a same-site, HTTP-only cookie. Every
websocket must come from the page's own origin, so another site open in the same browser
cannot drive the dashboard even on loopback.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import os
import secrets
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vmssdash.azure.bearer import is_loopback_host

DESCRIPTION = "serve the dashboard to a browser (needs vmssdash[web])"
TOKEN_ENV = "VMSSDASH_SERVE_TOKEN"
COOKIE = "vmssdash_token"
WEB_DIR = Path(__file__).parent / "web"


class ServeError(Exception):
    """An expected failure of `vmssdash serve`: one line, exit 1."""


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--token",
        default=None,
        help=f"require this token off loopback (default: ${TOKEN_ENV}, else a generated one)",
    )
    parser.add_argument(
        "dashboard",
        nargs=argparse.REMAINDER,
        help="what each browser tab runs: `demo [...]`, or `-- [TARGET] [dashboard options]`",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    return configure(argparse.ArgumentParser(prog="vmssdash serve", description=DESCRIPTION))


def encode_target(resource_id: str) -> str:
    return base64.urlsafe_b64encode(resource_id.encode()).decode().rstrip("=")


def checked_target(resource_id: str) -> str:
    """The id itself when it names a scale set; it ends up on a command line."""
    from vmssdash.azure.scaleset import parse_resource_id

    parse_resource_id(resource_id)
    return resource_id


def decode_target(text: str) -> str:
    try:
        rid = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("not a scale set resource id") from None
    return checked_target(rid)


def session_command(dashboard: Sequence[str], target: str | None) -> list[str]:
    """The command one browser tab runs: the dashboard args, plus the chosen target."""
    args = [a for a in dashboard if a != "--"] if dashboard[:1] == ["--"] else list(dashboard)
    command = [sys.executable, "-m", "vmssdash", *args]
    if target is None:
        return command
    if args[:1] == ["demo"]:
        return [*command, "--set", target.rsplit("/", 1)[-1]]
    return [*command, "--resource-id", target]


def make_server(dashboard: Sequence[str], *, host: str, port: int, token: str | None) -> Any:
    """A textual-serve ``Server`` that guards its routes and opens tabs on a target."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/ws"):
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != request.host:
                return web.Response(status=403, text="cross-origin websocket refused\n")
        if token is None:
            return await handler(request)
        offered = request.query.get("token")
        if offered is not None and hmac.compare_digest(offered, token):
            response = await handler(request)
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            return response
        if hmac.compare_digest(request.cookies.get(COOKIE, ""), token):
            return await handler(request)
        return web.Response(status=401, text="vmssdash serve: open the URL with ?token=…\n")

    class DashboardServer(Server):
        async def _make_app(self) -> web.Application:
            app = web.Application(middlewares=[guard])
            aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(WEB_DIR))
            app.add_routes(
                [
                    web.get("/", self.handle_index, name="index"),
                    web.get("/ws", self.handle_websocket, name="websocket"),
                    web.get("/ws/{target}", self.handle_websocket, name="target-websocket"),
                    web.static("/static", self.statics_path, name="static"),
                ]
            )
            app.on_startup.append(self.on_startup)
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            target = request.query.get("target")
            path = "/ws"
            if target:
                try:
                    path = f"/ws/{encode_target(checked_target(target))}"
                except ValueError:
                    return web.Response(status=400, text="target is not a scale set id\n")
            scheme = "wss" if request.secure else "ws"
            context = {
                "title": "vmssdash",
                "static_url": "/static/",
                "websocket_url": f"{scheme}://{request.host}{path}",
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "restart_url": request.path_qs,
            }
            return aiohttp_jinja2.render_template("index.html", request, context)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            raw = request.match_info.get("target")
            try:
                target = decode_target(raw) if raw else None
            except ValueError:
                raise web.HTTPBadRequest(text="target is not a scale set id") from None
            socket = web.WebSocketResponse(heartbeat=15)
            await socket.prepare(request)

            async def close() -> None:
                await socket.close()

            service = AppService(
                shlex.join(session_command(dashboard, target)),
                write_bytes=socket.send_bytes,
                write_str=socket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            await service.start(width, height)
            try:
                await self._process_messages(socket, service)
            finally:
                await service.stop()
            return socket

        async def on_startup(self, app: web.Application) -> None:
            suffix = f"/?token={token}" if token else "/"
            self.console.print(f"vmssdash: serving on http://{self.host}:{self.port}{suffix}")

    return DashboardServer(
        shlex.join(session_command(dashboard, None)), host=host, port=port, title="vmssdash"
    )


def protection(
    host: str, token: str | None, env_token: str | None
) -> tuple[str | None, str | None]:
    """The token to require (None: none) and a warning to print, for binding ``host``."""
    token = token or env_token or None
    if is_loopback_host(host):
        return token, None
    warning = (
        f"binding {host} exposes the dashboard (and the identity it signs in with) to the "
        "network; a token is required. Prefer loopback behind an SSH tunnel or an "
        "authenticating TLS proxy."
    )
    return token or secrets.token_urlsafe(24), warning


def run(args: argparse.Namespace) -> int:
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        raise ServeError("browser mode needs the web extra: pip install 'vmssdash[web]'") from None
    token, warning = protection(args.host, args.token, os.environ.get(TOKEN_ENV))
    if warning:
        print(f"vmssdash serve: WARNING: {warning}", file=sys.stderr)
    make_server(args.dashboard, host=args.host, port=args.port, token=token).serve()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ServeError as exc:
        print(f"vmssdash: {exc}", file=sys.stderr)
        return 1
