"""HTTP ingest's publisher against a real RabbitMQ: a connection the broker closed while it
sat idle is replaced quietly, at INFO."""

from __future__ import annotations

import logging
import os
import select
import socket
import time

import pytest

from alco.config import parse
from alco.web.intake.publish import IntakePublisher
from tests.helpers import Broker, wait_for

pytestmark = pytest.mark.integration
URL = os.environ.get("ALCO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the broker closed ``sock`` (what it sent meanwhile is read and thrown away:
    the connection is about to be replaced anyway)."""
    while select.select([sock], [], [], 0)[0]:
        try:
            if not sock.recv(65536):
                return True
        except OSError:
            return True
    return False


def test_a_connection_closed_while_idle_is_replaced_quietly(caplog) -> None:
    broker = Broker(URL)
    config = parse({"rabbitmq": {"url": URL, "exchange": broker.exchange, "heartbeat": 1}},
                   "<test>", env={})
    publisher = IntakePublisher(config, threads=1)
    try:
        arrival = time.time_ns() // 1000
        assert publisher.publish("logstash.x", [b'{"message": "one"}'], arrival) == 1
        # this thread's connection sends no heartbeats while idle: the broker closes it
        sock = publisher._local.conn._impl._transport._sock
        wait_for(lambda: closed_by_peer(sock), timeout=20, message="the broker closed it")
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            assert publisher.publish("logstash.x", [b'{"message": "two"}'], arrival) == 1
        loud = [r for r in caplog.records if r.levelno > logging.INFO]
        assert loud == [], [r.getMessage() for r in loud]
        assert any("reconnecting" in r.getMessage() for r in caplog.records)
        assert len(broker.take(2)) == 2
    finally:
        publisher.close()
        broker.close()
