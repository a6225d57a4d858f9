"""`alco grep` says on stderr, once, that an answer is partial (a shard did not answer)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alco.clients.api import Api

WARNING = "index logs_20261124: agent 10.0.0.2:9312: connect() failed"


class Partial(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"lines": [], "warnings": [WARNING]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_warnings_of_an_answer_go_to_stderr_once(capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Partial)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = Api(f"http://127.0.0.1:{server.server_address[1]}")
        assert api.get("/api/logs/lines")["lines"] == []
        api.get("/api/logs/lines")
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err.splitlines() == [f"alco grep: partial results: {WARNING}"]
