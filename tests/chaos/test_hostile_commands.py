"""Commands against a server whose scale set does not fit the model (issue 13, item 3).

Before issue 13, ``sku.capacity: "lots"`` escaped as a pydantic ValidationError (a
ValueError), so ``vmssdash upgrade`` reported it as a usage error (exit 2). It is now a
typed ``InvalidBodyError``: one line naming the field, the documented failure code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import RID, scale_set_json
from vmssdash import orch_cli
from vmssdash.cli_common import EXIT_ERROR


class _LotsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = scale_set_json()
        body["sku"]["capacity"] = "lots"
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "rid-lots")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def lots_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LotsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_upgrade_reports_a_malformed_scale_set_in_one_line(
    lots_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = orch_cli.main(
        [
            "--endpoint",
            lots_server,
            "--resource-id",
            RID,
            "--auth",
            "none",
            "--yes",
            "--journal-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert 'sku.capacity: expected an integer, got "lots"' in err
    assert "rid-lots" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
