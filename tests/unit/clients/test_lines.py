"""classify_line: which lines pass through, how the others are wrapped."""

from __future__ import annotations

import datetime as dt
import time

import orjson
import pytest

from alco.clients.lines import JSON, classify_line


@pytest.mark.parametrize("line", [
    b'{"message": "hi", "levelname": "INFO"}',
    b'{"message": "hi", "levelname": "INFO"}\n',
    b'{"message": "hi"}\r\n',
    b'  {"a": {"b": [1, 2, null]}, "message": "x"}  \n',
    b'{}',
    '{"message": "caf\u00e9 \u2603"}\n'.encode(),
])
def test_json_objects_pass_through_byte_for_byte(line: bytes) -> None:
    body, ctype = classify_line(line, "vm", "logstash.app")
    assert ctype == JSON
    assert body == line.removesuffix(b"\n").removesuffix(b"\r")


@pytest.mark.parametrize("line, message", [
    (b"plain text\n", "plain text"),
    (b"plain text", "plain text"),
    (b"windows line\r\n", "windows line"),
    (b"  indented, trailing spaces kept  \n", "  indented, trailing spaces kept  "),
    (b"[1, 2, 3]\n", "[1, 2, 3]"),  # JSON, but not an object
    (b'"just a string"\n', '"just a string"'),
    (b"{not json at all\n", "{not json at all"),
    (b'{"unterminated": \n', '{"unterminated": '),
    (b"caf\xe9 latin-1\n", "caf\ufffd latin-1"),
    (b'{"bad utf8": "\xff"}\n', '{"bad utf8": "\ufffd"}'),
])
def test_other_lines_are_wrapped(line: bytes, message: str) -> None:
    before = time.time()
    body, ctype = classify_line(line, "web-1", "logstash.nginx")
    assert ctype == JSON
    doc = orjson.loads(body)
    assert set(doc) == {"@timestamp", "@version", "message", "host", "type", "logger"}
    assert doc["message"] == message
    assert (doc["@version"], doc["host"], doc["type"], doc["logger"]) == (
        1, "web-1", "alco-send", "logstash.nginx")
    stamp = dt.datetime.fromisoformat(doc["@timestamp"])
    assert doc["@timestamp"].endswith("+00:00") and len(doc["@timestamp"]) == 32
    assert stamp.utcoffset() == dt.timedelta(0)
    assert before - 1 <= stamp.timestamp() <= time.time() + 1
