"""The exchange and queues on the real broker: declared as the shippers declare them, re-declared
after a broker restart, and quorum (replicated) queues."""

from __future__ import annotations

import shutil
import subprocess

import pika
import pytest

from alco.cli.check import exchange_kind
from tests.helpers import logcollect_body, publish, queue_consumers, stored_count, wait_for
from tests.integration.test_grep import wait_queues

pytestmark = pytest.mark.integration


def connect(stack) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(stack.data["rabbitmq"]["url"]))


def kind_of(stack) -> tuple[str, bool] | None:
    conn = connect(stack)
    try:
        return exchange_kind(conn, stack.exchange)
    finally:
        conn.close()


def test_alco_declares_a_missing_exchange_as_the_shippers_do_and_keeps_an_existing_one(stack):
    stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    assert kind_of(stack) == ("topic", False)


def test_an_existing_durable_exchange_is_used_as_it_is(stack):
    conn = connect(stack)
    conn.channel().exchange_declare(stack.exchange, exchange_type="topic", durable=True)
    conn.close()
    stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    assert kind_of(stack) == ("topic", True)
    conn = connect(stack)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish(stack.exchange, "logstash.x", logcollect_body(0))
    conn.close()
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") == 1, message="the line stored")


def test_a_quorum_queue_takes_lines_like_a_classic_one(stack):
    ix = stack.index(queue_type="quorum")
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    conn = connect(stack)
    # a quorum queue refuses a classic declaration: the queue is of the quorum type
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        conn.channel().queue_declare(ix["queue"], durable=True)
    assert refused.value.reply_code == 406
    conn.channel().queue_declare(ix["queue"], durable=True,
                                 arguments={"x-queue-type": "quorum"})
    conn.close()
    publish(stack.data["rabbitmq"]["url"], stack.exchange,
            [logcollect_body(i) for i in range(200)], "logstash.shop")
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= 200, message="200 lines stored")
    assert stored_count(config, "logs") == 200


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl")
def test_after_a_broker_restart_queues_and_bindings_come_back(stack):
    """A non-durable exchange and its bindings are gone after a restart: the collector
    re-declares them when it reconnects, and what is published afterwards arrives."""
    ix = stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    url = stack.data["rabbitmq"]["url"]
    publish(url, stack.exchange, [logcollect_body(i) for i in range(100)], "logstash.shop")
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= 100, message="100 lines before")
    rabbitmqctl("stop_app")
    try:
        assert subprocess.run(["rabbitmqctl", "list_exchanges"], capture_output=True,
                              timeout=60).returncode != 0
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

    def bound() -> bool:  # the collector consumes again: it re-declared exchange and bindings
        try:
            return queue_consumers(url, ix["queue"]) > 0 and kind_of(stack) is not None
        except pika.exceptions.AMQPError:
            return False

    wait_for(bound, timeout=60, interval=0.5, message="the collector re-declared its exchange")
    # a shipper reconnects and publishes again: nothing published after that is lost
    publish(url, stack.exchange, [logcollect_body(i) for i in range(100, 300)], "logstash.shop")
    wait_for(lambda: stored_count(config, "logs") >= 300, timeout=60, message="300 lines")
    assert stored_count(config, "logs") == 300
