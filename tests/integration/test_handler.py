"""AMQPHandler against a real RabbitMQ: one throwaway topic exchange and queue per test."""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import time
import types
import uuid
from collections.abc import Iterator

import orjson
import pika
import pytest

from alco.clients import handler as handler_mod
from alco.clients.handler import AMQPHandler, boot, celery_setup, django_logging
from tests.helpers import NDJSON, Broker, records

pytestmark = pytest.mark.integration
URL = os.environ.get("ALCO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def take_records(broker: Broker, n: int, timeout: float = 10.0) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += records(broker.take(1, timeout=max(0.01, deadline - time.monotonic())))
    return got + records(broker.take(0)) if broker.settle else got


@pytest.fixture
def broker() -> Iterator[Broker]:
    try:
        b = Broker(URL, settle=0.3)  # catches duplicates
    except pika.exceptions.AMQPConnectionError as exc:
        pytest.skip(f"RabbitMQ not reachable: {exc}")
    yield b
    b.close()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    lg = logging.getLogger(f"test.alco.handler.{uuid.uuid4().hex[:8]}")
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    yield lg
    for h in list(lg.handlers):
        lg.removeHandler(h)
        h.close()


def test_body_fields_routing_key_and_properties(broker: Broker, logger: logging.Logger) -> None:
    h = AMQPHandler(URL, exchange=broker.exchange, project="shop", application="backend")
    logger.addHandler(h)
    before = time.time()
    logger.info("hello %s", "world", extra={"request_id": "r1", "odd": object()})
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("boom", extra={"request_id": "r1"})
    h.close()
    assert (h.published, h.dropped) == (2, 0)

    msgs = broker.take(1)  # both records in one batch message (logged within the linger)
    assert len(msgs) == 1
    info, error = (orjson.loads(body) for body in records(msgs))
    for method, props, _ in msgs:
        assert method.routing_key == f"logstash.{logger.name}"
        assert props.delivery_mode == 2
        assert props.content_type == NDJSON
        assert isinstance(props.timestamp, int) and before - 1 <= props.timestamp <= time.time()
        assert len(props.message_id) == 32 and int(props.message_id, 16) >= 0

    stamp = dt.datetime.fromisoformat(info["@timestamp"])
    assert info["@timestamp"].endswith("+00:00") and len(info["@timestamp"]) == 32
    assert stamp.utcoffset() == dt.timedelta(0) and abs(stamp.timestamp() - before) < 5
    expected = {
        "@version": 1, "message": "hello world", "host": handler_mod.socket.gethostname(),
        "tags": [], "type": "Logstash", "levelname": "INFO", "logger": logger.name,
        "stack_info": None, "process": os.getpid(), "processName": "MainProcess",
        "threadName": "MainThread", "funcName": "test_body_fields_routing_key_and_properties",
        "module": "test_handler", "pathname": __file__, "project": "shop",
        "application": "backend", "request_id": "r1",
    }
    assert {k: info[k] for k in expected} == expected
    assert isinstance(info["lineno"], int)
    assert info["odd"].startswith("<object object")
    assert "exc_info" not in info
    assert error["levelname"] == "ERROR" and error["message"] == "boom"
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad value" in error["exc_info"]
    assert error["request_id"] == "r1"
    assert error["seq"] > info["seq"]


def test_thousand_records_arrive_exactly_once(broker: Broker, logger: logging.Logger) -> None:
    h = AMQPHandler(URL, exchange=broker.exchange)
    logger.addHandler(h)
    for i in range(1000):
        logger.info("line %d", i)
    h.close()
    assert (h.published, h.dropped) == (1000, 0)
    bodies = take_records(broker, 1000, timeout=30)
    messages = [orjson.loads(body)["message"] for body in bodies]
    assert sorted(messages) == sorted(f"line {i}" for i in range(1000))
    assert messages == [f"line {i}" for i in range(1000)]  # and in order


def test_full_buffer_drops_and_emit_never_blocks(logger: logging.Logger) -> None:
    h = AMQPHandler("amqp://guest:guest@127.0.0.1:1/", exchange="test.alco.nowhere",
                    buffer_size=10)
    logger.addHandler(h)
    start = time.perf_counter()
    for i in range(100):
        logger.error("cannot be sent %d", i)
    elapsed = time.perf_counter() - start
    assert h.dropped >= 90
    assert elapsed < 0.5
    assert h.flush(timeout=0.1) is False
    logger.removeHandler(h)
    start = time.perf_counter()
    h.close(timeout=0.2)
    assert time.perf_counter() - start < 3
    assert h.dropped == 100 and h.published == 0


def _rabbitmqctl(*args: str) -> str:
    out = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                         timeout=30, check=True)
    return out.stdout


