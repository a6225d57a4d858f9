"""Batch bodies (NDJSON, many records per AMQP message) on the real stack: split by the
consumer, each record stored once, a bad line dead-lettered alone, the message acked only once
all its records are stored; single-record bodies unchanged beside them. ALCO's handler and
`alco send` publish such batches: a bad record among them is dead-lettered alone too."""

from __future__ import annotations

import logging
import uuid

import orjson
import pika
import pytest

from alco.clients import lines as lines_mod
from alco.clients.handler import AMQPHandler
from tests.helpers import (
    BASE_TIME,
    all_lines,
    logcollect_body,
    publish,
    stored_count,
    wait_for,
)
from tests.integration.test_bad_input import dead_letters
from tests.integration.test_metrics import start_collector

pytestmark = pytest.mark.integration
NDJSON = pika.BasicProperties(content_type="application/x-ndjson", delivery_mode=2,
                              message_id="batch-1")


def batch_body(n: int, bad_at: int | None = None, timed: bool = False) -> bytes:
    """``n`` lines of NDJSON; with ``timed`` each has its own ``@timestamp``."""
    stamp = {"@timestamp": BASE_TIME.isoformat()} if timed else {}
    lines = [orjson.dumps({**stamp, "message": f"batched {i}", "seq": i, "host": "b1"})
             for i in range(n)]
    if bad_at is not None:
        lines[bad_at] = b"[1, 2, 3]"
    return b"\n".join(lines) + b"\n"


def queue_depth(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def test_a_batch_is_split_stored_once_and_a_bad_line_dead_lettered_alone(stack):
    ix = stack.index(batch_size=7)  # a 25-line batch is cut across several writer batches
    stack.start_searchd()
    start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    body = batch_body(25, bad_at=11)
    body += b"plain text inside a batch\n\n"
    body += b'{"message": "same line"}\n{"message": "same line"}\r\n'
    publish(url, stack.exchange, [body], properties=NDJSON)
    publish(url, stack.exchange, [logcollect_body(1)])  # a single-record body beside it

    config = stack.config()
    wait_for(lambda: stored_count(config) >= 28, message="28 lines stored")
    lines = all_lines(config, "logs")
    messages = sorted(ln["message"] for ln in lines)
    assert len(lines) == 28
    assert [m for m in messages if m.startswith("batched")] == sorted(
        f"batched {i}" for i in range(25) if i != 11)
    assert messages.count("same line") == 2  # identical lines of one batch: both kept
    assert "plain text inside a batch" in messages and "line 1 of the test" in messages
    batched = next(ln for ln in lines if ln["message"] == "batched 3")
    assert batched["fields"] == {"seq": 3, "host": "b1"}

    dead = dead_letters(url, ix["queue"] + ".dead")
    assert [(b, h["x-alco-reason"], h["x-alco-line"]) for b, h in dead] == [
        (b"[1, 2, 3]", "not_object", 12)]
    # acked once every record was stored: nothing waits in the queue
    wait_for(lambda: queue_depth(url, ix["queue"]) == 0, message="queue empty")


@pytest.mark.parametrize("timed", [True, False])
def test_a_redelivered_batch_is_stored_once(stack, timed):
    """The collector is stopped before it acked (kill -9 after storing): the redelivered batch
    is found by its lines' fingerprints (and, on days with 32-bit ones, their times, or where
    a line carried no time and was stamped at arrival, its text)."""
    stack.index(batch_size=4000, batch_ms=50)
    stack.start_searchd()
    proc = start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    publish(url, stack.exchange, [batch_body(300, timed=timed)], properties=NDJSON)
    config = stack.config()
    wait_for(lambda: stored_count(config) >= 300, message="300 lines stored")
    proc.kill()  # acked or not: a redelivery must not store the lines again
    proc.wait()
    start_collector(stack)
    publish(url, stack.exchange, [logcollect_body(7)])
    wait_for(lambda: stored_count(config) >= 301, message="the marker line")
    assert stored_count(config) == 301


# -- ALCO's own shippers publish batches: the handler and `alco send` ---------------------------

class OneBadBody(AMQPHandler):
    """A handler whose body for the message "poison" is a JSON array (not a record)."""

    def format_body(self, record: logging.LogRecord) -> bytes:
        return b"[1, 2, 3]" if record.getMessage() == "poison" else super().format_body(record)


def test_handler_batches_and_a_bad_record_is_dead_lettered_alone(stack):
    ix = stack.index(batch_size=300)
    stack.start_searchd()
    start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    h = OneBadBody(url, exchange=stack.exchange)
    logger = logging.getLogger(f"shop.batched{uuid.uuid4().hex[:6]}")
    logger.propagate, logger.handlers = False, [h]
    logger.setLevel(logging.INFO)
    for i in range(2000):
        logger.info("poison" if i == 777 else f"handler line {i}")
    h.close()
    assert (h.published, h.dropped) == (2000, 0)

    config = stack.config()
    wait_for(lambda: stored_count(config) >= 1999, timeout=60, message="1999 lines stored")
    lines = all_lines(config, "logs")
    assert [ln["fields"]["seq"] for ln in lines] == sorted(ln["fields"]["seq"] for ln in lines)
    assert sorted(ln["message"] for ln in lines) == sorted(
        f"handler line {i}" for i in range(2000) if i != 777)
    dead = dead_letters(url, ix["queue"] + ".dead")
    assert len(dead) == 1
    body, headers = dead[0]
    assert (body, headers["x-alco-reason"]) == (b"[1, 2, 3]", "not_object")
    assert headers["x-alco-line"] >= 1  # its place in a batch message
    wait_for(lambda: queue_depth(url, ix["queue"]) == 0, message="queue empty")


def test_send_batches_and_a_bad_line_is_dead_lettered_alone(stack, monkeypatch):
    ix = stack.index(batch_size=300)
    stack.start_searchd()
    start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    real = lines_mod.classify_line

    def classify(line: bytes, host: str, routing_key: str) -> tuple[bytes, str]:
        if line.startswith(b"poison"):  # what no shipper should send: a JSON array
            return b'["not", "a", "record"]', "application/json"
        return real(line, host, routing_key)

    monkeypatch.setattr(lines_mod, "classify_line", classify)
    source = [b"sent line %d\n" % i for i in range(3000)]
    source[1234] = b"poison\n"
    sent = lines_mod.send_lines(source, url=url, exchange=stack.exchange,
                                routing_key="logstash.send", host="vm")
    assert sent == 3000

    config = stack.config()
    wait_for(lambda: stored_count(config) >= 2999, timeout=60, message="2999 lines stored")
    lines = all_lines(config, "logs")
    assert [ln["message"] for ln in lines] == [f"sent line {i}" for i in range(3000)
                                               if i != 1234]  # in order, once each
    dead = dead_letters(url, ix["queue"] + ".dead")
    assert [(b, h["x-alco-reason"]) for b, h in dead] == [
        (b'["not", "a", "record"]', "not_object")]
    assert 1 <= dead[0][1]["x-alco-line"] <= 500  # its place in a batch message (1234 % 500 + 1
    # unless the 0.1 s turn of the sender cut the batch earlier)
    wait_for(lambda: queue_depth(url, ix["queue"]) == 0, message="queue empty")
