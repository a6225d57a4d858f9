"""Shared parts of the benchmarks: realistic records, an isolated stack, machine facts, tables.

The records look like what the logcollect library ships: a message drawn from a
dozen templates with variable parts, ten fields, a traceback on errors, and a request id shared
by the few lines of one request.  Everything is derived from the record's number, so the same
``n`` always gives the same record (no random state to carry between processes).
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# The helpers shared with the tests live in tests/helpers.py, under the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import delete_exchange, delete_keys, own_servers, to_toml  # noqa: E402
from tests.helpers import wait_for as wait_for  # noqa: E402  (for the benchmark scripts)

RABBIT_URL = os.environ.get("ALCO_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("ALCO_BENCH_REDIS", "redis://127.0.0.1:6379/0")
RESULTS = Path(__file__).with_name("RESULTS.md")
LINES_PER_REQUEST = 4
COMMON_WORD = "orders"
PHRASE = "connection reset by peer"
HOSTS = [f"web{i}" for i in range(8)] + ["worker1", "worker2", "db-proxy"]
LOGGERS = ["shop.views", "shop.checkout", "shop.payments", "shop.cache", "celery.worker",
           "shop.mail", "django.db.backends"]
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/shop/checkout/views.py", line {line}, in create_order\n'
    "    order = Order.objects.create(customer_id=int(form['customer']))\n"
    '  File "/srv/shop/checkout/models.py", line 88, in create\n'
    "    raise ValueError(f'invalid literal for int() with base 10: {{value!r}}')\n"
    "ValueError: invalid literal for int() with base 10: '{bad}'"
)
# (weight, levelname, template): weights sum to 100.
TEMPLATES = [
    (22, "INFO", "GET /api/v1/orders/{a} 200 {ms}ms"),
    (12, "INFO", "POST /api/v1/cart/{a}/items 201 {ms}ms"),
    (10, "INFO", "user {a} logged in from 10.{b}.{c}.{d}"),
    (9, "INFO", "payment {a} accepted amount={ms}.{c:02d} currency=EUR"),
    (9, "DEBUG", "cache miss for key product:{a} ttl={b}s"),
    (8, "INFO", "task shop.tasks.send_invoice[{h}] succeeded in {b}.{c:03d}s"),
    (7, "INFO", "sent email {h} to customer{a}@example.com"),
    (6, "WARNING", "slow query took {ms}ms: SELECT * FROM orders WHERE customer_id = {a}"),
    (5, "WARNING", "connection reset by peer while talking to inventory{b}:{port}"),
    (4, "WARNING", "timeout after {ms}ms calling inventory service, retry {c}"),
    (4, "ERROR", "Unhandled exception in worker while processing order {a}"),
    (4, "ERROR", "payment {a} declined: card_expired gateway=stripe code={port}"),
]
_PICK = [t for w, *t in TEMPLATES for _ in range(w)]


def _mix(n: int) -> int:
    """A cheap deterministic hash of a record number (Knuth's multiplicative hash)."""
    return (n * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF


def request_id(n: int) -> str:
    """The request id of record ``n``: shared by LINES_PER_REQUEST consecutive records."""
    r = n // LINES_PER_REQUEST
    return f"r{(r * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFF:010x}"


def record(n: int, ts_us: int) -> dict[str, Any]:
    """Record number ``n`` as a logcollect-shaped JSON object stamped ``ts_us``."""
    h = _mix(n)
    level, template = _PICK[h % 100]
    parts = {"a": h % 100_000, "b": h >> 8 & 0xFF, "c": h >> 16 & 0xFF, "d": h >> 24,
             "ms": 3 + h % 997, "h": f"{h:08x}", "port": 1000 + h % 9000}
    stamp = datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "@timestamp": stamp, "@version": 1, "message": template.format(**parts),
        "host": HOSTS[h % len(HOSTS)], "levelname": level,
        "logger": LOGGERS[(h >> 4) % len(LOGGERS)], "process": 1000 + (h >> 12) % 64,
        "project": "shop", "application": "backend" if h & 1 else "worker",
        "lineno": 10 + (h >> 20) % 500, "threadName": "MainThread",
        "request_id": request_id(n), "seq": n,
    }
    if level == "ERROR" and template.startswith("Unhandled"):
        body["exc_info"] = TRACEBACK.format(line=h % 300, bad=parts["h"])
    return body


def bodies(start: int, count: int, first_us: int, step_us: int) -> Iterator[bytes]:
    """JSON bodies of records ``start .. start+count-1``, ``step_us`` apart in time."""
    dumps = orjson.dumps
    for n in range(start, start + count):
        yield dumps(record(n, first_us + (n - start) * step_us))


# --- an isolated deployment on the real servers -------------------------------------------------

def bench_columns() -> dict[str, str]:
    """The default column roles plus ``request_id`` as its own full-text field (``indexed``)."""
    from alco.config import DEFAULT_COLUMNS

    return {**DEFAULT_COLUMNS, "request_id": "indexed"}


class Stack:
    """Own searchd (free port, temp dir), exchange, queues and Redis prefix; cleaned up."""

    def __init__(self, label: str) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix=f"alco-bench-{label}-"))
        self.data: dict[str, Any] = own_servers(
            self.tmp, RABBIT_URL, REDIS_URL, exchange=f"bench.{label}.{self.tag}",
            prefix=f"BENCH{self.tag}", shutdown_grace=30.0)
        self.data["sphinx"]["binlog"] = True
        self.data["index"] = []
        self.procs: list[subprocess.Popen] = []
        self.queues: list[str] = []
        self.searchd: Any = None

    def add_index(self, name: str, **settings: Any) -> dict[str, Any]:
        ix = {"name": name, "queue": f"{self.data['rabbitmq']['exchange']}.{name}",
              "routing_keys": [f"bench.{name}"], "retention_days": 2,
              "columns": bench_columns(), **settings}
        self.data["index"].append(ix)
        self.queues += [ix["queue"], ix["queue"] + ".dead"]
        return ix

    def config(self, only: str | None = None) -> Any:
        from alco.config import parse

        return parse(self.toml_data(only), f"<bench {self.tag}>", env={})

    def toml_data(self, only: str | None = None) -> dict[str, Any]:
        data = dict(self.data)
        if only is not None:
            data["index"] = [ix for ix in self.data["index"] if ix["name"] == only]
        return data

    def write_config(self, only: str | None = None, **index_overrides: Any) -> Path:
        data = self.toml_data(only)
        data["index"] = [{**ix, **index_overrides} for ix in data["index"]]
        path = self.tmp / f"alco-{only or 'all'}-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(to_toml(data))
        return path

    def start_searchd(self) -> None:
        from alco.catalog.reader import seen_columns
        from alco.index.searchd import ManagedSearchd

        config = self.config()  # (new days take the hashes of the columns seen, as alco run)
        self.searchd = ManagedSearchd(config, seen_columns(config.redis.url, config.redis.prefix))
        self.searchd.start()

    def start_web(self) -> subprocess.Popen:
        """``alco web`` for every index of the stack, on the config's ``[web] bind``."""
        from alco.index.searchd import port_answers

        path = self.write_config()
        proc = self.spawn([sys.executable, "-m", "alco", "--config", str(path),
                           "--log-level", "warning", "web"], "web.log")
        port = int(self.config().web.bind.rsplit(":", 1)[1])
        wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None, 60, 0.05,
                 "alco web")
        if proc.poll() is not None:
            raise RuntimeError(f"alco web exited; see {self.tmp / 'web.log'}")
        return proc

    def spawn(self, args: list[str], log_name: str, env: dict | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / log_name, "ab"),
                                env={k: v for k, v in (env or os.environ).items()
                                     if not k.startswith("ALCO_")})
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 60) -> int | None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc, 30)
        if self.searchd is not None:
            self.searchd.stop()
        delete_exchange(RABBIT_URL, self.data["rabbitmq"]["exchange"], self.queues)
        delete_keys(REDIS_URL, self.data["redis"]["prefix"])
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_config(label: str) -> Any:
    """The configuration a bench's stack has, with its ``bench`` index, for a script that
    only needs the config (its rows, its schema): the stack's servers go unused and its
    leftovers are removed at once."""
    stack = Stack(label)
    try:
        stack.add_index("bench")
        return stack.config()
    finally:
        stack.cleanup()


