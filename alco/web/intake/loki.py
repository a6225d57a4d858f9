"""Loki's push API (``POST /loki/api/v1/push``): JSON, or protobuf in a snappy block (what
Promtail, Grafana Alloy and the Docker driver send) -> one record per entry.

A record is ``{"@timestamp": <ns>, "message": <line>, <stream labels>..., <structured
metadata>...}``: the labels of its stream become fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

from alco.errors import BadInput
from alco.web.intake.body import TooLarge

LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_labels(text: str) -> dict[str, str]:
    """``{job="x", host="a\\"b"}`` (a Prometheus label set) -> a dict."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    out: dict[str, str] = {}
    pos = 0
    while pos < len(inner) and inner[pos:].strip():
        m = LABEL.match(inner, pos)
        if m is None:
            raise BadInput(f"unreadable stream labels {text[:200]!r}")
        out[m.group(1)] = _unquote(m.group(2))
        pos = m.end()
    return out


def _unquote(value: str) -> str:
    if "\\" not in value:
        return value
    try:
        return orjson.loads(f'"{value}"')
    except orjson.JSONDecodeError:
        return value


def record(labels: dict, ts_ns: int, line: str, metadata: Iterable[tuple[str, str]]) -> bytes:
    doc = dict(labels)
    doc.update(metadata)
    if ts_ns > 0:
        doc["@timestamp"] = ts_ns
    doc["message"] = line
    return orjson.dumps(doc)


def from_json(body: bytes) -> list[bytes]:
    try:
        doc = orjson.loads(body)
        out = []
        for stream in doc["streams"]:
            labels = stream.get("stream") or stream.get("labels") or {}
            if isinstance(labels, str):
                labels = parse_labels(labels)
            for value in stream.get("values", []):
                meta = value[2].items() if len(value) > 2 and isinstance(value[2], dict) else ()
                out.append(record(labels, int(value[0]), str(value[1]), meta))
        return out
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError,
            AttributeError) as exc:
        raise BadInput(f"not a Loki push request in JSON: {exc!r}"[:300]) from None


def from_protobuf(body: bytes, limit: int) -> list[bytes]:
    """A snappy block holding a ``logproto.PushRequest``."""
    import cramjam
    from google.protobuf.message import DecodeError

    from alco.web.intake.loki_proto import push_request_class

    try:
        size = cramjam.snappy.decompress_raw_len(body)
    except Exception as exc:
        raise BadInput(f"not a snappy block: {exc}") from None
    if size > limit:
        raise TooLarge(f"decompressed body over the limit of {limit} bytes", limit=limit)
    try:
        raw = bytes(cramjam.snappy.decompress_raw(body))
        request = push_request_class().FromString(raw)
    except DecodeError as exc:
        raise BadInput(f"not a Loki PushRequest: {exc}") from None
    except Exception as exc:  # cramjam's own error type
        raise BadInput(f"cannot decompress the snappy block: {exc}") from None
    out = []
    for stream in request.streams:
        labels = parse_labels(stream.labels)
        for entry in stream.entries:
            ts_ns = entry.timestamp.seconds * 1_000_000_000 + entry.timestamp.nanos
            meta = [(p.name, p.value) for p in entry.structuredMetadata]
            out.append(record(labels, ts_ns, entry.line, meta))
    return out
