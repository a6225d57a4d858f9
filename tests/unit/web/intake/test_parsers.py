"""HTTP ingest's pure logic: bodies, JSON lines, Elasticsearch bulk, Loki push, OTLP."""

from __future__ import annotations

import gzip
import zlib

import cramjam
import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from alco.errors import BadInput
from alco.web.intake import esbulk, loki, otlp
from alco.web.intake.body import TooLarge, Unsupported, decode
from alco.web.intake.lines import BadLine, ndjson_lines, text_lines
from alco.web.intake.loki_proto import push_request_class
from alco.web.intake.publish import chunks


def test_decode_gzip_deflate_and_limits():
    data = b"hello\n" * 100
    assert decode(gzip.compress(data), "gzip", 10_000) == data
    assert decode(zlib.compress(data), "deflate", 10_000) == data
    raw = zlib.compressobj(wbits=-15)
    assert decode(raw.compress(data) + raw.flush(), "deflate", 10_000) == data
    assert decode(data, None, 10) == data  # identity: the reader enforced the limit
    with pytest.raises(TooLarge):
        decode(gzip.compress(b"x" * 100_000), "gzip", 1000)
    with pytest.raises(BadInput):
        decode(b"not gzip", "gzip", 1000)
    with pytest.raises(BadInput):
        decode(gzip.compress(data)[:-20], "gzip", 10_000)
    with pytest.raises(Unsupported):
        decode(data, "br", 10_000)


def test_ndjson_lines_pass_through_and_name_the_bad_line():
    body = b'{"message": "a"}\r\n\n  \n{"message": "caf\xe9"}\n'
    assert ndjson_lines(body) == [b'{"message": "a"}', b'{"message": "caf\xe9"}']
    with pytest.raises(BadLine) as err:
        ndjson_lines(b'{"message": "a"}\n{"message": "b"}\n[1]\n')
    assert err.value.line == 3 and "line 3" in err.value.message
    with pytest.raises(BadLine):
        ndjson_lines(b'{"message": "unterminated\n')


def test_text_lines_are_messages_whatever_they_hold():
    assert [orjson.loads(x) for x in text_lines(b'one\r\n{"a": 1}\n\nbad \xff\n')] == [
        {"message": "one"}, {"message": '{"a": 1}'}, {"message": "bad \ufffd"}]


def test_chunks_cut_by_lines_and_bytes():
    lines = [b"x" * 10] * 25
    assert chunks(lines, max_lines=10, max_bytes=1000) == [(0, 10), (10, 20), (20, 25)]
    assert chunks(lines, max_lines=100, max_bytes=55) == [(0, 5), (5, 10), (10, 15),
                                                          (15, 20), (20, 25)]
    assert chunks([b"y" * 100], max_lines=10, max_bytes=10) == [(0, 1)]  # never empty
    assert chunks([]) == []


def test_bulk_pairs_actions_and_documents_and_keeps_neighbours_of_a_bad_one():
    body = b"".join([
        b'{"index": {"_index": "web-2026.11.24", "_id": "1"}}\n', b'{"message": "a"}\n',
        b'{"create": {"_index": "nope"}}\n', b'{"message": "b"}\n',
        b'{"update": {"_id": "1"}}\n', b'{"doc": {"x": 1}}\n',
        b'{"delete": {"_id": "1"}}\n',
        b'{"index": {}}\n', b'{"broken\n',
        b'garbage\n',
        b'{"index": {}}\n', b'{"message": "c"}\n',
        b'{"index": {}}\n',
    ])
    bulk = esbulk.parse(body, "logs", ["logs", "web"], "logs")
    got = [(i.action, i.index, i.line, i.status) for i in bulk.items]
    assert got == [
        ("index", "web", b'{"message": "a"}', 0), ("create", "logs", b'{"message": "b"}', 0),
        ("update", "logs", None, 400), ("delete", "logs", None, 400),
        ("index", "logs", None, 400), ("index", "logs", None, 400),
        ("index", "logs", b'{"message": "c"}', 0), ("index", "logs", None, 400)]
    assert {k: len(v) for k, v in bulk.by_index().items()} == {"web": 1, "logs": 2}
    for item in bulk.items:
        if item.line is not None:
            item.status = 201
    answer = orjson.loads(esbulk.response(bulk, 3))
    assert answer["errors"] is True and answer["took"] == 3
    assert answer["items"][0] == {"index": {
        "_index": "web-2026.11.24", "_id": "1", "status": 201, "result": "created",
        "_version": 1, "_seq_no": 0, "_primary_term": 1,
        "_shards": {"total": 1, "successful": 1, "failed": 0}}}
    assert answer["items"][4]["index"]["error"]["type"] == "document_parsing_exception"
    assert "line 9" in answer["items"][4]["index"]["error"]["reason"]


