"""Late lines reach the live tail: a line stamped minutes ago, published while a tail is open,
is pushed within a second, marked late, and never twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.helpers import publish, stored_count, wait_for
from tests.integration.test_grep import wait_queues
from tests.integration.test_search_api import _answers, read_events

pytestmark = pytest.mark.integration


def body(message: str, ago_s: float = 0.0) -> bytes:
    stamp = datetime.now(UTC) - timedelta(seconds=ago_s)
    return orjson.dumps({"@timestamp": stamp.isoformat(), "message": message, "host": "vm1"})


def test_a_line_stamped_two_minutes_ago_reaches_an_open_tail_once(stack):
    stack.index(batch_ms=20)
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    url, ex = stack.data["rabbitmq"]["url"], stack.exchange
    config = stack.config()
    publish(url, ex, [body("tailed now")], "logstash.app")
    wait_for(lambda: stored_count(config, "logs") == 1, message="the first line")
    stack.alco("web")
    tail = f"http://{config.web.bind}/api/logs/tail"
    wait_for(lambda: _answers(tail), message="web app")
    with httpx.stream("GET", tail, params={"q": "tailed"}, timeout=30) as resp:
        stream = resp.iter_lines()
        next(stream)  # the stream is open: the tail's cursor is on the first line
        time.sleep(0.6)  # one poll: the tail has its late-line position
        publish(url, ex, [body("tailed again")], "logstash.app")
        events = read_events(stream, lambda ev: len(ev) == 1)
        assert [(e, d["message"], d.get("late")) for e, d in events] == [
            ("line", "tailed again", None)]
        sent = time.monotonic()
        publish(url, ex, [body("tailed late", ago_s=120)], "logstash.app")
        events = read_events(stream, lambda ev: len(ev) == 1)
        assert time.monotonic() - sent < 1.5  # batch_ms + a poll + the late read
        assert [(e, d["message"], d.get("late")) for e, d in events] == [
            ("line", "tailed late", True)]
        publish(url, ex, [body("tailed last")], "logstash.app")
        events = read_events(stream, lambda ev: len(ev) == 1)
    assert [d["message"] for _, d in events] == ["tailed last"]  # the late one is not resent
