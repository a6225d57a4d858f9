"""Publishing to a RabbitMQ topic exchange with *pipelined* publisher confirms.

:class:`ConfirmPublisher` is the one place ALCO drives pika to publish: one ``SelectConnection``
and one channel in confirm mode, many messages in flight, each confirmed (or refused) later by
the broker. It declares the exchange if missing as the shippers' defaults do (a non-durable
topic exchange; one that exists is used as it is) and serves the I/O loop. What to publish
and what a confirm means is up to a subclass: :class:`BufferPublisher` drains a
:class:`ConfirmBuffer` (the publisher thread of :class:`alco.clients.handler.AMQPHandler`);
the sender of :func:`alco.clients.lines.send_lines` pulls lines from an iterator.

Batches at the source: both put many records into one message (:func:`pack`): the records of
one routing key, in order, joined as NDJSON (content type ``application/x-ndjson``), at most
``MAX_RECORDS`` records and ``MAX_BYTES`` bytes per message; a message of one record stays a
plain ``application/json`` body. The collector splits a batch per line (its dedupe, limits and
dead letters hold per line). Per-message costs (pika framing, the broker's delivery, the ack)
are most of a line's CPU, so a batch of a few hundred lines costs a fraction of as many
single-record messages.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import pika

JSON = "application/json"
NDJSON = "application/x-ndjson"
MAX_RECORDS = 500  # records per message at most
MAX_BYTES = 512 * 1024  # body bytes per message at most (a bigger record goes alone)
LINGER = 0.02  # seconds the handler waits after the first record of a burst, for company


class ConfirmPublisher:
    """One connection's life: publish what :meth:`pump` picks, report confirms to the subclass.

    Subclasses implement :meth:`pump` (called in the I/O loop once the channel is in confirm
    mode and whenever :meth:`schedule` asks for it) and :meth:`on_confirm`, and may override
    :meth:`on_lost`. ``failure`` says why the connection ended (None: no failure recorded);
    once ``done`` is set, :meth:`schedule` does nothing.
    """

    def __init__(self, url: str, exchange: str, *, connection_name: str | None = None,
                 blocked_timeout: float | None = None, exchange_durable: bool = False) -> None:
        self.exchange = exchange
        self.exchange_durable = exchange_durable
        self.tag = 0  # delivery tag of the last published message
        self.scheduled = self.declaring = self.done = False
        self.failure: str | None = None
        self.channel: Any = None
        params = pika.URLParameters(url)
        if connection_name is not None:
            params.client_properties = {"connection_name": connection_name}
        if blocked_timeout is not None and params.blocked_connection_timeout is None:
            params.blocked_connection_timeout = blocked_timeout
        self.conn = pika.SelectConnection(
            params, on_open_callback=self._on_open, on_open_error_callback=self._on_lost,
            on_close_callback=self._on_lost)

    # -- for subclasses --------------------------------------------------------------------------
    def pump(self) -> None:
        """Publish what is ready (the channel is open)."""
        raise NotImplementedError

    def on_confirm(self, tag: int, multiple: bool, ack: bool) -> None:
        """The broker confirmed (``ack``) or refused delivery ``tag`` (and all before it if
        ``multiple``)."""
        raise NotImplementedError

    def on_lost(self, reason: Any) -> None:
        """The connection closed or could not be opened; the I/O loop stops after this."""
        self.failure = repr(reason)

    def run_loop(self) -> None:
        """Serve the connection until it is lost; on an exception, close it and re-raise."""
        try:
            self.conn.ioloop.start()
        except BaseException:  # e.g. KeyboardInterrupt, a callback raised, socket trouble
            with contextlib.suppress(Exception):
                self.conn.close()
            raise

    def publish(self, routing_key: str, body: bytes, props: pika.BasicProperties) -> int:
        """Publish one message; returns its delivery tag."""
        self.channel.basic_publish(self.exchange, routing_key, body, props)
        self.tag += 1
        return self.tag

    @staticmethod
    def properties(content_type: str, timestamp: int,
                   message_id: str | None = None) -> pika.BasicProperties:
        """Properties of a persistent message."""
        return pika.BasicProperties(delivery_mode=2, content_type=content_type,
                                    timestamp=timestamp, message_id=message_id)

    def schedule(self) -> None:
        """Call :meth:`pump` soon (once, however often this is called before)."""
        if not self.scheduled and not self.done:
            self.scheduled = True
            self.conn.ioloop.call_later(0, self._pump)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.conn.ioloop.call_later(delay, callback)

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` in the I/O loop; from any thread (ignored if the loop is gone)."""
        with contextlib.suppress(Exception):
            self.conn.ioloop.add_callback_threadsafe(callback)

    @property
    def is_open(self) -> bool:
        return bool(self.conn.is_open)

    def close(self) -> None:
        self.conn.close()

    # -- pika callbacks --------------------------------------------------------------------------
    def _pump(self) -> None:
        self.scheduled = False
        if self.conn.is_open and self.channel is not None:
            self.pump()

    def _on_open(self, conn: Any) -> None:
        self.declaring = True
        conn.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        if self.declaring:
            channel.exchange_declare(self.exchange, exchange_type="topic",
                                     durable=self.exchange_durable,
                                     callback=self._on_declared)
        else:
            self._on_declared(None)

    def _on_declared(self, _frame: Any) -> None:
        self.declaring = False
        self.channel.confirm_delivery(ack_nack_callback=self._on_confirm,
                                      callback=lambda _f: self.schedule())

    def _on_channel_closed(self, _channel: Any, reason: Any) -> None:
        if self.declaring and getattr(reason, "reply_code", None) == 406:
            self.declaring = False  # exists with other arguments: publish to it anyway
            self.conn.channel(on_open_callback=self._on_channel)
        elif self.conn.is_open:
            self.failure = self.failure or f"channel closed: {reason!r}"
            self.conn.close()

    def _on_lost(self, _conn: Any, reason: Any) -> None:
        self.on_lost(reason)
        self.conn.ioloop.stop()

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        ack = isinstance(method, pika.spec.Basic.Ack)
        self.on_confirm(method.delivery_tag, bool(method.multiple), ack)