def terminate_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so ``finally`` blocks clean up."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# --- machine facts, statistics, tables ---------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {"cores": str(os.cpu_count()), "RAM": f"{mem_kb / 2**20:.1f} GiB", "CPU": cpu,
            "Python": platform.python_version(), "Sphinx": _sphinx_version(),
            "RabbitMQ": _rabbit_version(), "Redis": _redis_version()}


def _sphinx_version() -> str:
    try:
        out = subprocess.run(["searchd", "--help"], capture_output=True, text=True).stdout
        return out.split()[1]
    except (OSError, IndexError):
        return "?"


def _rabbit_version() -> str:
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
        props = conn._impl.server_properties
        conn.close()
        version = props.get("version", b"?")
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:
        return "?"


def _redis_version() -> str:
    import redis

    try:
        return str(redis.Redis.from_url(REDIS_URL).info("server")["redis_version"])
    except Exception:
        return "?"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    text = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in text]
    return "\n".join([line, rule, *body])


def report(title: str, sections: list[tuple[str, str]], save: bool) -> None:
    """Print the result tables; with ``save``, append them to bench/HISTORY.md, the log of
    every run (bench/RESULTS.md holds the current table of each bench, updated by hand)."""
    history = RESULTS.with_name("HISTORY.md")
    facts = machine()
    head = (f"### {title} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            + "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items())
            + "; load average (1/5/15 min) at the end: "
            + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + "\n")
    parts = [head] + [f"**{name}**\n\n{text}\n" for name, text in sections]
    out = "\n".join(parts)
    print("\n" + out)
    if save:
        with history.open("a") as fh:
            fh.write("\n" + out)
        print(f"appended to {history}")
        print(f"reminder: update the current table of this bench in {RESULTS} by hand "
              f"(\"{title}\")")


def progress(text: str) -> None:
    load = os.getloadavg()[0]
    print(f"[{time.strftime('%H:%M:%S')} load {load:.1f}] {text}", flush=True)
