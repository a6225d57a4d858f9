"""Helpers of the tests and the benchmarks: free ports, a TOML writer for configs, waiting on
conditions, a deployment of its own on the real servers (config tables, clean-up), publishing
and reading lines."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_random = random.Random()  # (not the tests' seeded module-level random)


PORTS = (20_000, 32_000)  # below the kernel's usual ephemeral range (32768-60999)


def free_port() -> int:
    """A port nothing listens on, for a server a test starts a moment later.  Not one the
    kernel picks for ``bind(0)``: such a port, released, can become the local end of an
    outgoing connection (to RabbitMQ, Redis, searchd) before the server binds it (seen in
    CI: 'Address already in use').  Ports below the ephemeral range are never taken that
    way; a random one that binds now is used."""
    first, end = PORTS
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
        end = min(end, low)
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(100):
        port = _random.randrange(first, end)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # (a crowded range: what the kernel gives)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v: Any) -> str:
    """A TOML literal of a scalar, list or inline table."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(data: dict[str, Any]) -> str:
    """Enough TOML for ALCO configs: tables of scalars and an [[index]] array."""
    out = []
    for section, table in data.items():
        if section == "index":
            for ix in table:
                out.append("[[index]]")
                out += [f"{k} = {toml_value(v)}" for k, v in ix.items()]
            continue
        out.append(f"[{section}]")
        out += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def discard(searchd: Any) -> None:
    """Stop a test's searchd whose data goes with the test: kill -9 (a graceful stop of a
    searchd with distributed indexes takes ~3 s)."""
    proc = getattr(searchd, "proc", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def own_servers(tmp: Path, rabbit_url: str, redis_url: str, exchange: str, prefix: str,
                shutdown_grace: float) -> dict[str, Any]:
    """Config tables of a deployment of its own on the real servers: its exchange and Redis
    prefix, searchd, web app and metrics on free ports, files under ``tmp``."""
    return {
        "rabbitmq": {"url": rabbit_url, "exchange": exchange},
        "redis": {"url": redis_url, "prefix": prefix},
        "sphinx": {"port": free_port(), "data_dir": str(tmp / "sphinx")},
        "web": {"bind": f"127.0.0.1:{free_port()}"},
        "collector": {"metrics_bind": f"127.0.0.1:{free_port()}",
                      "metrics_dir": str(tmp / "metrics"), "shutdown_grace": shutdown_grace},
    }


def delete_exchange(url: str, exchange: str, queues: list[str]) -> None:
    """Delete an exchange and queues (quietly nothing when RabbitMQ does not answer)."""
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(url))
    except Exception:
        return
    ch = conn.channel()
    for q in queues:
        ch.queue_delete(q)
    ch.exchange_delete(exchange)
    conn.close()


def delete_keys(url: str, prefix: str) -> None:
    """Delete every Redis key under ``<prefix>:``."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + ":*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i:i + 1000])


def publish(url: str, exchange: str, bodies: list[bytes], routing_key: str = "logstash.test",
            properties: Any = None) -> None:
    """Publish bodies with publisher confirms (the broker has them all when this returns)."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.exchange_declare(exchange, exchange_type="topic")  # as the shippers do
    ch.confirm_delivery()
    for body in bodies:
        ch.basic_publish(exchange, routing_key, body, properties)
    conn.close()


def base_time() -> Any:
    """A minute before now, to the second (in UTC)."""
    import datetime

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now - datetime.timedelta(minutes=1)


BASE_TIME = base_time()


def logcollect_body(i: int, **extra: Any) -> bytes:
    """A body shaped like the logcollect library's."""
    import datetime

    import orjson

    ts = BASE_TIME
    body = {
        "@timestamp": (ts + datetime.timedelta(microseconds=i)).isoformat(), "@version": 1,
        "message": f"line {i} of the test", "host": f"vm{i % 3}", "tags": [],
        "type": "Logstash", "seq": i, "levelname": "ERROR" if i % 10 == 0 else "INFO",
        "logger": "shop.views", "stack_info": None, "process": 7251, "project": "shop",
        "application": "backend", "lineno": 10, "threadName": "MainThread", **extra,
    }
    return orjson.dumps(body)


def all_lines(config: Any, index: str, q: str = "", today: Any = None) -> list[dict]:
    """Every stored line of an index, oldest first, read through the search module."""
    from alco.index.sphinxql import Sphinx
    from alco.search.reader import LineQuery, Searcher
    from alco.web.present import line_json

    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    searcher = Searcher(config, sx, today)
    ix = config.index(index)
    out: list[dict] = []
    after = None
    while True:
        page = searcher.lines(ix, LineQuery(q=q, after=after, limit=1000, order="asc"))
        out += [line_json(ln) for ln in page.lines]
        if not page.lines:
            break
        after = int(page.lines[-1].id)
    sx.close()
    return out