Item = tuple[str, bytes, int, str | None]  # routing key, body, timestamp, message id
Message = tuple[str, bytes, str, int, str, int]  # key, body, content type, ts, id, records


def pack(items: Sequence[Item], max_records: int = MAX_RECORDS,
         max_bytes: int = MAX_BYTES) -> list[Message]:
    """Messages for ``items``: per routing key, in order, runs of at most ``max_records``
    records and ``max_bytes`` bytes joined by ``\\n`` (NDJSON); a run of one record is sent as
    it is (``application/json``). Timestamp and message id of a batch: its first record's
    (a new id when that has none)."""
    by_key: dict[str, list[Item]] = {}
    for item in items:
        by_key.setdefault(item[0], []).append(item)
    out: list[Message] = []
    for key, group in by_key.items():
        run: list[Item] = []
        size = 0
        for item in group:
            if run and (len(run) >= max_records or size + len(item[1]) + 1 > max_bytes):
                out.append(_message(key, run))
                run, size = [], 0
            run.append(item)
            size += len(item[1]) + 1
        if run:
            out.append(_message(key, run))
    return out


def _message(key: str, run: list[Item]) -> Message:
    _, body, ts, message_id = run[0]
    message_id = message_id or uuid.uuid4().hex
    if len(run) == 1:
        return key, body, JSON, ts, message_id, 1
    return key, b"\n".join(item[1] for item in run), NDJSON, ts, message_id, len(run)


class Confirms:
    """Which delivery tags the broker confirmed: all up to ``upto``, plus single ones above."""

    def __init__(self) -> None:
        self.upto = 0
        self.single: set[int] = set()

    def ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self.upto = max(self.upto, tag)
        else:
            self.single.add(tag)
        while self.upto + 1 in self.single:
            self.upto += 1
            self.single.discard(self.upto)
        if multiple and self.single:
            self.single = {t for t in self.single if t > self.upto}


class ConfirmBuffer:
    """Bounded FIFO of messages; a :class:`BufferPublisher` peeks at items and removes them only
    once the broker confirmed them."""

    def __init__(self, size: int) -> None:
        self._items: deque[Item] = deque()
        self._size = max(1, size)
        self._cond = threading.Condition(threading.Lock())
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> bool:
        with self._cond:
            if len(self._items) >= self._size:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def wait_items(self, timeout: float) -> bool:
        with self._cond:
            return bool(self._cond.wait_for(lambda: self._items or self.closed, timeout))

    def peek_from(self, start: int, n: int) -> list[Item]:
        with self._cond:
            return list(itertools.islice(self._items, start, start + n))

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def remove_first(self, n: int = 1) -> None:
        with self._cond:
            for _ in range(n):
                self._items.popleft()
            if not self._items:
                self._cond.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._items, timeout)


