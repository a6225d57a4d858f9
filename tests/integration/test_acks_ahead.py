"""The consumer against a real RabbitMQ, its writer played by a thread: while one batch waits
for a stuck writer (a RAM chunk being written to disk inside its REPLACE), the batches stored
behind it are acked, so the broker keeps delivering past ``prefetch``; every message is acked
once (a second ack would close the channel and redeliver)."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import queue
import threading
import time

import pika
import pytest

from alco.ingest.batches import Handoff, Stored
from alco.ingest.consumer import ConsumerContext, run_consumer
from alco.ingest.writer import LANES
from alco.process.flags import StopFlag
from tests.helpers import logcollect_body, publish

pytestmark = pytest.mark.integration
N = 300


def test_the_broker_keeps_delivering_while_a_batch_waits_for_a_stuck_writer(stack):
    stack.data["rabbitmq"]["prefetch"] = 100
    stack.index(batch_size=20, batch_ms=50)
    config = stack.config()
    ix = config.index("logs")
    writer_queue: queue.Queue = queue.Queue()
    replies: queue.Queue = queue.Queue()
    ctx = ConsumerContext(config, ix, 0, [writer_queue], replies,  # type: ignore[arg-type]
                          mp.Array(ctypes.c_longlong, 1),
                          mp.RawArray(ctypes.c_longlong, LANES), StopFlag(), Handoff.PICKLE,
                          "acks_")
    consumer = threading.Thread(target=run_consumer, args=(ctx,))
    consumer.start()
    held: list = []  # the first batch: its writer is stuck
    behind = 0  # records stored behind it
    redelivered = False
    try:
        conn = pika.BlockingConnection(pika.URLParameters(config.rabbitmq.url))
        ch = conn.channel()
        for _ in range(100):  # the consumer declares its queue
            try:
                ch.queue_declare(ix.queue_name, passive=True)
                break
            except pika.exceptions.ChannelClosedByBroker:
                ch = conn.channel()
                time.sleep(0.05)
        publish(config.rabbitmq.url, config.rabbitmq.exchange,
                [logcollect_body(i) for i in range(N)], routing_key="logstash.acks")
        deadline = time.monotonic() + 20
        while behind + sum(h.count for h in held) < N and time.monotonic() < deadline:
            try:
                handle = writer_queue.get(timeout=0.1)
            except queue.Empty:
                continue
            redelivered |= handle.redelivered
            if not held:
                held.append(handle)
                continue
            behind += handle.count
            replies.put(Stored(handle.generation, handle.batch_id, handle.count, 0))
        # every message came although the first batch's 20 were never acked: with acks in
        # delivery order the broker would have stopped at prefetch (100)
        assert held and behind == N - held[0].count
        h = held[0]
        replies.put(Stored(h.generation, h.batch_id, h.count, 0))
        time.sleep(0.5)
    finally:
        ctx.stop.set()
        consumer.join(30)
    assert not consumer.is_alive() and not redelivered
    # nothing left unacked: the consumer's connection is closed, so anything it had not acked
    # would be back in the queue
    ch = pika.BlockingConnection(pika.URLParameters(config.rabbitmq.url)).channel()
    assert ch.queue_declare(ix.queue_name, passive=True).method.message_count == 0
    assert writer_queue.empty()
