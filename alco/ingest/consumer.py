"""Consumer process: RabbitMQ -> records -> batches for the writers; ack after "stored".

With several writers, every record goes to the writer of its *producer* (:func:`writer_of`:
host and process, as the shippers name them), always the same one, so that one producer's
lines keep their order: a writer numbers the lines of one millisecond in the order it gets
them, and one consumer hands one producer's lines to one writer queue in delivery order.

This is the only collector module that speaks AMQP (pika).  Acks follow the order of delivery
tags: a batch's messages are acked (``multiple=True``) only when it and every earlier batch
were stored, so a crash at any point redelivers what was not stored.

Each AMQP connection is a *generation*: when it is lost, its unacked messages go back to the
queue, so batches of the old generation still waiting for a writer are void (writers drop
them) and the consumer waits for writers busy with one of them before it reconnects; the
redelivered copies are then checked against the fingerprints already stored.
"""

from __future__ import annotations

import logging
import os
import queue
import time
import zlib
from collections import deque
from dataclasses import dataclass, field

import pika
import pika.exceptions
from pika.spec import Basic, BasicProperties

from alco import metrics
from alco.config import Config, IndexConfig
from alco.ingest import batches
from alco.ingest.batches import BusySlots, Generations, Handoff, ReplyQueue, Stored, WriterQueue
from alco.ingest.records import (
    DeadLetter,
    Limits,
    NormaliseOptions,
    Record,
    batch_lines,
    is_batch,
    normalise,
)
from alco.process.backoff import Backoff
from alco.process.flags import StopFlag, wait_until

log = logging.getLogger("alco.consumer")
BACKLOG_EVERY = 5.0
KEEPALIVE_S = 5.0  # while it holds too many records: serve the connection this often
RECONNECT_FIRST, RECONNECT_CAP = 0.5, 30.0  # seconds between attempts to reconnect


@dataclass
class ConsumerContext:
    config: Config
    index: IndexConfig
    number: int  # this consumer among the consumers of the index
    writer_queues: list[WriterQueue]  # one per writer of the index
    reply_queue: ReplyQueue
    generations: Generations  # one per consumer of the index
    busy: BusySlots  # one per lane of each writer of the index (alco.ingest.writer.LANES)
    stop: StopFlag
    handoff: Handoff = Handoff.SHM
    shm_prefix: str = "alco_"

    @property
    def connection_name(self) -> str:
        return f"alco consumer {self.index.name}#{self.number} {self.index.queue_name}"


@dataclass
class Segment:
    """One flushed batch (cut into one part per writer it has records for): acks up to
    ``last_tag`` once every part is stored.  ``first_tag``: its first message, when all of
    that message's records are in it (0: it continues a message cut by the batch before)."""

    pending: set[int]  # batch ids of its parts not stored yet
    last_tag: int
    records: int = 0
    first_tag: int = 0
    acked: bool = False  # its messages were acked one by one (ahead of an earlier segment)

    @property
    def done(self) -> bool:
        return not self.pending


# The fields that name a record's producer, as logcollect, python-logstash, ALCO's handler
# (host, process) and syslog-ng (HOST, PROGRAM, PID) send them.
PRODUCER_FIELDS = ("host", "process", "HOST", "PROGRAM", "PID")


def writer_of(fields: dict, writers: int) -> int:
    """The writer for a record's producer: the same for every record of one producer."""
    key = "\x00".join(str(fields.get(k, "")) for k in PRODUCER_FIELDS)
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % writers


def split_by_writer(records: list[Record], writers: int) -> list[tuple[int, list[Record]]]:
    """``(writer, records)`` for each writer that gets some, each list in the given order."""
    if writers == 1:
        return [(0, records)]
    parts: dict[int, list[Record]] = {}
    cache: dict[tuple, int] = {}  # producers repeat within a batch
    for rec in records:
        f = rec.fields
        ident = (f.get("host"), f.get("process"), f.get("HOST"), f.get("PROGRAM"), f.get("PID"))
        try:
            w = cache.get(ident)
        except TypeError:  # an unhashable value (a list or object) in one of them
            w = writer_of(f, writers)
        else:
            if w is None:
                w = cache[ident] = writer_of(f, writers)
        parts.setdefault(w, []).append(rec)
    return sorted(parts.items())


@dataclass
class OpenBatch:
    records: list[Record] = field(default_factory=list)
    last_tag: int = 0
    redelivered: bool = False
    started: float = 0.0
    continued: bool = False  # it starts with the rest of a message the batch before cut


