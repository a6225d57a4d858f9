"""From a published log line to a line found through the API, on the real servers."""

from __future__ import annotations

import datetime
import threading

import orjson
import pytest
from starlette.testclient import TestClient

from alco.web.app import create_app
from tests.helpers import BASE_TIME, all_lines, logcollect_body, publish, stored_count, wait_for

pytestmark = pytest.mark.integration


def count(stack, index: str = "logs") -> int:
    return stored_count(stack.config(), index)


def test_published_lines_are_found_once_in_time_order_with_fields(stack, monkeypatch):
    stack.index()
    stack.start_searchd()
    collector = stack.collector()
    n = 3000
    bodies = [logcollect_body(i, request_id=f"r{i}") for i in range(n)]
    publish(stack.data["rabbitmq"]["url"], stack.exchange, bodies, "logstash.shop.views")
    wait_for(lambda: count(stack) >= n, timeout=60, interval=0.2, message=f"{n} stored")
    lines = all_lines(stack.config(), "logs")
    assert len(lines) == n
    assert [ln["fields"]["seq"] for ln in lines] == list(range(n))  # time order, once each
    assert len({ln["id"] for ln in lines}) == n
    first = lines[0]
    assert first["message"] == "line 0 of the test"
    assert first["ts"] == BASE_TIME.isoformat()
    assert first["fields"]["host"] == "vm0"
    assert first["fields"]["levelname"] == "ERROR"
    assert first["fields"]["request_id"] == "r0"
    assert stack.stop(collector) == 0

    client = TestClient(create_app(stack.config()))
    resp = client.get("/api/logs/lines", params={"q": "levelname:ERROR test", "limit": 5})
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert [ln["fields"]["seq"] for ln in page["lines"]] == [2990, 2980, 2970, 2960, 2950]
    assert all(isinstance(ln["id"], str) for ln in page["lines"])
    assert page["lines"][0]["highlight"] == 'line 2990 of the <mark class="t0">test</mark>'
    older = client.get("/api/logs/lines", params={"q": "levelname:ERROR test", "limit": 5,
                                                  "before": page["next"]}).json()
    assert [ln["fields"]["seq"] for ln in older["lines"]] == [2940, 2930, 2920, 2910, 2900]


def test_sigterm_mid_stream_loses_nothing_and_stores_nothing_twice(stack):
    stack.index(batch_size=500)
    stack.start_searchd()
    collector = stack.collector()
    n = 20000
    bodies = [logcollect_body(i) for i in range(n)]
    publisher = threading.Thread(target=publish, args=(stack.data["rabbitmq"]["url"],
                                                       stack.exchange, bodies))
    publisher.start()
    wait_for(lambda: count(stack) > 1000, timeout=60, message="first lines stored")
    assert stack.stop(collector) == 0  # graceful: drains in-flight batches and acks them
    publisher.join()
    stored_at_stop = count(stack)
    assert 0 < stored_at_stop <= n
    collector = stack.collector()  # the rest is still in RabbitMQ
    wait_for(lambda: count(stack) >= n, timeout=90, interval=0.2, message="all stored")
    lines = all_lines(stack.config(), "logs")
    seqs = sorted(ln["fields"]["seq"] for ln in lines)
    assert seqs == list(range(n))
    assert stack.stop(collector) == 0


def test_plain_pika_publish_of_python_logstash_and_plain_text(stack):
    stack.index()
    stack.start_searchd()
    stack.collector()
    now = datetime.datetime.now(datetime.UTC)
    logstash_body = orjson.dumps({
        "@timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "@version": "1", "message": "crashed", "host": "vm", "path": "/app/billing.py",
        "tags": [], "type": "logstash", "level": "ERROR", "logger_name": "billing",
        "stack_trace": "Traceback ...", "lineno": 9, "process": 8437})
    publish(stack.data["rabbitmq"]["url"], stack.exchange,
            [logstash_body, b"a plain text line"], "logstash")
    config = stack.config()
    lines = wait_for(lambda: (ls := all_lines(config, "logs")) and len(ls) == 2 and ls,
                     message="two lines")
    by_msg = {ln["message"]: ln for ln in lines}
    assert by_msg["crashed"]["fields"]["logger_name"] == "billing"
    assert by_msg["crashed"]["fields"]["stack_trace"] == "Traceback ..."
    assert "a plain text line" in by_msg
