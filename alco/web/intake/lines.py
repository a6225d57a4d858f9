"""JSON lines and plain text bodies -> the lines of an NDJSON batch (one record each).

An NDJSON line must be a JSON object; it is passed on byte for byte (the collector reads it as
it reads any AMQP body).  A plain-text line becomes ``{"message": line}``; its time is the
arrival time the publisher attaches to the batch.
"""

from __future__ import annotations

import orjson

from alco.errors import BadInput


class BadLine(BadInput):
    """Line ``line`` (1-based) of the body cannot be a record."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}; nothing of this request was accepted",
                         line=line, accepted=0)
        self.line = line
        self.reason = reason


def split(body: bytes) -> list[tuple[int, bytes]]:
    """``(line number, line)`` of every non-blank line (``\\n`` or ``\\r\\n``)."""
    out = []
    for n, line in enumerate(body.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip():
            out.append((n, line))
    return out


def json_object(line: bytes) -> dict | None:
    """The JSON object a line holds, or None.  Invalid UTF-8 is let through (the collector
    stores such lines with replacement characters and marks them)."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            doc = orjson.loads(line.decode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            return None
    return doc if isinstance(doc, dict) else None


def ndjson_lines(body: bytes) -> list[bytes]:
    """Every line must hold a JSON object; the first that does not is named (``BadLine``)."""
    out = []
    for n, line in split(body):
        if json_object(line) is None:
            raise BadLine(n, "not a JSON object")
        out.append(line)
    return out


def text_lines(body: bytes) -> list[bytes]:
    """Each non-blank line is a message, whatever it holds."""
    return [orjson.dumps({"message": line.decode("utf-8", "replace")})
            for _, line in split(body)]