ARRIVAL_HEADER = "x-alco-arrival-us"  # µs; set by HTTP ingest: when the records arrived


def _arrival_us(props: BasicProperties) -> int | None:
    """The arrival time a publisher wrote in the headers (time of records without one)."""
    value = (props.headers or {}).get(ARRIVAL_HEADER)
    return value if isinstance(value, int) and value > 0 else None


def options_for(config: Config, ix: IndexConfig) -> NormaliseOptions:
    c = config.collector
    return NormaliseOptions(
        limits=Limits(c.max_message_bytes, c.max_fields, c.max_depth, c.max_field_bytes),
        excluded=frozenset(ix.columns_with("excluded")),
        naive_local=ix.naive_time_is_local,
    )


def declare(conn: pika.BlockingConnection, config: Config, ix: IndexConfig) -> None:
    """Exchange (kept as it is when it exists; else declared as the shippers' defaults declare
    it, [rabbitmq] exchange_type / exchange_durable), the index's queue with its bindings (its
    routing keys, and the key HTTP ingest publishes it with), and its dead-letter queue.
    Called on every (re)connection: a non-durable exchange and its bindings are gone after a
    broker restart."""
    rabbit = config.rabbitmq
    probe = conn.channel()
    try:
        probe.exchange_declare(rabbit.exchange, exchange_type=rabbit.exchange_type, passive=True)
        probe.close()
    except pika.exceptions.ChannelClosedByBroker:
        conn.channel().exchange_declare(rabbit.exchange, exchange_type=rabbit.exchange_type,
                                        durable=rabbit.exchange_durable)
    arguments = queue_arguments(ix)
    ch = conn.channel()
    ch.queue_declare(ix.queue_name, durable=ix.durable, auto_delete=False,
                     arguments=arguments)
    ch.queue_declare(ix.queue_name + ".dead", durable=True, arguments=arguments)
    for key in (*ix.routing_keys, ix.ingest_routing_key):
        ch.queue_bind(ix.queue_name, rabbit.exchange, routing_key=key)
    ch.close()


def queue_arguments(ix: IndexConfig) -> dict[str, str] | None:
    """``x-queue-type`` for a quorum (replicated) queue; None for a classic one."""
    return {"x-queue-type": "quorum"} if ix.queue_type == "quorum" else None


