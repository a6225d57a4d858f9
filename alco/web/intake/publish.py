"""Publishing ingested lines to RabbitMQ as NDJSON batches, answered only once confirmed.

Each publishing thread keeps its own ``BlockingConnection`` (pika's blocking adapter is not
thread-safe) with its channel in confirm mode: ``basic_publish`` returns once the broker
confirmed the message, raises when it refused it, and ``mandatory`` makes a message that no
queue takes an error instead of a silent drop (the collector has not declared the index's
queue yet).  The event loop hands whole requests to these threads (:meth:`submit`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pika
import pika.exceptions

from alco.config import Config

log = logging.getLogger("alco.web.intake")
T = TypeVar("T")
ARRIVAL_HEADER = "x-alco-arrival-us"  # read by the consumer: the time of lines without one
CONTENT_TYPE = "application/x-ndjson"  # a batch: one record per line
MAX_LINES = 1000  # per AMQP message
MAX_MESSAGE_BYTES = 512 * 1024
ATTEMPTS = 2  # a kept connection the broker closed meanwhile is replaced once


class PublishFailed(Exception):
    """RabbitMQ did not confirm every line: ``done`` lines (the first ones) were confirmed."""

    def __init__(self, reason: str, done: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.done = done


def chunks(lines: list[bytes], max_lines: int = MAX_LINES,
           max_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[int, int]]:
    """``(start, end)`` slices of ``lines``, each one AMQP message."""
    out, start, size = [], 0, 0
    for i, line in enumerate(lines):
        if i > start and (i - start >= max_lines or size + len(line) + 1 > max_bytes):
            out.append((start, i))
            start, size = i, 0
        size += len(line) + 1
    if start < len(lines):
        out.append((start, len(lines)))
    return out


class IntakePublisher:
    """A pool of publishing threads, each with its RabbitMQ connection."""

    def __init__(self, config: Config, threads: int | None = None) -> None:
        self.config = config
        self.rabbit = config.rabbitmq
        # pika logs a connection the broker closed meanwhile (idle past its heartbeats) as
        # ERROR lines with tracebacks; this module replaces it once, at INFO, and answers a
        # failure itself (PublishFailed): pika is this process's transport for nothing else
        logging.getLogger("pika").setLevel(logging.CRITICAL)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads or config.web.ingest_publishers,
                                        thread_name_prefix="alco-ingest")

    async def submit(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a publishing thread (it may call :meth:`publish`)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def publish(self, routing_key: str, lines: list[bytes], arrival_us: int,
                confirmed: Callable[[int], None] | None = None) -> int:
        """Publish ``lines`` (each one record) as NDJSON batches; return how many were
        confirmed (all of them), or raise :class:`PublishFailed` saying how many were.
        ``confirmed(n)`` is told after each batch that the first ``n`` lines are."""
        done = 0
        for start, end in chunks(lines):
            body = b"\n".join(lines[start:end]) + b"\n"
            props = pika.BasicProperties(
                content_type=CONTENT_TYPE, delivery_mode=2, message_id=uuid.uuid4().hex,
                timestamp=arrival_us // 1_000_000, headers={ARRIVAL_HEADER: arrival_us})
            self._publish_one(routing_key, body, props, done)
            done = end
            if confirmed is not None:
                confirmed(done)
        return done

    def _publish_one(self, routing_key: str, body: bytes, props: pika.BasicProperties,
                     done: int) -> None:
        for attempt in range(ATTEMPTS):
            try:
                channel = self._channel()
                channel.basic_publish(self.rabbit.exchange, routing_key, body, props,
                                      mandatory=True)
                return
            except pika.exceptions.UnroutableError:
                self._drop()  # the channel's state after a return is not worth keeping
                raise PublishFailed(f"no queue takes routing key {routing_key!r} (is the "
                                    "collector running?)", done) from None
            except pika.exceptions.NackError:
                self._drop()
                raise PublishFailed("RabbitMQ refused the lines (nack)", done) from None
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._drop()
                if attempt + 1 == ATTEMPTS:
                    raise PublishFailed(f"RabbitMQ: {exc!r}", done) from None
                log.info("rabbitmq connection lost (%r); reconnecting once", exc)

    def _channel(self) -> Any:
        channel = getattr(self._local, "channel", None)
        if channel is not None and channel.is_open and self._local.conn.is_open:
            return channel
        self._drop()
        params = pika.URLParameters(self.rabbit.url)
        params.client_properties = {
            "connection_name": f"alco web ingest {threading.current_thread().name}"}
        params.connection_attempts = 1
        params.socket_timeout = 3.0
        params.blocked_connection_timeout = 10.0
        params.heartbeat = self.rabbit.heartbeat
        conn = pika.BlockingConnection(params)
        try:
            self._declare_exchange(conn)
            channel = conn.channel()
            channel.confirm_delivery()
        except BaseException:
            conn.close()
            raise
        self._local.conn, self._local.channel = conn, channel
        self._local.since = time.monotonic()
        return channel

    def _declare_exchange(self, conn: pika.BlockingConnection) -> None:
        """Use the exchange as it is; declare it as the shippers do when missing."""
        probe = conn.channel()
        try:
            probe.exchange_declare(self.rabbit.exchange, exchange_type=self.rabbit.exchange_type,
                                   passive=True)
            probe.close()
        except pika.exceptions.ChannelClosedByBroker:
            conn.channel().exchange_declare(
                self.rabbit.exchange, exchange_type=self.rabbit.exchange_type,
                durable=self.rabbit.exchange_durable)

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = self._local.channel = None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # already broken: nothing to close
                pass

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