def stored_count(config: Any, index: str = "logs", q: str = "", today: Any = None) -> int:
    """How many lines of an index are stored (one COUNT query)."""
    from alco.index.sphinxql import Sphinx
    from alco.search.reader import Searcher

    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        return Searcher(config, sx, today).count(config.index(index), None, None, q)
    finally:
        sx.close()


def queue_consumers(url: str, queue: str) -> int:
    """Consumers attached to a queue (0 when it does not exist yet)."""
    import pika
    import pika.exceptions

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if conn.is_open:
            conn.close()


class Broker:
    """A test's own topic exchange with an exclusive queue bound to every routing key.

    ``settle`` > 0: once ``take`` has ``n`` messages it waits that long for more, so a test
    sees duplicates instead of missing them."""

    def __init__(self, url: str, settle: float = 0.0) -> None:
        import uuid

        import pika

        self.settle = settle
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.exchange = f"test.alco.{uuid.uuid4().hex}"
        self.ch.exchange_declare(self.exchange, exchange_type="topic")
        self.queue = self.ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.ch.queue_bind(self.queue, self.exchange, "#")

    def count(self) -> int:
        return self.ch.queue_declare(self.queue, passive=True).method.message_count

    def take(self, n: int, timeout: float = 10.0) -> list[tuple]:
        """Up to ``n`` messages (waiting until ``timeout``), then whatever arrives within
        ``settle`` seconds more."""
        got: list[tuple] = []
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.conn.sleep(0.02)
            else:
                got.append((method, props, body))
        if len(got) >= n and self.settle > 0:
            while True:
                method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
                if method is None:
                    self.conn.sleep(self.settle)
                    method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
                    if method is None:
                        break
                got.append((method, props, body))
        return got

    def close(self) -> None:
        self.ch.exchange_delete(self.exchange)
        self.conn.close()


def child_processes(pid: int) -> dict[int, str]:
    """pid -> command line (or process title) of the direct children of ``pid``, from /proc."""
    from pathlib import Path

    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode().strip()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out[int(entry.name)] = cmd
    return out


NDJSON = "application/x-ndjson"


def records(msgs: list[tuple]) -> list[bytes]:
    """The record bodies of messages (``Broker.take``), in order: a batch (NDJSON) holds one
    record per line."""
    out: list[bytes] = []
    for _, props, body in msgs:
        out += body.split(b"\n") if props.content_type == NDJSON else [body]
    return out


def crc_twin(target: int, prefix: str, free: int = 48) -> str:
    """A text of ``prefix`` and ``free`` letters ``a``/``b`` whose CRC32 is ``target``: a
    value that shares another's value hash (CRC32 is affine in the bits of texts of one
    length: the letters that flip it are found by Gaussian elimination over GF(2))."""
    import zlib

    base = prefix + "a" * free
    crc0 = zlib.crc32(base.encode())
    # each letter made 'b': the bits of the CRC it flips, with the letter's own bit above
    rows = []
    for i in range(free):
        flipped = base[:len(prefix) + i] + "b" + base[len(prefix) + i + 1:]
        rows.append((zlib.crc32(flipped.encode()) ^ crc0) | (1 << (32 + i)))
    want = crc0 ^ target
    basis: dict[int, int] = {}  # the lowest CRC bit of a row -> that row, reduced
    for row in rows:
        for bit, kept in basis.items():
            if row >> bit & 1:
                row ^= kept
        low = (row & 0xFFFFFFFF).bit_length() - 1
        if low < 0:
            continue
        for bit in list(basis):
            if basis[bit] >> low & 1:
                basis[bit] ^= row
        basis[low] = row
    chosen = 0
    for bit, row in basis.items():
        if want >> bit & 1:
            chosen ^= row
    assert chosen & 0xFFFFFFFF == want, "no twin with these letters"
    letters = ["b" if chosen >> (32 + i) & 1 else "a" for i in range(free)]
    text = prefix + "".join(letters)
    assert zlib.crc32(text.encode()) == target
    return text


def into_day_us(day_start_us: int) -> int:
    """When a test's lines of a day begin: an hour into it, or for today before 01:00 UTC a
    third of the way to now (lines dated in the future are not read to "now")."""
    import time

    return day_start_us + min(3_600_000_000, (time.time_ns() // 1000 - day_start_us) // 3)