def _connection_pids(name: str) -> list[str]:
    """Erlang pids of the connections whose client named itself ``name``."""
    rows = json.loads(_rabbitmqctl("list_connections", "name", "client_properties",
                                   "--formatter", "json") or "[]")
    peers = {row["name"] for row in rows
             if ["connection_name", "longstr", name] in row["client_properties"]}
    table = _rabbitmqctl("--no-table-headers", "list_connections", "pid", "name")
    return [pid for pid, _, peer in (line.partition("\t") for line in table.splitlines())
            if peer in peers]


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl")
def test_reconnects_after_broker_closes_connection(
    broker: Broker, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alco.handler")
    h = AMQPHandler(URL, exchange=broker.exchange)
    logger.addHandler(h)
    for i in range(20):
        logger.info("before %d", i)
    assert h.flush(timeout=10)
    pids = _connection_pids(h.connection_name)
    assert len(pids) == 1  # only this handler's connection is closed, nothing else
    _rabbitmqctl("close_connection", pids[0], "alco test: forced close")
    for i in range(20):
        logger.info("after %d", i)
    assert h.flush(timeout=15)
    h.close()
    messages = {orjson.loads(body)["message"] for body in take_records(broker, 40)}
    assert messages == {f"{w} {i}" for w in ("before", "after") for i in range(20)}
    assert h.published == 40
    assert any(r.name == "alco.handler" for r in caplog.records)  # it noticed, and said so


def test_own_records_are_never_published() -> None:
    h = AMQPHandler("amqp://guest:guest@127.0.0.1:1/")
    for name in ("alco.handler", "alco.handler.sub"):
        record = logging.LogRecord(name, logging.WARNING, __file__, 1, "x", (), None)
        assert not h.handle(record)
    assert len(h._buffer) == 0 and h._thread is None
    h.close(timeout=0.1)


def _child_logs(logger_name: str) -> None:
    logging.getLogger(logger_name).info("from child")
    for h in logging.getLogger(logger_name).handlers:
        h.close()


def test_forked_child_publishes_through_its_own_thread(
    broker: Broker, logger: logging.Logger
) -> None:
    h = AMQPHandler(URL, exchange=broker.exchange)
    logger.addHandler(h)
    logger.info("from parent")
    assert h.flush(timeout=10)
    child = multiprocessing.get_context("fork").Process(target=_child_logs, args=(logger.name,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    h.close()
    bodies = [orjson.loads(body) for body in take_records(broker, 2)]
    assert sorted(b["message"] for b in bodies) == ["from child", "from parent"]
    assert {b["process"] for b in bodies} == {os.getpid(), child.pid}


def test_boot_is_idempotent() -> None:
    root = logging.getLogger()
    level = root.level
    first = boot("amqp://guest:guest@127.0.0.1:1/", exchange="test.alco.boot")
    try:
        assert boot("amqp://guest:guest@127.0.0.1:1/", exchange="test.alco.boot") is first
        assert [h for h in root.handlers if isinstance(h, AMQPHandler)] == [first]
        assert root.level == logging.INFO
    finally:
        root.removeHandler(first)
        root.setLevel(level)
        first.close(timeout=0.1)


def test_django_logging_fragment_works_with_dictconfig(broker: Broker) -> None:
    fragment = django_logging(URL, exchange=broker.exchange, loggers=("shop",), project="shop")
    assert fragment["handlers"]["alco"]["class"] == "alco.handler.AMQPHandler"
    script = textwrap.dedent(f"""
        import logging, logging.config
        logging.config.dictConfig({{"version": 1, "disable_existing_loggers": False,
                                   **{fragment!r}}})
        logging.getLogger("shop.views").warning("via django settings")
    """)  # the record is flushed by logging.shutdown() at exit
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env=env)
    [(method, _, body)] = broker.take(1)
    assert method.routing_key == "logstash.shop.views"
    body = orjson.loads(body)
    assert (body["message"], body["project"]) == ("via django settings", "shop")


def test_celery_setup_connects_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "celery", None)  # not installed
    assert celery_setup("amqp://guest:guest@127.0.0.1:1/") is None

    receivers: list = []
    signal = types.SimpleNamespace(connect=lambda fn, weak=True: receivers.append(fn))
    signals = types.SimpleNamespace(after_setup_logger=signal, after_setup_task_logger=signal)
    monkeypatch.setitem(sys.modules, "celery", types.SimpleNamespace(signals=signals))
    h = celery_setup("amqp://guest:guest@127.0.0.1:1/", level=logging.WARNING)
    assert isinstance(h, AMQPHandler) and h.level == logging.WARNING and len(receivers) == 2
    task_logger = logging.getLogger(f"test.alco.celery.{uuid.uuid4().hex[:8]}")
    for receiver in receivers:
        receiver(sender=None, logger=task_logger, loglevel=logging.INFO)
    assert task_logger.handlers == [h]
    task_logger.removeHandler(h)
    h.close(timeout=0.1)


def test_what_its_transport_logs_at_debug_is_never_published(broker: Broker) -> None:
    """The root logger at DEBUG: pika's own records (``add_callback_threadsafe: added
    callback``, logged in the caller's thread while the handler wakes its publisher) stay
    out of the exchange; only the application's records arrive."""
    root, pika_log = logging.getLogger(), logging.getLogger("pika")
    levels = root.level, pika_log.level
    h = AMQPHandler(URL, exchange=broker.exchange)
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    pika_log.setLevel(logging.DEBUG)
    try:
        app = logging.getLogger(f"test.alco.app.{uuid.uuid4().hex[:8]}")
        for i in range(300):
            app.info("line %d", i)
            if i % 50 == 0:
                assert h.flush(10)  # the publisher goes idle: the next record wakes it
    finally:
        root.removeHandler(h)
        root.setLevel(levels[0])
        pika_log.setLevel(levels[1])
        h.close()
    loggers = {orjson.loads(body)["logger"] for body in take_records(broker, 300)}
    assert loggers == {app.name}
    assert (h.published, h.dropped) == (300, 0)
