"""A ``logging.Handler`` that publishes logcollect-compatible JSON to RabbitMQ.

Bodies carry the fields ``logcollect`` sends (DESIGN §10), routing key ``<prefix>.<logger name>``.
One difference: ``@timestamp`` is UTC with microseconds and an explicit offset
(``2026-11-24T03:57:23.986993+00:00``), where logcollect writes *local* time with a literal ``Z``.

``emit()`` only serialises the record (in the caller's thread) and appends the bytes to a buffer
of ``buffer_size`` entries; it never blocks and never raises. A daemon thread owns the pika
``BlockingConnection``, publishes with publisher confirms (an entry leaves the buffer only once
the broker accepted it, so the buffer bounds unsent and in-flight records together) and
reconnects with exponential backoff (0.5 s .. 30 s). When the buffer is full, records are
dropped and counted in ``handler.dropped``. ``BlockingChannel`` confirms one message per
round-trip: about 2k msg/s into a durable queue on the 2-core dev VM, 6k into a transient one;
the buffer absorbs bursts above that. Its own problems are logged through the
``alco.handler`` logger; records of that logger, and anything logged from the publisher thread
(e.g. by pika), are never published by the handler itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import socket
import threading
import uuid
import weakref
from collections import deque
from typing import Any

import orjson
import pika

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
BATCH = 500
log = logging.getLogger("alco.handler")

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName",
}
_PROTECTED = ("@timestamp", "@version", "message", "seq")  # extras never override these
_SEQ = itertools.count(1)  # per-process sequence shared by every handler
_HOST = socket.gethostname()
_FORMATTER = logging.Formatter()
_HANDLERS: weakref.WeakSet[AMQPHandler] = weakref.WeakSet()


def _default(obj: Any) -> str:
    try:
        return str(obj)
    except Exception:  # a broken __str__ must not lose the record
        return object.__repr__(obj)


def dumps(body: dict[str, Any]) -> bytes:
    """Serialise with orjson; values it cannot encode become ``str(value)``."""
    try:
        return orjson.dumps(body, default=_default)
    except (TypeError, orjson.JSONEncodeError):  # e.g. ints > 64 bit, lone surrogates
        return json.dumps(body, default=_default).encode()


_Item = tuple[str, bytes, int, str]  # routing key, body, timestamp, message id


class _Buffer:
    """Bounded FIFO; the publisher peeks and removes an item only once it is confirmed."""

    def __init__(self, size: int) -> None:
        self._items: deque[_Item] = deque()
        self._size = max(1, size)
        self._cond = threading.Condition(threading.Lock())
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: _Item) -> bool:
        with self._cond:
            if len(self._items) >= self._size:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def peek(self, n: int, timeout: float) -> list[_Item]:
        with self._cond:
            self._cond.wait_for(lambda: self._items or self.closed, timeout)
            return list(itertools.islice(self._items, n))

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def remove_first(self) -> None:
        with self._cond:
            self._items.popleft()
            if not self._items:
                self._cond.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._items, timeout)


class AMQPHandler(logging.Handler):
    """Publish log records as logcollect-style JSON to a RabbitMQ topic exchange.

    Attributes ``published`` and ``dropped`` count messages confirmed by the broker and
    records lost (buffer full, or still buffered when ``close()`` gave up).
    ``connection_name`` is the name the connection shows in RabbitMQ.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        exchange: str = "logstash",
        routing_key_prefix: str = "logstash",
        project: str | None = None,
        application: str | None = None,
        buffer_size: int = 10000,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.url, self.exchange, self.routing_key_prefix = url, exchange, routing_key_prefix
        self.project, self.application = project, application
        self.buffer_size = buffer_size
        self._init_state()
        _HANDLERS.add(self)

    def _init_state(self) -> None:
        self.connection_name = f"alco.handler {_HOST} pid={os.getpid()} {uuid.uuid4().hex[:8]}"
        self.published = 0
        self.dropped = 0
        self._buffer = _Buffer(self.buffer_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._start_lock = threading.Lock()
        self._conn: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._closed = False
        self._stalled_at: int | None = None  # value of `published` when a flush timed out

    # -- caller side ---------------------------------------------------------------------------
    def format_body(self, record: logging.LogRecord) -> bytes:
        """The JSON body for ``record``: logcollect's fields plus ``extra=`` attributes (which
        may replace any field except ``@timestamp``, ``@version``, ``message`` and ``seq``)."""
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="microseconds")
        body: dict[str, Any] = {
            "@timestamp": ts, "@version": 1, "message": record.getMessage(), "host": _HOST,
            "tags": [], "type": "Logstash", "seq": next(_SEQ), "levelname": record.levelname,
            "logger": record.name, "stack_info": record.stack_info, "process": record.process,
            "processName": record.processName, "threadName": record.threadName,
            "lineno": record.lineno, "funcName": record.funcName, "module": record.module,
            "pathname": record.pathname,
        }
        if self.project is not None:
            body["project"] = self.project
        if self.application is not None:
            body["application"] = self.application
        if record.exc_info and record.exc_info[0] is not None:
            body["exc_info"] = record.exc_text or _FORMATTER.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in _PROTECTED:
                body[key] = value
        return dumps(body)

    def handle(self, record: logging.LogRecord) -> bool:
        # Checked before the handler lock is taken: the publisher thread may log while
        # flush() holds that lock (logging.shutdown does), and must never wait for it.
        if record.name == "alco.handler" or record.name.startswith("alco.handler."):
            return False
        if self._thread_id is not None and record.thread == self._thread_id:
            return False
        return super().handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prefix = self.routing_key_prefix
            key = f"{prefix}.{record.name}" if prefix else record.name
            item = (key, self.format_body(record), int(record.created), uuid.uuid4().hex)
            if self._thread is None:
                self._start()
            if self._closed or not self._buffer.put(item):
                self.dropped += 1
        except Exception:  # logging must never break the application
            self.handleError(record)

    def flush(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Wait until everything buffered was confirmed by the broker; False on timeout."""
        if self._buffer.wait_empty(timeout):
            self._stalled_at = None
            return True
        self._stalled_at = self.published
        return False

    def close(self, timeout: float = 5.0) -> None:  # type: ignore[override]
        """Flush (at most ``timeout`` s), stop the publisher thread and close the connection.

        Records still buffered then are counted as dropped. If the last flush() timed out
        without progress since (broker down; ``logging.shutdown`` flushes, then closes), waits
        at most 0.5 s more, so a program does not hang at exit.
        """
        try:
            if self._thread is not None and not self._closed:
                if self._stalled_at == self.published:
                    timeout = min(timeout, 0.5)
                self.flush(timeout)
                self._closed = True
                self._stop.set()
                self._buffer.close()
                self._thread.join(2.0)
                self.dropped += len(self._buffer)
        finally:
            self._closed = True
            _HANDLERS.discard(self)
            super().close()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._stop.clear()
                thread = threading.Thread(target=self._run, name="alco.handler", daemon=True)
                thread.start()
                self._thread = thread

    # -- publisher thread ----------------------------------------------------------------------
    def _run(self) -> None:
        self._thread_id = threading.get_ident()
        delay = 0.5
        while True:
            batch = self._buffer.peek(BATCH, timeout=1.0)
            if not batch:
                if self._stop.is_set():
                    break
                self._idle()
                continue
            try:
                self._publish(batch)
                delay = 0.5
            except Exception as exc:  # any pika/socket error: back off, retry
                self._disconnect()
                if self._stop.is_set():
                    break
                log.warning("alco.handler: publishing to %s failed (%r); retry in %.1f s",
                            self.exchange, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
        self._disconnect()

    def _publish(self, batch: list[_Item]) -> None:
        channel = self._channel if self._channel is not None else self._connect()
        for key, body, ts, message_id in batch:
            props = pika.BasicProperties(
                delivery_mode=2, content_type="application/json", timestamp=ts,
                message_id=message_id)
            channel.basic_publish(self.exchange, key, body, props)  # returns once confirmed
            self._buffer.remove_first()
            self.published += 1

    def _connect(self) -> Any:
        params = pika.URLParameters(self.url)
        params.client_properties = {"connection_name": self.connection_name}
        if params.blocked_connection_timeout is None:
            params.blocked_connection_timeout = 30.0
        self._conn = pika.BlockingConnection(params)
        channel = self._conn.channel()
        try:
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 406:  # exists with other arguments: publish to it anyway
                raise
            channel = self._conn.channel()
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _idle(self) -> None:
        if self._conn is not None:
            try:
                self._conn.process_data_events(0)  # heartbeats
            except Exception as exc:
                log.info("alco.handler: connection lost while idle (%s)", exc)
                self._disconnect()

    def _disconnect(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):  # already broken
                conn.close()


def _after_fork_in_child() -> None:
    # The publisher thread and the parent's connection do not exist in a forked child: start
    # afresh (records still buffered belong to the parent, which publishes them).
    for handler in list(_HANDLERS):
        handler._init_state()


os.register_at_fork(after_in_child=_after_fork_in_child)


def boot(
    url: str = DEFAULT_URL, exchange: str = "logstash", level: int = logging.INFO, **kw: Any
) -> AMQPHandler:
    """Attach an :class:`AMQPHandler` to the root logger and set its level (idempotent).

    ``kw`` goes to the handler (``project``, ``application``, ...). Called again, it returns the
    handler already attached instead of adding a second one.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler, AMQPHandler):
            return handler
    handler = AMQPHandler(url, exchange, **kw)
    root.addHandler(handler)
    return handler


