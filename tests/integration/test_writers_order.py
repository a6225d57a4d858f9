"""Several writers never reorder one producer's lines: each producer (host and process) always
goes to the same writer, which numbers the lines of one millisecond in logging order."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

import orjson
import pytest

from alco.index.schema import slot_of
from alco.ingest.consumer import writer_of
from tests.helpers import all_lines, publish, stored_count, wait_for
from tests.integration.test_metrics import start_collector

pytestmark = pytest.mark.integration


def other_host() -> str:
    """A host whose lines go to the other writer than this process's."""
    mine = writer_of({"host": socket.gethostname(), "process": os.getpid()}, 2)
    return next(h for h in (f"elsewhere{k}" for k in range(100))
                if writer_of({"host": h, "process": 9}, 2) != mine)


def other_producer(url: str, exchange: str, n: int) -> None:
    """Another host's lines at the same time (single-record bodies), so both writers work."""
    host = other_host()
    bodies = [orjson.dumps({"message": f"other {i}", "host": host, "process": 9,
                            "seq": i}) for i in range(n)]
    publish(url, exchange, bodies, "logstash.other")


def test_one_producers_50000_lines_come_back_in_logging_order_once_with_two_writers(stack):
    from alco.clients.handler import AMQPHandler

    stack.index(writers=2, batch_size=1000, batch_ms=50)
    stack.start_searchd()
    start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    other = threading.Thread(target=other_producer, args=(url, stack.exchange, 20_000))
    other.start()
    h = AMQPHandler(url, exchange=stack.exchange, buffer_size=60_000)
    logger = logging.getLogger(f"shop.order{uuid.uuid4().hex[:6]}")
    logger.propagate, logger.handlers = False, [h]
    logger.setLevel(logging.INFO)
    n = 50_000
    for i in range(n):  # many lines per millisecond: their order rests on the id counter
        logger.info("ordered %d", i, extra={"i": i})
    h.close(timeout=120)
    other.join(120)
    assert (h.published, h.dropped) == (n, 0)

    config = stack.config()
    wait_for(lambda: stored_count(config) >= n + 20_000, timeout=180, interval=0.5,
             message="all lines stored")
    lines = all_lines(config, "logs")
    mine = [ln["fields"]["i"] for ln in lines if "i" in ln["fields"]]
    assert mine == list(range(n))  # logging order, exactly once
    theirs = [ln["fields"]["seq"] for ln in lines if "i" not in ln["fields"]]
    assert sorted(theirs) == list(range(20_000))
    slots = {slot_of(int(ln["id"])) for ln in lines}
    assert len(slots) == 2, slots  # both writers stored lines