def test_bulk_target_names():
    names = ["logs", "web"]
    assert esbulk.alco_index("web", names, "logs") == "web"
    assert esbulk.alco_index("web-2026.11.24", names, "logs") == "web"
    assert esbulk.alco_index("web_20261124", names, "logs") == "web"
    assert esbulk.alco_index("filebeat-8.11.0", names, "logs") == "logs"
    assert orjson.loads(esbulk.info())["version"]["number"] == esbulk.VERSION


def test_loki_labels():
    assert loki.parse_labels('{job="api", host="web-1",path="/a \\"b\\"\\\\"}') == {
        "job": "api", "host": "web-1", "path": '/a "b"\\'}
    assert loki.parse_labels("{}") == {}
    with pytest.raises(BadInput):
        loki.parse_labels('{job=api}')


def test_loki_json_and_protobuf_give_the_same_records():
    push = {"streams": [{"stream": {"job": "api"}, "values": [
        ["1700000000000000001", "one"], ["1700000000000000002", "two", {"trace": "t"}]]}]}
    records = [orjson.loads(x) for x in loki.from_json(orjson.dumps(push))]
    assert records == [
        {"job": "api", "@timestamp": 1700000000000000001, "message": "one"},
        {"job": "api", "trace": "t", "@timestamp": 1700000000000000002, "message": "two"}]
    request = push_request_class()()
    stream = request.streams.add(labels='{job="api"}')
    for n, (line, meta) in enumerate([("one", None), ("two", ("trace", "t"))], 1):
        entry = stream.entries.add(line=line)
        entry.timestamp.FromNanoseconds(1700000000000000000 + n)
        if meta:
            entry.structuredMetadata.add(name=meta[0], value=meta[1])
    body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    assert [orjson.loads(x) for x in loki.from_protobuf(body, 10_000)] == records
    with pytest.raises(TooLarge):
        loki.from_protobuf(body, 10)
    with pytest.raises(BadInput):
        loki.from_protobuf(b"\xff\xff\xff\xff\xff not snappy", 10_000)
    with pytest.raises(BadInput):
        loki.from_json(b'{"streams": [{"values": [["x", "y"]]}]}')


def otlp_request() -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.add(key="service.name").value.string_value = "shop"
    sl = rl.scope_logs.add()
    sl.scope.name, sl.scope.version = "shop.views", "1.2"
    rec = sl.log_records.add(time_unix_nano=1_700_000_000_123_456_789, severity_number=9,
                             trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
                             span_id=bytes.fromhex("eee19b7ec3c1b174"))
    rec.body.string_value = "paid"
    rec.attributes.add(key="order").value.int_value = 42
    kv = rec.attributes.add(key="cart").value.kvlist_value.values.add(key="items")
    kv.value.array_value.values.add().double_value = 1.5
    rec2 = sl.log_records.add(observed_time_unix_nano=1_700_000_000_000_000_000,
                              severity_text="oops")
    rec2.body.kvlist_value.values.add(key="a").value.bool_value = True
    return req


def test_otlp_records_from_protobuf_and_json():
    from google.protobuf.json_format import MessageToDict

    expected = [
        {"service.name": "shop", "scope.name": "shop.views", "scope.version": "1.2",
         "order": 42, "cart": {"items": [1.5]}, "levelname": "INFO", "severity_number": 9,
         "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
         "@timestamp": 1_700_000_000_123_456_789, "message": "paid"},
        {"service.name": "shop", "scope.name": "shop.views", "scope.version": "1.2",
         "levelname": "oops", "@timestamp": 1_700_000_000_000_000_000,
         "message": '{"a":true}'},
    ]
    req = otlp_request()
    assert [orjson.loads(x) for x in otlp.from_protobuf(req.SerializeToString())] == expected
    doc = MessageToDict(req)  # protobuf's JSON: ids in base64; OTLP JSON: hex
    for rec in doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"]:
        if "traceId" in rec:
            rec["traceId"] = "5b8efff798038103d269b633813fc60c"
            rec["spanId"] = "eee19b7ec3c1b174"
    assert [orjson.loads(x) for x in otlp.from_json(orjson.dumps(doc))] == expected
    with pytest.raises(BadInput):
        otlp.from_protobuf(b"\xff\xff garbage")
    with pytest.raises(BadInput):
        otlp.from_json(b"[1, 2]")
    assert [otlp.severity_name(n) for n in (0, 1, 5, 12, 13, 17, 21, 24)] == [
        "", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "FATAL"]