class ConsumerSession:
    """One AMQP connection's worth of consuming."""

    def __init__(self, ctx: ConsumerContext, generation: int) -> None:
        self.ctx = ctx
        self.ix = ctx.index
        self.generation = generation
        self.options = options_for(ctx.config, ctx.index)
        self.segments: deque[Segment] = deque()
        self.batch = OpenBatch()
        self.message_records = 0
        self.next_batch_id = 0
        self.acked_tag = 0
        self.flushed_tag = 0  # the last message all of whose records are in a segment
        self.backlog_at = 0.0
        params = pika.URLParameters(ctx.config.rabbitmq.url)
        params.heartbeat = ctx.config.rabbitmq.heartbeat
        params.client_properties = {"connection_name": ctx.connection_name}
        self.conn = pika.BlockingConnection(params)
        self.ch = self.conn.channel()
        self.dead_ch = self.conn.channel()
        self.dead_ch.confirm_delivery()
        declare(self.conn, ctx.config, ctx.index)
        self.ch.basic_qos(prefetch_count=ctx.config.rabbitmq.prefetch)
        # records held (read, not yet stored) at most: batch bodies hold many per message
        self.max_held = max(ctx.config.rabbitmq.prefetch, 2 * self.ix.batch_size)
        self.served_at = 0.0
        beat = ctx.config.rabbitmq.heartbeat
        self.keepalive = min(KEEPALIVE_S, max(0.5, beat / 3)) if beat else KEEPALIVE_S
        self.tag = self.ch.basic_consume(self.ix.queue_name, self.on_message)

    def on_message(self, ch: object, method: Basic.Deliver, props: BasicProperties,
                   body: bytes) -> None:
        """One message: one record, or one per line of a batch body (``is_batch``).  A line
        that cannot be indexed is dead-lettered alone; the message is acked once all its
        records are stored (a batch may be cut between two writer batches: the first does not
        ack it)."""
        if not self.batch.records and not self.batch.last_tag:
            self.batch.started = time.monotonic()
        self.message_records = 0  # of this message in the open batch
        arrival = _arrival_us(props)
        if is_batch(props.content_type):
            lines = batch_lines(body)
            metrics.RECEIVED.labels(self.ix.name).inc(max(len(lines), 1))
            if not lines:
                self.dead_letter(body, props, DeadLetter("empty", "batch without a record"))
            for n, line in enumerate(lines):
                self.add(line, method, props, arrival, n)
        else:
            metrics.RECEIVED.labels(self.ix.name).inc()
            self.add(body, method, props, arrival, None)
        self.batch.last_tag = method.delivery_tag  # every record of the message is in
        if len(self.batch.records) >= self.ix.batch_size:
            self.flush()

    def add(self, body: bytes, method: Basic.Deliver, props: BasicProperties,
            arrival_us: int | None, line_no: int | None) -> None:
        try:
            rec = normalise(body, amqp_ts=None if arrival_us else props.timestamp,
                            message_id=props.message_id, arrival_us=arrival_us,
                            content_type=None if line_no is not None else props.content_type,
                            options=self.options, line_no=line_no)
        except DeadLetter as exc:
            self.dead_letter(body, props, exc, line_no)
            return
        except Exception as exc:  # a body no rule foresaw must not stop the queue
            log.exception("cannot read a message; dead-lettering it")
            self.dead_letter(body, props, DeadLetter("unreadable", repr(exc)), line_no)
            return
        for reason in rec.degraded:
            metrics.DEGRADED.labels(self.ix.name, reason).inc()
        if len(self.batch.records) >= self.ix.batch_size:  # cut inside a batch body
            cut = self.message_records > 0
            self.flush()
            self.batch.continued = cut
            self.message_records = 0
        if method.redelivered:
            self.batch.redelivered = True
        self.batch.records.append(rec)
        self.message_records += 1

    def dead_letter(self, body: bytes, props: BasicProperties, exc: DeadLetter,
                    line_no: int | None = None) -> None:
        headers = dict(props.headers or {})
        headers.update({"x-alco-reason": exc.reason, "x-alco-detail": exc.detail[:200]})
        if line_no is not None:
            headers["x-alco-line"] = line_no + 1
        self.dead_ch.basic_publish(
            "", self.ix.queue_name + ".dead", body,
            pika.BasicProperties(headers=headers, delivery_mode=2,
                                 content_type=props.content_type,
                                 message_id=props.message_id))
        metrics.DROPPED.labels(self.ix.name, exc.reason).inc()
        log.info("dead-lettered a %s to %s.dead: %s",
                 "message" if line_no is None else f"line {line_no + 1} of a batch",
                 self.ix.queue_name, exc)

    def flush(self) -> None:
        """Hand the open batch to the writers.  Its segment acks up to the last message all of
        whose records it holds (``last_tag``; 0 when it holds only part of one message)."""
        b = self.batch
        if not b.last_tag and not b.records:
            return
        if b.records:
            pending = set()
            for writer, records in split_by_writer(b.records, len(self.ctx.writer_queues)):
                batch_id = self.next_batch_id
                self.next_batch_id += 1
                name = (f"{self.ctx.shm_prefix}{self.ctx.number}_{os.getpid()}_"
                        f"{self.generation}_{batch_id}")
                handle = batches.pack(records, consumer=self.ctx.number,
                                      generation=self.generation, batch_id=batch_id,
                                      redelivered=b.redelivered, handoff=self.ctx.handoff,
                                      shm_name=name)
                self.ctx.writer_queues[writer].put(handle)
                pending.add(batch_id)
        else:  # only dead-lettered messages: nothing to wait for
            pending = set()
        first = 0 if b.continued else self.flushed_tag + 1
        self.segments.append(Segment(pending, b.last_tag, len(b.records), first))
        if b.last_tag:
            self.flushed_tag = b.last_tag
        self.batch = OpenBatch(started=time.monotonic())
        self.ack_ready()

    def on_reply(self, reply: object) -> None:
        if isinstance(reply, Stored) and reply.generation == self.generation:
            for seg in self.segments:
                if reply.batch_id in seg.pending:
                    seg.pending.discard(reply.batch_id)
                    break
            self.ack_ready()

    def ack_ready(self) -> None:
        """Ack (``multiple``) up to the last message of the stored segments at the head; and
        while an earlier segment waits (its writer is stuck in searchd) and the unacked
        messages near ``prefetch`` (the broker would stop delivering), the messages of the
        stored segments behind it one by one, so that the other writers' lanes keep going."""
        last = 0
        while self.segments and self.segments[0].done:
            seg = self.segments.popleft()
            if not seg.acked:
                last = max(last, seg.last_tag)
        if last > self.acked_tag:
            self.ch.basic_ack(delivery_tag=last, multiple=True)
            self.acked_tag = last
        if self.flushed_tag - self.acked_tag < self.ctx.config.rabbitmq.prefetch // 2:
            return
        for seg in self.segments:
            if seg.done and not seg.acked and seg.first_tag > self.acked_tag \
                    and seg.last_tag >= seg.first_tag:
                for tag in range(seg.first_tag, seg.last_tag + 1):
                    self.ch.basic_ack(delivery_tag=tag)
                seg.acked = True

    def poll_replies(self) -> None:
        while True:
            try:
                reply = self.ctx.reply_queue.get_nowait()
            except queue.Empty:
                return
            self.on_reply(reply)

    def held(self) -> int:
        """Records read and not stored yet (the open batch and the unstored segments)."""
        return len(self.batch.records) + sum(seg.records for seg in self.segments
                                             if not seg.done)

    def receive(self) -> None:
        """Serve the connection (deliveries, heartbeats) unless too many records are held:
        ``prefetch`` bounds messages, and a batch body holds hundreds of records, so then the
        socket is left unread (TCP holds the broker back) and only served every few seconds
        (``KEEPALIVE_S``, a third of the heartbeat) for heartbeats, while the writers catch
        up."""
        now = time.monotonic()
        if self.held() < self.max_held or now - self.served_at >= self.keepalive:
            self.served_at = now
            self.conn.process_data_events(time_limit=0.02)
            return
        try:
            self.on_reply(self.ctx.reply_queue.get(timeout=0.02))
        except queue.Empty:
            pass

    def tick(self) -> None:
        self.receive()
        self.poll_replies()
        b = self.batch
        if (b.last_tag or b.records) and time.monotonic() - b.started >= self.ix.batch_ms / 1000:
            self.flush()
        now = time.monotonic()
        if now - self.backlog_at >= BACKLOG_EVERY:
            self.backlog_at = now
            ok = self.ch.queue_declare(self.ix.queue_name, passive=True)
            metrics.BACKLOG.labels(self.ix.name).set(ok.method.message_count)

    def run(self) -> None:
        while not self.ctx.stop.is_set():
            self.tick()
        self.drain()

    def drain(self) -> None:
        """Stop receiving, hand over the open batch, wait for it to be stored, ack, close."""
        self.ch.basic_cancel(self.tag)
        self.flush()
        deadline = time.monotonic() + self.ctx.config.collector.shutdown_grace
        while self.segments and time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.02)
            try:
                self.on_reply(self.ctx.reply_queue.get(timeout=0.05))
            except queue.Empty:
                pass
        if self.segments:
            log.warning("%d batches not stored within the grace period; they will be "
                        "redelivered", len(self.segments))
        self.close()

    def close(self) -> None:
        try:
            self.conn.close()
        except pika.exceptions.AMQPError:
            pass


def next_generation(ctx: ConsumerContext) -> int:
    gens = ctx.generations
    with gens.get_lock():
        gens[ctx.number] += 1
        return gens[ctx.number]


def wait_for_writers(ctx: ConsumerContext, timeout: float) -> None:
    """Wait until no writer is storing a batch of this consumer (after a generation bump)."""
    mark = ctx.number + 1
    wait_until(lambda: mark not in ctx.busy, timeout, interval=0.02)


def run_consumer(ctx: ConsumerContext) -> None:
    """Process entry point (a plain function): consume until told to stop."""
    backoff = Backoff(RECONNECT_FIRST, RECONNECT_CAP)
    while not ctx.stop.is_set():
        session = None
        try:
            session = ConsumerSession(ctx, next_generation(ctx))
            backoff.reset()
            session.run()
            return
        except (pika.exceptions.AMQPError, OSError) as exc:
            delay = backoff.next_delay()
            log.warning("%s: rabbitmq connection lost (%s); reconnecting in %.1fs",
                        ctx.connection_name, exc, delay)
            if session is not None:
                session.close()
            next_generation(ctx)  # batches of the lost connection are void
            wait_for_writers(ctx, ctx.config.collector.shutdown_grace)
            if ctx.stop.wait(delay):
                return
