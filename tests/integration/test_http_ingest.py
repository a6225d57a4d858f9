"""HTTP ingest on the real stack (RabbitMQ, Redis, searchd, collector, `alco web`): JSON lines
and plain text, Elasticsearch bulk, Loki push JSON, OTLP JSON; auth, limits and refusals.
The real shippers are in test_http_shippers.py."""

from __future__ import annotations

import gzip
import time

import httpx
import orjson
import pytest

from tests.helpers import all_lines, stored_count, wait_for
from tests.integration.test_metrics import start_collector

pytestmark = pytest.mark.integration


def serve(stack, **web) -> str:
    """searchd, collector and web app of a stack with index ``logs`` (+ ``other``)."""
    if not stack.data.get("index"):
        stack.index()
        stack.index(name="other")
    stack.data["web"].update(web)
    stack.start_searchd()
    start_collector(stack)
    stack.web()
    return f"http://{stack.data['web']['bind']}"


def messages(config, index: str = "logs") -> list[str]:
    return sorted(ln["message"] for ln in all_lines(config, index))


def test_ndjson_and_plain_text_are_stored_with_their_fields(stack):
    base = serve(stack)
    config = stack.config()
    ndjson = b"".join(orjson.dumps({"message": f"json {i}", "seq": i, "host": "h1"}) + b"\n"
                      for i in range(3))
    r = httpx.post(f"{base}/api/logs/ingest", content=ndjson,
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    r = httpx.post(f"{base}/api/logs/ingest", content=gzip.compress(b"plain one\n\nplain two\n"),
                   headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})
    assert r.json() == {"accepted": 2}
    r = httpx.post(f"{base}/api/other/ingest", content=b'{"message": "to other"}\n',
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.json() == {"accepted": 1}
    wait_for(lambda: stored_count(config) >= 5 and stored_count(config, "other") >= 1,
             message="6 lines stored")
    assert messages(config) == ["json 0", "json 1", "json 2", "plain one", "plain two"]
    assert messages(config, "other") == ["to other"]
    lines = {ln["message"]: ln for ln in all_lines(config, "logs")}
    assert lines["json 1"]["fields"] == {"seq": 1, "host": "h1"}
    assert lines["plain one"]["fields"] == {}
    plain_age = time.time() - _epoch(lines["plain one"]["ts"])
    assert 0 <= plain_age < 60  # arrival time, to the microsecond


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def test_refusals_name_the_problem_and_nothing_is_half_accepted(stack):
    base = serve(stack, ingest_max_bytes=10_000)
    config = stack.config()
    url = f"{base}/api/logs/ingest"
    nd = {"Content-Type": "application/x-ndjson"}
    r = httpx.post(url, content=b'{"message": "ok 1"}\n[1, 2]\n{"message": "ok 2"}\n',
                   headers=nd)
    assert r.status_code == 400
    assert r.json()["line"] == 2 and "line 2" in r.json()["error"]
    r = httpx.post(url, content=b'{"message": "ok"}\n{"message": "broken\n', headers=nd)
    assert r.status_code == 400 and r.json()["line"] == 2
    assert httpx.post(url, content=b"x" * 20_000, headers=nd).status_code == 413
    bomb = gzip.compress(b"y" * 1_000_000)
    r = httpx.post(url, content=bomb, headers={"Content-Type": "text/plain",
                                               "Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert httpx.post(f"{base}/api/nope/ingest", content=b"x\n").status_code == 404
    r = httpx.post(url, content=b"x\n", headers={"Content-Type": "image/png"})
    assert r.status_code == 415
    r = httpx.post(url, content=b'{"message": "after the refusals"}\n', headers=nd)
    assert r.status_code == 200
    wait_for(lambda: stored_count(config) >= 1, message="the good request stored")
    time.sleep(0.5)
    assert messages(config) == ["after the refusals"]  # nothing of the refused requests
    text = httpx.get(f"{base}/metrics").text
    assert 'alco_ingest_refused_total{api="ndjson",reason="bad_line"} 2.0' in text
    assert 'alco_ingest_refused_total{api="ndjson",reason="too_large"} 2.0' in text
    assert 'alco_ingest_lines_total{api="ndjson",index="logs"} 1.0' in text


def test_elasticsearch_bulk_answers_per_item_and_routes_targets(stack):
    base = serve(stack)
    config = stack.config()
    assert httpx.get(base, headers={"Accept": "application/json"}).json()[
        "version"]["number"].startswith("8.")
    assert httpx.head(f"{base}/_cat/health").status_code == 200
    body = b"".join([
        b'{"index": {"_index": "other-2026.11.24", "_id": "a1"}}\n',
        b'{"message": "bulk to other", "@timestamp": "2026-11-24T10:00:00Z"}\n',
        b'{"create": {}}\n', b'{"message": "bulk to url target", "k": "v"}\n',
        b'{"index": {"_index": "unknown"}}\n', b'{"message": "bulk to default"}\n',
        b'{"index": {}}\n', b'not json\n',
        b'{"delete": {"_id": "x"}}\n',
        b'{"index": {}}\n', b'{"message": "after the bad ones"}\n',
    ])
    r = httpx.post(f"{base}/logs/_bulk", content=body,
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    answer = r.json()
    assert answer["errors"] is True
    statuses = [(next(iter(it)), next(iter(it.values()))["status"]) for it in answer["items"]]
    assert statuses == [("index", 201), ("create", 201), ("index", 201), ("index", 400),
                        ("delete", 400), ("index", 201)]
    assert answer["items"][0]["index"]["_id"] == "a1"
    assert "line 8" in answer["items"][3]["index"]["error"]["reason"]
    wait_for(lambda: stored_count(config) >= 3 and stored_count(config, "other") >= 1,
             message="bulk lines stored")
    assert messages(config) == ["after the bad ones", "bulk to default", "bulk to url target"]
    assert messages(config, "other") == ["bulk to other"]


def test_loki_json_and_otlp_json(stack):
    base = serve(stack)
    config = stack.config()
    now_ns = time.time_ns()
    push = {"streams": [{"stream": {"job": "api", "host": "web-1"},
                         "values": [[str(now_ns), "loki line one"],
                                    [str(now_ns + 1000), "loki line two", {"trace": "t1"}]]}]}
    r = httpx.post(f"{base}/loki/api/v1/push", content=orjson.dumps(push),
                   headers={"Content-Type": "application/json", "X-Scope-OrgID": "other"})
    assert r.status_code == 204
    otlp = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeLogs": [{"scope": {"name": "shop.views"}, "logRecords": [{
            "timeUnixNano": str(now_ns), "severityNumber": 17, "severityText": "ERROR",
            "body": {"stringValue": "otlp json line"},
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "attributes": [{"key": "order", "value": {"intValue": "42"}}]}]}]}]}
    r = httpx.post(f"{base}/v1/logs", content=orjson.dumps(otlp),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == {}
    wait_for(lambda: stored_count(config, "other") >= 2 and stored_count(config) >= 1,
             message="loki and otlp lines")
    loki = {ln["message"]: ln for ln in all_lines(config, "other")}
    assert loki["loki line two"]["fields"] == {"job": "api", "host": "web-1", "trace": "t1"}
    assert abs(_epoch(loki["loki line one"]["ts"]) * 1e9 - now_ns) < 1e4
    [line] = all_lines(config, "logs")
    assert line["message"] == "otlp json line"
    assert line["fields"] == {"service.name": "shop", "scope.name": "shop.views", "order": 42,
                              "levelname": "ERROR", "severity_number": 17,
                              "trace_id": "5b8efff798038103d269b633813fc60c",
                              "span_id": "eee19b7ec3c1b174"}


def test_ingest_needs_a_token_and_ingest_tokens_open_nothing_else(stack):
    base = serve(stack, tokens=["api-token"], ingest_tokens=["ship-token"])
    url = f"{base}/api/logs/ingest"
    assert httpx.post(url, content=b"no token\n").status_code == 401
    assert httpx.post(f"{base}/_bulk", content=b"").status_code == 401
    ok = httpx.post(url, content=b"with ingest token\n",
                    headers={"Authorization": "Bearer ship-token"})
    assert ok.status_code == 200
    basic = httpx.post(f"{base}/_bulk", auth=("rsyslog", "ship-token"),
                       content=b'{"index": {}}\n{"message": "basic"}\n')
    assert basic.status_code == 200 and basic.json()["errors"] is False
    assert httpx.get(f"{base}/api/logs/lines",
                     headers={"Authorization": "Bearer ship-token"}).status_code == 401
    assert httpx.post(url, content=b"api token\n",
                      headers={"Authorization": "Bearer api-token"}).status_code == 200


def test_rabbitmq_not_taking_the_lines_is_a_503_never_a_2xx(stack):
    """No collector: the index's queue is not bound, RabbitMQ returns the lines (mandatory),
    and a RabbitMQ that does not answer at all: 503 with Retry-After both times."""
    stack.index()
    stack.web()
    base = f"http://{stack.data['web']['bind']}"
    r = httpx.post(f"{base}/api/logs/ingest", content=b"nobody takes me\n")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    r = httpx.post(f"{base}/_bulk", content=b'{"index": {}}\n{"message": "x"}\n')
    assert r.status_code == 503
    for proc in stack.procs:
        proc.terminate()
        proc.wait(10)
    stack.data["rabbitmq"]["url"] = "amqp://guest:guest@127.0.0.1:1/%2F"
    stack.procs.clear()
    stack.web()
    r = httpx.post(f"{base}/v1/logs", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 503)  # an empty request needs no broker
    r = httpx.post(f"{base}/api/logs/ingest", content=b"broker down\n")
    assert r.status_code == 503 and "rabbitmq" in r.json()["service"]
