"""`alco grep` says on stderr, once per shard, that an answer is partial (a shard did not
answer), and how many lines the live tail skipped."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alco.clients.api import Api

WARNINGS = ["index logs_20261123, logs_20261124: agent 10.0.0.2:9312: connect() failed",
            "index logs_20261124: agent 10.0.0.2:9312: connect() failed"]


class Partial(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"lines": [], "warnings": WARNINGS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_shard_that_did_not_answer_is_named_once_per_search(capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Partial)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = Api(f"http://127.0.0.1:{server.server_address[1]}")
        assert api.get("/api/logs/lines")["lines"] == []
        api.get("/api/logs/lines")
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err.splitlines() == [
        "alco grep: partial results: shard 10.0.0.2:9312 did not answer (connect() failed): "
        "its lines are missing"]


class Stream(io.BytesIO):
    """A /tail answer: the events given, then the server closes it."""


class Tailing:
    def open(self, path: str, params: dict | None = None, timeout: float | None = None):
        return Stream(b'event: line\ndata: {"id": "1"}\n\n'
                      b'event: skipped\ndata: {"count": 7}\n\n'
                      b'event: line\ndata: {"id": "9"}\n\n')


def test_follow_says_how_many_lines_the_live_tail_skipped():
    from alco.clients.api import ApiError, follow

    got, warned = [], []
    with pytest.raises(ApiError, match="closed the live tail"):
        follow(Tailing(), "logs", {}, None, lambda line: got.append(line["id"]) or True,
               warned.append)
    assert got == ["1", "9"]
    assert warned == ["7 lines skipped (more than the live tail sends a second)"]