class BufferPublisher(ConfirmPublisher):
    """One connection's life in a publisher thread, draining a :class:`ConfirmBuffer`: up to
    ``batch`` records per turn of the I/O loop, packed into messages (:func:`pack`), up to
    ``window`` records unconfirmed. The buffer's first ``inflight_records`` items are the
    published, unconfirmed ones; a turn's records are removed (and counted through
    ``on_confirmed(n)``) once the broker confirmed all of its messages. The first record after
    an idle spell waits ``linger`` seconds for others to join it. Stops once ``stop`` is set."""

    def __init__(self, url: str, exchange: str, connection_name: str, buffer: ConfirmBuffer,
                 stop: threading.Event, on_confirmed: Callable[[int], None],
                 batch: int = 2000, window: int = 8000, linger: float = LINGER,
                 max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(url, exchange, connection_name=connection_name, blocked_timeout=30.0)
        self.buffer, self.stop, self.on_confirmed = buffer, stop, on_confirmed
        self.batch, self.window, self.linger = batch, window, linger
        self.max_records, self.max_bytes = max_records, max_bytes
        self.turns: deque[tuple[int, int]] = deque()  # (last delivery tag, records), oldest first
        self.inflight_records = 0
        self.acks = Confirms()
        self.confirmed = 0
        self.messages = 0  # messages published on this connection
        self.idle = False

    def run(self) -> str:
        """Publish until the connection fails or ``stop`` is set; returns why it ended."""
        try:
            self.run_loop()
        except Exception as exc:  # pika or socket trouble outside the callbacks
            self.failure = repr(exc)
        return self.failure or "connection closed"

    def wake(self) -> None:
        """Called from any thread when the buffer got an item while the publisher was idle."""
        if self.idle:
            self.idle = False
            self.call_soon_threadsafe(self._linger)

    def _linger(self) -> None:
        self.call_later(self.linger, self.schedule)

    def pump(self) -> None:
        if self.stop.is_set():  # the owner closes: flushed already, or gave up waiting
            self.failure = "publisher stopped"
            self.close()
            return
        room = min(self.window - self.inflight_records, self.batch)
        items = self.buffer.peek_from(self.inflight_records, room) if room > 0 else []
        if not items and room > 0:
            self.idle = True  # set before looking again: wake() is called from now on
            items = self.buffer.peek_from(self.inflight_records, room)
            if not items:
                self.call_later(1.0, self._pump_if_idle)  # a lost wake-up, or stop
                return
            self.idle = False
        if not items:
            return  # a full window is resumed by confirms
        for key, body, ctype, ts, message_id, _n in pack(items, self.max_records,
                                                          self.max_bytes):
            self.publish(key, body, self.properties(ctype, ts, message_id))
            self.messages += 1
        self.turns.append((self.tag, len(items)))
        self.inflight_records += len(items)
        if len(items) == room and self.inflight_records < self.window:
            self.schedule()  # more may wait; a full window is resumed by confirms

    def _pump_if_idle(self) -> None:
        if self.idle:
            self.idle = False
            self.schedule()

    def on_confirm(self, tag: int, multiple: bool, ack: bool) -> None:
        if not ack:
            self.failure = "the broker refused (nack) a message"
            self.close()  # unconfirmed messages are still buffered: resent on reconnect
            return
        self.acks.ack(tag, multiple)
        done = 0
        while self.turns and self.turns[0][0] <= self.acks.upto:
            done += self.turns.popleft()[1]
        if done:
            self.inflight_records -= done
            self.buffer.remove_first(done)  # only now: confirmed by the broker
            self.on_confirmed(done)
            self.confirmed += done
            self.schedule()


def queue_exists(url: str, queue: str) -> bool | None:
    """Whether the broker has ``queue`` (a passive declare); None when it cannot be asked."""
    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout = 1, 3
    try:
        conn = pika.BlockingConnection(params)
    except (pika.exceptions.AMQPError, OSError):
        return None
    try:
        conn.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()
