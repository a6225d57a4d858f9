"""A ``logging.Handler`` that publishes logcollect-compatible JSON to RabbitMQ.

Bodies carry the fields the ``logcollect`` library sends, routing key ``<prefix>.<logger name>``.
One difference: ``@timestamp`` is UTC with microseconds and an explicit offset
(``2026-11-24T03:57:23.986993+00:00``), where logcollect writes *local* time with a literal ``Z``.

``emit()`` only serialises the record (in the caller's thread) and appends the bytes to a buffer
of ``buffer_size`` entries; it never blocks and never raises. A daemon thread owns a pika
``SelectConnection`` and publishes *batches*: the records buffered meanwhile (the first of a
burst waits ``LINGER`` = 20 ms for company), per routing key, up to 500 records or 512 KiB per
message, as NDJSON (``application/x-ndjson``; a lone record stays ``application/json``), with
*pipelined* publisher confirms (up to ``WINDOW`` records unconfirmed): a record leaves the
buffer only once the broker confirmed its message, so the buffer bounds unsent and in-flight
records together, and whatever was unconfirmed when a connection failed is sent again after
reconnecting (exponential backoff, 0.5 s .. 30 s). When the buffer is full, records are dropped
and counted in ``handler.dropped``.
Its own problems are logged through the ``alco.handler`` logger; records of that logger,
anything logged from the publisher thread (e.g. by pika), and anything logged while the handler
itself runs in the caller's thread (pika's ``add_callback_threadsafe`` debug lines when the root
logger is at DEBUG) are never published by the handler, nor pika's DEBUG records at all (its
connection's address resolver logs from a thread of its own).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import socket
import threading
import uuid
import weakref
from typing import Any

import orjson

from alco.clients.publisher import BufferPublisher, ConfirmBuffer
from alco.process.backoff import Backoff

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
BATCH = 2000  # records published per turn of the I/O loop (packed into batch messages)
WINDOW = 8000  # unconfirmed records at most
RETRY_FIRST, RETRY_CAP = 0.5, 30.0  # seconds between attempts to reconnect
log = logging.getLogger("alco.handler")

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName",
}
_PROTECTED = ("@timestamp", "@version", "message", "seq")  # extras never override these
_SEQ = itertools.count(1)  # per-process sequence shared by every handler
_HOST = socket.gethostname()
_FORMATTER = logging.Formatter()
_HANDLERS: weakref.WeakSet[AMQPHandler] = weakref.WeakSet()
_INSIDE = threading.local()  # ``on``: a handler's own code runs in this thread (emit, close)


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


class AMQPHandler(logging.Handler):
    """Publish log records as logcollect-style JSON to a RabbitMQ topic exchange.

    Attributes ``published`` and ``dropped`` count records confirmed by the broker and
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
        self._buffer = ConfirmBuffer(self.buffer_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._start_lock = threading.Lock()
        self._publisher: BufferPublisher | None = None
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
        if getattr(_INSIDE, "on", False):  # logged by what the handler calls (pika)
            return False
        if record.levelno < logging.INFO and record.name.startswith("pika"):
            return False  # the transport's chatter, from whichever thread it runs in
        return super().handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        _INSIDE.on = True
        try:
            prefix = self.routing_key_prefix
            key = f"{prefix}.{record.name}" if prefix else record.name
            item = (key, self.format_body(record), int(record.created), None)
            if self._thread is None:
                self._start()
            if self._closed or not self._buffer.put(item):
                self.dropped += 1
            else:
                self._wake()
        except Exception:  # logging must never break the application
            self.handleError(record)
        finally:
            _INSIDE.on = False

    def flush(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Wait until everything buffered was confirmed by the broker; False on timeout."""
        if self._buffer.wait_empty(timeout):
            self._stalled_at = None
            return True
        self._stalled_at = self.published
        return False

    def close(self, timeout: float = 5.0) -> None:
        """Flush (at most ``timeout`` s), stop the publisher thread and close the connection.

        Records still buffered then are counted as dropped. If the last flush() timed out
        without progress since (broker down; ``logging.shutdown`` flushes, then closes), waits
        at most 0.5 s more, so a program does not hang at exit.
        """
        _INSIDE.on = True
        try:
            if self._thread is not None and not self._closed:
                if self._stalled_at == self.published:
                    timeout = min(timeout, 0.5)
                self.flush(timeout)
                self._closed = True
                self._stop.set()
                self._buffer.close()
                self._wake()
                self._thread.join(2.0)
                self.dropped += len(self._buffer)
        finally:
            _INSIDE.on = False
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
        backoff = Backoff(RETRY_FIRST, RETRY_CAP)
        while not self._stop.is_set():
            if not self._buffer.wait_items(timeout=1.0):
                continue  # connect only once there is something to send
            confirmed, failure = self._publish_until_failure()
            if self._stop.is_set():
                break
            if confirmed:
                backoff.reset()
            delay = backoff.next_delay()
            log.warning("alco.handler: publishing to %s failed (%s); retry in %.1f s",
                        self.exchange, failure, delay)
            self._stop.wait(delay)

    def _publish_until_failure(self) -> tuple[int, str]:
        """One connection: how many messages it got confirmed, and why it ended."""
        try:
            publisher = BufferPublisher(self.url, self.exchange, self.connection_name,
                                        self._buffer, self._stop, self._count_published,
                                        batch=BATCH, window=WINDOW)
        except Exception as exc:  # e.g. a malformed URL: keep retrying, never die
            return 0, repr(exc)
        self._publisher = publisher
        try:
            failure = publisher.run()
            return publisher.confirmed, failure
        finally:
            self._publisher = None

    def _count_published(self, n: int) -> None:
        self.published += n

    def _wake(self) -> None:
        publisher = self._publisher
        if publisher is not None:
            publisher.wake()


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
