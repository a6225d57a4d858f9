"""OTLP/HTTP logs (``POST /v1/logs``), protobuf or JSON -> one record per log record.

Fields: the resource's attributes, the scope's (``scope.name``, ``scope.version`` and its
attributes), the record's attributes, ``levelname`` (the severity text, or the name of the
severity number), ``severity_number``, ``trace_id`` and ``span_id`` (hex), ``event_name``.
The body is the message (a structured body as its JSON text).  Later ones win on a clash.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from alco.errors import BadInput

# OTLP severity numbers 1-24 in six bands of four
SEVERITY_NAMES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def severity_name(number: int) -> str:
    return SEVERITY_NAMES[min((number - 1) // 4, 5)] if number > 0 else ""


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a JSON value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def records(request: Any) -> list[bytes]:
    """The records of an ``ExportLogsServiceRequest``."""
    out = []
    for resource_logs in request.resource_logs:
        base = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = dict(base)
            if scope_logs.scope.name:
                scope["scope.name"] = scope_logs.scope.name
            if scope_logs.scope.version:
                scope["scope.version"] = scope_logs.scope.version
            scope.update(attributes(scope_logs.scope.attributes))
            for rec in scope_logs.log_records:
                out.append(orjson.dumps(_record(scope, rec)))
    return out


def _record(scope: dict, rec: Any) -> dict:
    doc = dict(scope)
    doc.update(attributes(rec.attributes))
    level = rec.severity_text or severity_name(rec.severity_number)
    if level:
        doc["levelname"] = level
    if rec.severity_number:
        doc["severity_number"] = int(rec.severity_number)
    if rec.trace_id:
        doc["trace_id"] = rec.trace_id.hex()
    if rec.span_id:
        doc["span_id"] = rec.span_id.hex()
    event_name = getattr(rec, "event_name", "")
    if event_name:
        doc["event_name"] = event_name
    ts = rec.time_unix_nano or rec.observed_time_unix_nano
    if ts:
        doc["@timestamp"] = int(ts)
    body = any_value(rec.body) if rec.HasField("body") else ""
    doc["message"] = body if isinstance(body, str) else orjson.dumps(body).decode()
    return doc


def _request_class() -> Any:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    return ExportLogsServiceRequest


def from_protobuf(body: bytes) -> list[bytes]:
    from google.protobuf.message import DecodeError

    try:
        return records(_request_class().FromString(body))
    except DecodeError as exc:
        raise BadInput(f"not an OTLP ExportLogsServiceRequest: {exc}") from None


def from_json(body: bytes) -> list[bytes]:
    """OTLP JSON: ids are hex there (protobuf's JSON mapping says base64): converted first."""
    from google.protobuf.json_format import ParseDict, ParseError

    try:
        doc = orjson.loads(body)
        for resource_logs in doc.get("resourceLogs") or doc.get("resource_logs") or []:
            for scope_logs in (resource_logs.get("scopeLogs") or
                               resource_logs.get("scope_logs") or []):
                for rec in scope_logs.get("logRecords") or scope_logs.get("log_records") or []:
                    _hex_ids_to_base64(rec)
        request = ParseDict(doc, _request_class()(), ignore_unknown_fields=True)
    except (orjson.JSONDecodeError, ParseError, AttributeError, TypeError,
            ValueError) as exc:
        raise BadInput(f"not an OTLP logs request in JSON: {exc}"[:300]) from None
    return records(request)


def _hex_ids_to_base64(rec: dict) -> None:
    for key in ("traceId", "trace_id", "spanId", "span_id"):
        value = rec.get(key)
        if isinstance(value, str) and value:
            rec[key] = base64.b64encode(bytes.fromhex(value)).decode()


def response(json: bool) -> tuple[bytes, str]:
    """An empty ``ExportLogsServiceResponse`` (everything accepted)."""
    if json:
        return b"{}", "application/json"
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceResponse,
    )

    return ExportLogsServiceResponse().SerializeToString(), "application/x-protobuf"