def django_logging(
    url: str = DEFAULT_URL,
    exchange: str = "logstash",
    level: str = "INFO",
    loggers: tuple[str, ...] = ("",),
    **kw: Any,
) -> dict[str, Any]:
    """A ``LOGGING`` fragment (``handlers``/``loggers``) for Django settings.

    Merge it into ``LOGGING``, e.g.::

        LOGGING = {"version": 1, "disable_existing_loggers": False,
                   **django_logging("amqp://...", project="shop", application="web")}

    ``loggers`` names the loggers to attach to (``""`` is the root logger).
    """
    handler = {"class": "alco.handler.AMQPHandler", "level": level, "url": url,
               "exchange": exchange, **kw}
    return {
        "handlers": {"alco": handler},
        "loggers": {name: {"handlers": ["alco"], "level": level} for name in loggers},
    }


def celery_setup(
    url: str = DEFAULT_URL, exchange: str = "logstash", level: int = logging.INFO, **kw: Any
) -> AMQPHandler | None:
    """Attach one :class:`AMQPHandler` to Celery's loggers once Celery has set them up.

    Connects to the ``after_setup_logger`` and ``after_setup_task_logger`` signals. Celery is
    imported lazily and is not a dependency: without it this returns None and does nothing.
    """
    try:
        from celery import signals
    except ImportError:
        return None
    handler = AMQPHandler(url, exchange, level=level, **kw)

    def attach(sender: Any = None, logger: logging.Logger | None = None, **_: Any) -> None:
        if logger is not None and handler not in logger.handlers:
            logger.addHandler(handler)

    signals.after_setup_logger.connect(attach, weak=False)
    signals.after_setup_task_logger.connect(attach, weak=False)
    return handler
