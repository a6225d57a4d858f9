"""Ingest benchmark: end-to-end lines/s of the collector against the two limits it sits between.

    .venv/bin/python bench/ingest.py            # N = 1,000,000 (several minutes)
    .venv/bin/python bench/ingest.py --quick    # N = 50,000, under 3 minutes
    .venv/bin/python bench/ingest.py --save     # also append the tables to bench/HISTORY.md
    .venv/bin/python bench/ingest.py --http     # HTTP ingest: NDJSON in 1 MB requests
    .venv/bin/python bench/ingest.py --cpu      # CPU µs per line of every process involved,
                                                # single-record vs batches of 500 (N = 300k;
                                                # --no-line-store: the text in searchd)
    .venv/bin/python bench/ingest.py --scaling  # 1 vs 2 REPLACE streams into one RT index;
                                                # consumers x writers 1-2, both body shapes
    .venv/bin/python bench/ingest.py --latency  # drain N, then publish->searchable at half
                                                # of it, by polling and in the live tail
    .venv/bin/python bench/ingest.py --stalls 64M,256M   # REPLACE stalls per rt_mem_limit

Phases, all in one run against an own searchd, exchange, queues and Redis prefix:
(a) a bare pika consumer drains N records (same prefetch, acks per batch, orjson only);
(b) N rows shaped like the writer's are bulk REPLACEd straight into searchd, same batch size;
then the collector (``alco collect``) drains N until COUNT says all are searchable, with the peak
RSS of each of its processes; publish->searchable latency at half the measured rate; and the
handoff A/B (shared memory vs pickled) and the consumers/writers sweep on N/4 records each.
CPU per line is read from /proc/<pid>/stat (utime + stime) of the consumers, writers,
supervisor, searchd, RabbitMQ's beam.smp and redis-server, from the first stored line to the
last (``--cpu``, ``--scaling``, with each process's RSS through the backlog);
``--rt-mem-limit`` sets the day indexes' RAM chunk size.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pika
from common import (
    Stack,
    bodies,
    percentile,
    progress,
    record,
    report,
    table,
    terminate_on_sigterm,
    wait_for,
)

from alco.index import buckets, sphinxql
from alco.index.daystore import DayStore
from alco.index.schema import IdAllocator, IndexSchema, day_index, day_of_us
from alco.index.searchd import port_answers
from alco.index.sphinxconf import retention_days
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore.writing import keeper_for
from alco.search.texts import Texts

RUNNER = """
import os, sys
os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[2]
from alco import metrics
metrics.prepare_multiprocess_dir(sys.argv[2])
from alco.config import load
from alco.ingest import collector
from alco.ingest.batches import Handoff
collector.HANDOFF = Handoff(sys.argv[3])
sys.exit(collector.build(load(sys.argv[1], env={})).run())
"""
SWEEP = [("shm", 1, 1), ("pickle", 1, 1), ("shm", 1, 2), ("shm", 2, 2)]


class Bench:
    def __init__(self, stack: Stack, n: int) -> None:
        self.stack = stack
        self.n = n
        self.cfg = stack.config()
        self.sphinx = Sphinx("127.0.0.1", self.cfg.sphinx.port)
        self.first_us = time.time_ns() // 1000 - 600_000_000
        self.step_us = max(1, 600_000_000 // n)
        self.cpu: dict[str, float] = {}  # CPU seconds per stage, RabbitMQ not included
        # per drain: CPU µs per line of every process involved, by role (from /proc)
        self.per_process: dict[str, dict[str, float]] = {}

    def one_day(self, ts_us: int) -> int:
        """A line's time moved into its day's second hour (the lines' 10 minutes then fall
        into one day index whatever the time of the run)."""
        day_us = 86_400_000_000
        return self.first_us // day_us * day_us + 3_600_000_000 + ts_us - self.first_us

    # --- RabbitMQ ------------------------------------------------------------------------
    def channel(self) -> tuple[pika.BlockingConnection, object]:
        conn = pika.BlockingConnection(pika.URLParameters(self.cfg.rabbitmq.url))
        return conn, conn.channel()

    def declare(self, queue: str, key: str) -> None:
        conn, ch = self.channel()
        ch.exchange_declare(self.cfg.rabbitmq.exchange, exchange_type="topic")
        ch.queue_declare(queue, durable=True, auto_delete=False)
        ch.queue_bind(queue, self.cfg.rabbitmq.exchange, routing_key=key)
        conn.close()

    def depth(self, queue: str) -> int:
        conn, ch = self.channel()
        try:
            return ch.queue_declare(queue, passive=True).method.message_count
        finally:
            conn.close()

    def fill(self, key: str, queues: list[str], n: int) -> float:
        """Publish n records without per-message confirms; wait until every queue holds n."""
        start = time.perf_counter()
        conn, ch = self.channel()
        exchange = self.cfg.rabbitmq.exchange
        for i, body in enumerate(bodies(0, n, self.first_us, self.step_us)):
            ch.basic_publish(exchange, key, body)
            if i % 100_000 == 99_999:
                progress(f"  published {i + 1:,}")
        conn.close()
        for q in queues:
            wait_for(lambda q=q: self.depth(q) >= n, 120, 0.2, f"{n} messages in {q}")
        return n / (time.perf_counter() - start)

    def fill_batched(self, key: str, queue: str, n: int, per: int) -> float:
        """Publish n records as NDJSON batch messages of ``per`` records (what ALCO's handler
        and `alco send` publish); wait until the queue holds them all."""
        start = time.perf_counter()
        conn, ch = self.channel()
        props = pika.BasicProperties(content_type="application/x-ndjson", delivery_mode=2)
        part: list[bytes] = []
        for body in bodies(0, n, self.first_us, self.step_us):
            part.append(body)
            if len(part) == per:
                ch.basic_publish(self.cfg.rabbitmq.exchange, key, b"\n".join(part), props)
                part = []
        if part:
            ch.basic_publish(self.cfg.rabbitmq.exchange, key, b"\n".join(part), props)
        conn.close()
        messages = -(-n // per)
        wait_for(lambda: self.depth(queue) >= messages, 120, 0.2, f"{messages} in {queue}")
        return n / (time.perf_counter() - start)

    def bare_consumer(self, queue: str) -> float:
        """Limit (a): drain the queue with the collector's prefetch and ack pattern."""
        conn, ch = self.channel()
        ch.basic_qos(prefetch_count=self.cfg.rabbitmq.prefetch)
        batch = self.cfg.index("main").batch_size
        got = 0
        start, cpu = time.perf_counter(), time.process_time()
        for method, _props, body in ch.consume(queue):
            orjson.loads(body)
            got += 1
            if got % batch == 0 or got == self.n:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if got == self.n:
                break
        elapsed = time.perf_counter() - start
        self.cpu["a"] = time.process_time() - cpu
        ch.cancel()
        ch.queue_delete(queue)
        conn.close()
        return self.n / elapsed

    # --- searchd -------------------------------------------------------------------------
    def days(self, name: str) -> list[str]:
        today = day_of_us(time.time_ns() // 1000)
        return [day_index(name, d) for d in retention_days(self.cfg.index(name), today)]

    def count(self, name: str) -> int:
        rows = self.sphinx.query(f"SELECT COUNT(*) AS n FROM {', '.join(self.days(name))}")
        return int(rows[0]["n"]) if rows else 0

    def bulk_replace(self, name: str) -> float:
        """Limit (b): writer-shaped rows, REPLACEd in batches; only the REPLACE is timed."""
        ix = self.cfg.index(name)
        store = DayStore(self.sphinx, IndexSchema.of(ix), 0, ix.retention_days,
                         lines=keeper_for(self.cfg, ix))
        options = options_for(self.cfg, ix)
        spent, client_cpu = 0.0, 0.0
        ids = IdAllocator(0)  # (a writer's ids: past a millisecond's counters, the next one's)
        searchd_cpu = cpu_seconds([self.searchd_pid])
        it = bodies(0, self.n, self.first_us, self.step_us)
        for start in range(0, self.n, ix.batch_size):
            by_day: dict[str, list] = {}
            for _ in range(min(ix.batch_size, self.n - start)):
                rec = normalise(next(it), options=options)
                row = store._row(ids.allocate([rec.ts_us // 1000], lambda _: {})[0], rec)
                by_day.setdefault(day_index(name, day_of_us(rec.ts_us)), []).append(row)
            t, c = time.perf_counter(), time.thread_time()
            for index, rows in by_day.items():
                store.put_rows(index, rows)
            spent += time.perf_counter() - t
            client_cpu += time.thread_time() - c
        self.cpu["b"] = client_cpu + cpu_seconds([self.searchd_pid]) - searchd_cpu
        assert self.count(name) == self.n, "bulk REPLACE lost rows"
        return self.n / spent

    def collector_cpu(self, pid: int) -> float:
        return cpu_seconds([pid, *children_of(pid), self.searchd_pid])

    @property
    def searchd_pid(self) -> int:
        return self.stack.searchd.proc.pid

    # --- the collector -------------------------------------------------------------------
    def drain(self, proc, name: str, n: int, watch_rss: bool,
              profile: float = 0) -> tuple[float, dict]:
        """Poll COUNT until n are searchable; the rate excludes start-up (from first stored)."""
        rss: dict[int, dict] = {}
        first = None
        spies: list = []
        cpu_first = 0.0
        deadline = time.monotonic() + max(120, n / 2000)
        while True:
            now, c = time.perf_counter(), self.count(name)
            if watch_rss:
                sample_rss(proc.pid, rss, c / n)
            if c and first is None:
                first = (now, c)
                cpu_first = self.collector_cpu(proc.pid)
                roles = involved(proc.pid, self.searchd_pid)
                by_role = {role: cpu_seconds(pids) for role, pids in roles.items()}
                if profile:
                    spies = start_profiles(self.stack.tmp, proc.pid, profile)
            if c >= n:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"collector stopped or stalled at {c}/{n}; see "
                                   f"{self.stack.tmp}")
            time.sleep(0.25)
        if watch_rss:
            sample_rss(proc.pid, rss, 1.0)
        assert first is not None
        if n > first[1]:  # scaled to n lines, start-up excluded like the rate
            self.cpu[name] = (self.collector_cpu(proc.pid) - cpu_first) * n / (n - first[1])
            self.per_process[name] = {
                role: (cpu_seconds(pids) - by_role[role]) / (n - first[1]) * 1e6
                for role, pids in roles.items()}
        for spy, path, title in spies:
            spy.wait()
            print_profile(title, path)
        rate = (n - first[1]) / max(now - first[0], 1e-6) if n > first[1] else float("inf")
        return rate, rss

    def collector(self, name: str) -> object:
        path = self.stack.write_config(only=name)
        proc = self.stack.spawn([sys.executable, "-m", "alco", "--config", str(path),
                                 "collect"], f"collector-{name}.log")
        port = self.cfg.collector.metrics_bind.rsplit(":", 1)[1]
        wait_for(lambda: port_answers("127.0.0.1", int(port)) or proc.poll() is not None, 60, 0.05,
                 "collector metrics port")
        return proc

    def runner(self, name: str, handoff: str, consumers: int, writers: int) -> object:
        path = self.stack.write_config(only=name, consumers=consumers, writers=writers)
        metrics_dir = self.stack.tmp / f"metrics-{name}"
        return self.stack.spawn([sys.executable, "-c", RUNNER, str(path), str(metrics_dir),
                                 handoff], f"runner-{name}.log")

    # --- latency -------------------------------------------------------------------------
    def latency(self, rate: float, seconds: float,
                tail: TailWatch | None = None) -> tuple[list[float], int]:
        """Publish at ``rate`` for ``seconds``; ~50 probes/s; publish->searchable times (and,
        with ``tail``, the probes' publish times for it)."""
        pending: dict[str, float] = {}
        lock = threading.Lock()
        done = threading.Event()
        thread = threading.Thread(target=self.paced_publish,
                                  args=(rate, seconds, pending, lock, done, tail), daemon=True)
        thread.start()
        seen: list[float] = []
        deadline = None
        while True:
            with lock:
                tokens = list(pending)[:200]
            if tokens:
                for token in self.visible(tokens):
                    with lock:
                        seen.append(time.perf_counter() - pending.pop(token))
            if done.is_set():
                deadline = deadline or time.monotonic() + 10
                if not pending or time.monotonic() > deadline:
                    break
            time.sleep(0.01)
        thread.join()
        return seen, len(pending)

    def paced_publish(self, rate: float, seconds: float, pending: dict[str, float],
                      lock: threading.Lock, done: threading.Event,
                      tail: TailWatch | None = None) -> None:
        """Publish at ``rate``; every ``rate/50``-th record carries a probe token (after the
        word the live tail follows)."""
        every = max(1, int(rate // 50))
        try:  # the poller stops once done is set, also when publishing failed
            conn, ch = self.channel()
            start, sent = time.perf_counter(), 0
            while (elapsed := time.perf_counter() - start) < seconds:
                while sent < rate * elapsed:
                    n = self.n + sent
                    body = record(n, time.time_ns() // 1000)
                    if sent % every == 0:
                        token = f"probe{n}"
                        body["message"] += f" {TailWatch.WORD} {token}"
                        with lock:
                            pending[token] = time.perf_counter()
                        if tail is not None:
                            tail.published[token] = pending[token]
                    ch.basic_publish(self.cfg.rabbitmq.exchange, "bench.main",
                                     orjson.dumps(body),
                                     pika.BasicProperties(timestamp=int(time.time())))
                    sent += 1
                conn.process_data_events(0)
                time.sleep(0.002)
            conn.close()
        finally:
            done.set()

    def visible(self, tokens: list[str]) -> list[str]:
        days = self.days("main")
        # a probe token is an id (alco.index.buckets): its bucket finds it, and others
        terms = [t for tok in tokens for t in (tok, *buckets.query_texts(tok))]
        rows = self.sphinx.query(
            f"SELECT id FROM {', '.join(days)} WHERE MATCH(%s) "
            f"LIMIT 5000 OPTION max_matches=5000", ["@logline (" + " | ".join(terms) + ")"])
        Texts(self.sphinx, self.cfg.sphinx.data_dir).fill("main", days, rows)  # (line store)
        wanted = set(tokens)
        return [w for r in rows if (w := r["logline"].rsplit(" ", 1)[1]) in wanted]


class TailWatch:
    """A reader of the live tail (``/api/<index>/tail?q=WORD``, server-sent events) in a
    thread: when each probe line arrived, next to when it was published."""

    WORD = "latencyprobe"

    def __init__(self, base: str) -> None:
        self.published: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(base,), daemon=True)
        self._ready = threading.Event()
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the live tail did not answer")

    def _read(self, base: str) -> None:
        import httpx

        with httpx.stream("GET", f"{base}/tail", params={"q": self.WORD},
                          timeout=httpx.Timeout(60, read=None)) as resp:
            resp.raise_for_status()
            event = ""
            for line in resp.iter_lines():
                self._ready.set()
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "line":
                    token = orjson.loads(line[6:])["message"].rsplit(" ", 1)[1]
                    self.arrived.setdefault(token, time.perf_counter())

    def times(self, wait_s: float = 10) -> tuple[list[float], int]:
        """publish -> shown in the tail (s) of every probe, and how many never came (after
        waiting up to ``wait_s`` for the last ones)."""
        deadline = time.monotonic() + wait_s
        while set(self.published) - set(self.arrived) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        seen = [self.arrived[t] - p for t, p in self.published.items() if t in self.arrived]
        return seen, len(self.published) - len(seen)


def start_profiles(tmp: Path, parent: int, seconds: float) -> list:
    """py-spy (wall clock, idle included) on each consumer and writer of the collector."""
    spies = []
    for pid in children_of(parent):
        title = process_name(pid)
        if not title.startswith(("alco: consumer", "alco: writer")):
            continue
        path = tmp / f"profile-{pid}.txt"
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
             "--duration", str(int(seconds)), "--rate", "200", "--idle", "--nonblocking",
             "--format", "raw", "--output", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spies.append((spy, path, title))
    return spies


def print_profile(title: str, path: Path, top: int = 12) -> None:
    """Share of the main thread's samples per function: self (leaf) and inclusive.

    Other threads (the multiprocessing queue feeder, idle nearly all the time) are left out."""
    if not path.exists():
        print(f"no profile for {title} (is py-spy installed in the venv? ptrace allowed?)")
        return
    own: dict[str, int] = {}
    total_in: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "Thread._bootstrap" in stack:
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            total_in[f] = total_in.get(f, 0) + n
    print(f"\nprofile of {title} ({total} main-thread samples, wall clock): "
          "self / inclusive")
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%} {total_in[f] / total:6.1%}  {f}")
    print("  inclusive, top:")
    for f, n in sorted(total_in.items(), key=lambda kv: -kv[1])[:top * 3]:
        print(f"  {n / total:6.1%}  {f}")


def sample_rss(parent: int, rss: dict[int, dict], done: float) -> None:
    """Record VmRSS (at 25 %, 50 %, end of the drain) and VmHWM of the collector's children."""
    for pid in [parent, *children_of(parent)]:
        status = read_status(pid)
        if not status:
            continue
        entry = rss.setdefault(pid, {"name": process_name(pid)})
        entry["hwm"] = status.get("VmHWM", 0)
        for mark in (0.25, 0.5, 1.0):
            if done >= mark and mark not in entry:
                entry[mark] = status.get("VmRSS", 0)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (their threads included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pids_named(comm: str) -> list[int]:
    """Processes whose command name (``/proc/<pid>/comm``) is ``comm``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == comm:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def involved(collector: int, searchd: int) -> dict[str, list[int]]:
    """Every process a line costs CPU in, by role: the collector's consumers, writers and
    supervisor, searchd, RabbitMQ's Erlang VM and Redis (both shared with other work)."""
    kids = children_of(collector)
    names = {pid: process_name(pid) for pid in kids}
    return {
        "consumers": [p for p in kids if names[p].startswith("alco: consumer")],
        "writers": [p for p in kids if names[p].startswith("alco: writer")],
        "supervisor (+ other children)": [collector] + [
            p for p in kids if not names[p].startswith(("alco: consumer", "alco: writer"))],
        "searchd": [searchd],
        "RabbitMQ (beam.smp)": pids_named("beam.smp"),
        "redis-server": pids_named("redis-server"),
    }


def children_of(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                out.append(int(entry.name))
    return out


def read_status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) // 1024 for k, v in (ln.split(":", 1) for ln in lines)
            if k in ("VmRSS", "VmHWM")}


def process_name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    name = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return name if name.startswith("alco:") else ("supervisor" if "collect" in name
                                                  else name[:40])


CPU_SHAPES = [("single", 1), ("batched", 500)]  # records per AMQP message


def cpu_phase(b: Bench, n: int, profile: float = 0) -> list[tuple[str, str]]:
    """Drain n single-record messages, then n records in batches of 500, each with a fresh
    collector (1 consumer, 1 writer): throughput and CPU µs per line of every process."""
    rates: dict[str, float] = {}
    peaks: dict[str, str] = {}
    memory: dict[str, dict] = {}
    for name, per in CPU_SHAPES:
        queue = b.cfg.index(name).queue_name
        b.declare(queue, f"bench.{name}")
        progress(f"publishing {n:,} records, {per} per message")
        if per == 1:
            b.fill(f"bench.{name}", [queue], n)
        else:
            b.fill_batched(f"bench.{name}", queue, n, per)
        proc = b.collector(name)
        rates[name], rss = b.drain(proc, name, n, watch_rss=True, profile=profile)
        memory[name] = rss
        peaks[name] = " / ".join(str(max((e["hwm"] for e in rss.values()
                                          if e["name"].startswith(f"alco: {role}")), default=0))
                                 for role in ("consumer", "writer"))
        b.stack.stop(proc)
        total = sum(b.per_process[name].values())
        progress(f"  {name}: {rates[name]:,.0f} lines/s, {total:.1f} µs CPU per line all-in "
                 f"(load {os.getloadavg()[0]:.1f})")
    return cpu_sections(b, rates, peaks) + memory_sections(n, memory)


def memory_sections(n: int, memory: dict[str, dict]) -> list[tuple[str, str]]:
    """VmRSS of each collector process at 25 %, 50 % and the end of each drain, and its peak:
    flat means the backlog's size does not show in any process."""
    rows = [[shape, e["name"], e.get(0.25, "-"), e.get(0.5, "-"), e.get(1.0, "-"), e["hwm"]]
            for shape, rss in memory.items() for e in rss.values()]
    return [(f"Memory of the collector processes through a backlog of {n:,} lines (MiB; VmRSS "
             "at 25 % / 50 % / end of the drain, VmHWM peak)", table(
                 ["bodies", "process", "RSS 25%", "RSS 50%", "RSS end", "peak (VmHWM)"], rows))]


def cpu_sections(b: Bench, rates: dict[str, float],
                 peaks: dict[str, str]) -> list[tuple[str, str]]:
    names = [name for name, _ in CPU_SHAPES]
    roles = list(b.per_process[names[0]])
    rows = [[role, *(f"{b.per_process[nm].get(role, 0):.1f}" for nm in names)] for role in roles]
    rows.append(["**all-in**", *(f"**{sum(b.per_process[nm].values()):.1f}**" for nm in names)])
    rows.append(["target (all-in)", "≤ 60", "≤ 30"])
    rows.append(["lines/s (1 consumer, 1 writer)", *(f"{rates[nm]:,.0f}" for nm in names)])
    rows.append(["peak RSS MiB, consumer / writer", *(peaks[nm] for nm in names)])
    return [("CPU µs per line by process, from /proc/<pid>/stat utime+stime over the drain "
             "(RabbitMQ and Redis are shared: other work on the machine is counted too)",
             table(["process", "single-record bodies", "batches of 500 (NDJSON)"], rows))]


SWEEP_CW = [(1, 1), (1, 2), (2, 1), (2, 2)]


def scaling_sweep(b: Bench, n: int) -> list[tuple[str, str]]:
    """Consumers x writers 1-2, single-record and batched bodies, each on its own queue and
    index of n records: lines/s and CPU µs per line by process."""
    rows = []
    for shape, per in CPU_SHAPES:
        base = None
        for c, w in SWEEP_CW:
            name = f"w_{shape}_{c}_{w}"
            queue = b.cfg.index(name).queue_name
            b.declare(queue, f"bench.{name}")
            if per == 1:
                b.fill(f"bench.{name}", [queue], n)
            else:
                b.fill_batched(f"bench.{name}", queue, n, per)
            proc = b.runner(name, "shm", c, w)
            rate, _ = b.drain(proc, name, n, watch_rss=False)
            b.stack.stop(proc)
            cpu = b.per_process[name]
            base = base or rate
            load = os.getloadavg()[0]
            progress(f"  {shape} {c}/{w}: {rate:,.0f}/s, {sum(cpu.values()):.1f} µs/line")
            rows.append([shape, f"{c}/{w}", f"{rate:,.0f}", f"{rate / base:.2f}",
                         f"{cpu['consumers']:.1f}", f"{cpu['writers']:.1f}",
                         f"{cpu['searchd']:.1f}", f"{cpu['RabbitMQ (beam.smp)']:.1f}",
                         f"{sum(cpu.values()):.1f}", f"{load:.1f}"])
    return [(f"Consumers/writers sweep, producers routed to writers (N = {n:,} each)", table(
        ["bodies", "consumers/writers", "lines/s", "vs 1/1", "consumers µs", "writers µs",
         "searchd µs", "RabbitMQ µs", "all-in µs/line", "load (1 min)"], rows))]


def parallel_replace(b: Bench, n: int) -> list[tuple[str, str]]:
    """Does one RT index take two writers in parallel?  n writer-shaped rows REPLACEd into the
    same day index by 1 and by 2 processes (batches of 2000), alternately, twice."""
    import multiprocessing as mp

    ix = b.cfg.index("limit")
    store = DayStore(b.sphinx, IndexSchema.of(ix), 0, ix.retention_days)
    options = options_for(b.cfg, ix)
    rows_by_slot: list[list] = [[], []]
    # (ids as two writers' allocators give them: past a millisecond's counters, the next's)
    allocators = [IdAllocator(0), IdAllocator(1)]
    index = None
    for i, body in enumerate(bodies(0, n, b.first_us, b.step_us)):
        rec = normalise(body, options=options)
        rec.ts_us = b.one_day(rec.ts_us)
        slot, ms = i % 2, rec.ts_us // 1000
        doc_id = allocators[slot].allocate([ms], lambda _: {})[0]
        rows_by_slot[slot].append(store._row(doc_id, rec))
        index = day_index("limit", day_of_us(rec.ts_us))
    port = b.cfg.sphinx.port
    # (the rows as the day index takes them: its ids as buckets, its fields' value hashes)
    columns, rows_by_slot[0] = store.searchd_rows(index, rows_by_slot[0])
    rows_by_slot[1] = store.searchd_rows(index, rows_by_slot[1])[1]
    out = []
    for attempt in range(2):
        for clients in (1, 2):
            parts = [rows_by_slot[0] + rows_by_slot[1]] if clients == 1 else rows_by_slot
            searchd = cpu_seconds([b.searchd_pid])
            start = time.perf_counter()
            procs = [mp.get_context("fork").Process(target=_replace_part,
                                                    args=(port, index, columns, part))
                     for part in parts]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
            elapsed = time.perf_counter() - start
            used = cpu_seconds([b.searchd_pid]) - searchd
            load = os.getloadavg()[0]
            progress(f"  REPLACE {clients} client(s): {n / elapsed:,.0f} docs/s")
            out.append([attempt + 1, clients, f"{n / elapsed:,.0f}", f"{used / n * 1e6:.1f}",
                        f"{load:.1f}"])
    return [(f"One RT index, 1 vs 2 REPLACE streams in parallel ({n:,} rows, batches of 2000)",
             table(["run", "clients", "docs/s", "searchd µs/doc", "load (1 min)"], out))]


def _replace_part(port: int, index: str, columns: list[str], rows: list) -> None:
    sphinx = Sphinx("127.0.0.1", port)
    for i in range(0, len(rows), 2000):
        sphinx.replace_rows(index, columns, rows[i:i + 2000])
    sphinx.close()


def run_scaling(args: argparse.Namespace) -> None:
    n = args.n or (50_000 if args.quick else 200_000)
    stack = Stack("scaling")
    stack.add_index("limit")
    for shape, _ in CPU_SHAPES:
        for c, w in SWEEP_CW:
            stack.add_index(f"w_{shape}_{c}_{w}")
    try:
        stack.start_searchd()
        b = Bench(stack, n)
        sections = parallel_replace(b, n) + scaling_sweep(b, n)
        report(f"ingest scaling, N = {n:,}", sections, args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def insert_stalls(n: int, limits: list[str], batch: int = 2000,
                  infixes: bool = True) -> list[tuple[str, str]]:
    """REPLACE n writer-shaped rows in batches into a fresh day index per ``rt_mem_limit``;
    per batch its time and the index's RAM bytes and disk chunks (SHOW INDEX .. STATUS): the
    stalls, and whether they come with a RAM chunk turned into a disk chunk."""
    from alco.index import sphinxconf

    rows = []
    for limit in limits:
        sphinxconf.RT_MEM_LIMIT = limit
        stack = Stack("stalls")
        stack.add_index("stall", infixes=infixes)
        try:
            stack.start_searchd()
            b = Bench(stack, n)
            ix = b.cfg.index("stall")
            store = DayStore(b.sphinx, IndexSchema.of(ix), 0, ix.retention_days,
                             lines=keeper_for(b.cfg, ix))
            options = options_for(b.cfg, ix)
            times, puts, stalls, chunks = [], [], [], 0
            # (a writer's ids: past a millisecond's counters, the next one's)
            ids = IdAllocator(0)
            it = bodies(0, n, b.first_us, b.step_us)
            index = None
            for start in range(0, n, batch):
                part = []
                for _ in range(min(batch, n - start)):
                    rec = normalise(next(it), options=options)
                    rec.ts_us = b.one_day(rec.ts_us)
                    doc_id = ids.allocate([rec.ts_us // 1000], lambda _: {})[0]
                    part.append(store._row(doc_id, rec))
                    index = day_index("stall", day_of_us(rec.ts_us))
                t = time.perf_counter()
                if store.lines is not None:  # (store.put_rows, each half timed)
                    store._keep(index, part)
                kept = time.perf_counter()
                store._replace(index, part)
                times.append(time.perf_counter() - t)
                puts.append(kept - t)
                status = sphinxql.index_status(b.sphinx, index)
                disk = int(status.get("disk_chunks", 0))
                if times[-1] > 0.3 or disk != chunks:
                    stalls.append(f"{times[-1] * 1000:.0f} ms (store {puts[-1] * 1000:.0f}) at "
                                  f"{start + batch:,}"
                                  f"{' (disk chunk ' + str(disk) + ')' if disk != chunks else ''}")
                chunks = disk
            progress(f"  rt_mem_limit {limit}: p99 {percentile(times, 99) * 1000:.0f} ms, "
                     f"max {max(times) * 1000:.0f} ms; {'; '.join(stalls[:6])}")
            label = limit if infixes else f"{limit}, no infixes"
            rows.append([label, len(times), f"{percentile(times, 50) * 1000:.0f}",
                         f"{percentile(times, 99) * 1000:.0f}", f"{max(times) * 1000:.0f}",
                         f"{percentile(puts, 50) * 1000:.0f} / {percentile(puts, 99) * 1000:.0f}"
                         f" / {max(puts) * 1000:.0f}", chunks, "; ".join(stalls[:6]) or "-",
                         f"{os.getloadavg()[0]:.1f}"])
        finally:
            stack.cleanup()
    return [(f"REPLACE stalls by rt_mem_limit ({n:,} rows in batches of {batch}; stalls = "
             "batches over 300 ms, or when a disk chunk appeared)", table(
                 ["rt_mem_limit", "batches", "p50 ms", "p99 ms", "max ms",
                  "of it the store's put: p50 / p99 / max ms", "disk chunks", "stalls",
                  "load (1 min)"], rows))]


def run_latency(args: argparse.Namespace) -> None:
    """Drain N single-record lines (the max rate, 1 consumer / 1 writer), then publish at half
    of it for --latency-seconds: publish->searchable by polling, and the collector's REPLACE
    times (alco_insert_seconds) over the same window."""
    n = args.n or (50_000 if args.quick else 300_000)
    stack = Stack("latency")
    stack.add_index("main")
    try:
        stack.start_searchd()
        b = Bench(stack, n)
        queue = b.cfg.index("main").queue_name
        b.declare(queue, "bench.main")
        progress(f"publishing {n:,} records")
        b.fill("bench.main", [queue], n)
        proc = b.collector("main")
        e2e, _ = b.drain(proc, "main", n, watch_rss=False)
        rate = e2e * args.latency_share
        progress(f"max {e2e:,.0f}/s; paced at {args.latency_share:.0%} of it for "
                 f"{args.latency_seconds:.0f}s")
        stack.start_web()
        tail = TailWatch(f"http://{b.cfg.web.bind}/api/main")
        before = insert_histogram(b)
        lat, lost = b.latency(rate, args.latency_seconds, tail)
        inserts = insert_histogram(b)
        tail_lat, tail_lost = tail.times()
        stack.stop(proc)
        slow = {le: inserts.get(le, 0) - before.get(le, 0) for le in inserts}
        total = slow.get("+Inf", 0)
        over = [f"> {le} s: {total - c}" for le, c in slow.items()
                if le in ("0.25", "0.5", "1.0", "2.5")]
        load = f"{rate:,.0f}/s for {args.latency_seconds:.0f}s"
        rows = [[load, how, len(times), missed, f"{percentile(times, 50) * 1000:.0f}",
                 f"{percentile(times, 99) * 1000:.0f}", f"{max(times, default=0) * 1000:.0f}",
                 f"{total:.0f}; " + ", ".join(over), f"{os.getloadavg()[0]:.1f}"]
                for how, times, missed in (
                    ("polling searchd every 10 ms", lat, lost),
                    (f"live tail (/tail?q={TailWatch.WORD})", tail_lat,
                     tail_lost))]
        from alco.index.sphinxconf import RT_MEM_LIMIT

        report(f"ingest latency after {n:,} lines, rt_mem_limit {RT_MEM_LIMIT}", [(
            f"Latency publish -> searchable, paced at {args.latency_share:.0%} of the "
            "measured max (1 consumer, "
            "1 writer; REPLACEs = the collector's batches in the window)", table(
                ["load", "seen by", "probes", "not seen", "p50 ms", "p99 ms", "max ms",
                 "REPLACEs", "load (1 min)"], rows))], args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def insert_histogram(b: Bench) -> dict[str, float]:
    """Cumulative buckets of alco_insert_seconds from the collector's /metrics."""
    import urllib.request

    url = f"http://{b.cfg.collector.metrics_bind}/metrics"
    out: dict[str, float] = {}
    with urllib.request.urlopen(url, timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("alco_insert_seconds_bucket"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                out[le] = out.get(le, 0) + float(line.rsplit(" ", 1)[1])
    return out


def run_cpu(args: argparse.Namespace) -> None:
    n = args.n or (50_000 if args.quick else 300_000)
    stack = Stack("cpu")
    for name, _ in CPU_SHAPES:
        stack.add_index(name, **({"line_store": False} if args.no_line_store else {}))
    try:
        stack.start_searchd()
        b = Bench(stack, n)
        layout = " (the text in searchd: line_store = false)" if args.no_line_store else ""
        report(f"ingest CPU per line, N = {n:,}{layout}", cpu_phase(b, n, args.profile),
               args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def run(args: argparse.Namespace) -> None:
    n = args.n or (50_000 if args.quick else 1_000_000)
    sweep_n = args.sweep_n or max(20_000, n // 4)
    stack = Stack("ingest")
    for name in ("main", "limit"):
        stack.add_index(name)
    for handoff, c, w in SWEEP:
        stack.add_index(f"s_{handoff}_{c}_{w}", routing_keys=["bench.sweep"])
    bare_queue = stack.data["rabbitmq"]["exchange"] + ".bare"
    stack.queues.append(bare_queue)
    try:
        stack.start_searchd()
        b = Bench(stack, n)
        sections = measure(b, stack, n, sweep_n, bare_queue, args)
        report(f"ingest, N = {n:,}{' (quick)' if args.quick else ''}", sections, args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def measure(b: Bench, stack: Stack, n: int, sweep_n: int, bare_queue: str,
            args: argparse.Namespace) -> list[tuple[str, str]]:
    main_queue = b.cfg.index("main").queue_name
    b.declare(main_queue, "bench.main")
    b.declare(bare_queue, "bench.main")
    progress(f"publishing {n:,} records to two queues")
    pub = b.fill("bench.main", [main_queue, bare_queue], n)
    progress(f"published at {pub:,.0f}/s; (a) bare consumer draining")
    a = b.bare_consumer(bare_queue)
    progress(f"(a) bare consumer {a:,.0f}/s; (b) bulk REPLACE into searchd")
    bulk = b.bulk_replace("limit")
    limit = 1 / (1 / a + 1 / bulk)
    progress(f"(b) bulk REPLACE {bulk:,.0f}/s; combined limit {limit:,.0f}/s; collector")
    proc = b.collector("main")
    e2e, rss = b.drain(proc, "main", n, watch_rss=True, profile=args.profile)
    progress(f"end-to-end {e2e:,.0f}/s = {e2e / limit:.2f} of the limit; latency at 50%")
    lat, lost = b.latency(e2e / 2, args.latency_seconds)
    sample_rss(proc.pid, rss, 1.0)
    code = stack.stop(proc)
    progress(f"latency p50 {percentile(lat, 50) * 1000:.0f} ms, p99 "
             f"{percentile(lat, 99) * 1000:.0f} ms; collector exit {code}; sweep")
    sweep = run_sweep(b, sweep_n)
    return sections(b, n, sweep_n, args, dict(pub=pub, a=a, bulk=bulk, limit=limit, e2e=e2e),
                    (lat, lost), rss, sweep)


def sections(b: Bench, n: int, sweep_n: int, args: argparse.Namespace, rate: dict,
             latency: tuple[list[float], int], rss: dict, sweep: list) -> list[tuple[str, str]]:
    """The result tables of one run."""
    pub, a, bulk, limit, e2e = (rate[k] for k in ("pub", "a", "bulk", "limit", "e2e"))
    lat, lost = latency
    rows = [["publish (no confirms)", f"{pub:,.0f}", ""],
            ["(a) bare pika consumer", f"{a:,.0f}", ""],
            ["(b) bulk REPLACE into searchd", f"{bulk:,.0f}", ""],
            ["limit 1/(1/a + 1/b)", f"{limit:,.0f}", "1.00"],
            ["end-to-end collector (1 consumer, 1 writer)", f"{e2e:,.0f}",
             f"**{e2e / limit:.2f}** (target >= 0.9)"]]
    per_k = {k: v / n * 1000 * 1000 for k, v in b.cpu.items()}
    cpu_rows = [["(a) bare consumer", f"{per_k['a']:.1f}"],
                ["(b) bulk REPLACE (client + searchd)", f"{per_k['b']:.1f}"],
                ["(a) + (b)", f"{per_k['a'] + per_k['b']:.1f}"],
                ["end-to-end collector (all its processes + searchd)",
                 f"{per_k['main']:.1f}"],
                ["efficiency (a + b) / end-to-end",
                 f"**{(per_k['a'] + per_k['b']) / per_k['main']:.2f}**"]]
    lat_rows = [[f"{e2e / 2:,.0f}/s for {args.latency_seconds:.0f}s", len(lat), lost,
                 f"{percentile(lat, 50) * 1000:.0f}", f"{percentile(lat, 99) * 1000:.0f}",
                 f"{max(lat, default=0) * 1000:.0f}"]]
    rss_rows = [[e["name"], e.get(0.25, "-"), e.get(0.5, "-"), e.get(1.0, "-"), e["hwm"]]
                for e in rss.values()]
    return [
        ("Throughput (lines/s) and share of the limit", table(
            ["stage", "lines/s", "share of limit"], rows)),
        ("CPU ms per 1000 lines (RabbitMQ's own CPU not counted; robust to a busy machine)",
         table(["stage", "CPU ms / 1000 lines"], cpu_rows)),
        ("Latency publish -> searchable (paced at 50 % of end-to-end)", table(
            ["load", "probes", "not seen", "p50 ms", "p99 ms", "max ms"], lat_rows)),
        ("Memory of the collector processes (MiB; VmRSS at 25 %/50 %/end, VmHWM peak)", table(
            ["process", "RSS 25%", "RSS 50%", "RSS end", "peak (VmHWM)"], rss_rows)),
        (f"Handoff A/B and consumers/writers sweep (N = {sweep_n:,} each)", table(
            ["handoff", "consumers/writers", "lines/s", "vs shm 1/1", "CPU ms / 1000 lines"],
            sweep)),
    ]


def run_sweep(b: Bench, n: int) -> list[list]:
    queues = [b.cfg.index(f"s_{h}_{c}_{w}").queue_name for h, c, w in SWEEP]
    for q in queues:
        b.declare(q, "bench.sweep")
    progress(f"publishing {n:,} records to {len(queues)} sweep queues")
    b.fill("bench.sweep", queues, n)
    results = []
    for handoff, c, w in SWEEP:
        name = f"s_{handoff}_{c}_{w}"
        proc = b.runner(name, handoff, c, w)
        rate, _ = b.drain(proc, name, n, watch_rss=False)
        b.stack.stop(proc)
        progress(f"  {handoff} {c}/{w}: {rate:,.0f}/s")
        results.append([handoff, f"{c}/{w}", rate, b.cpu.get(name, 0) / n * 1e6])
    base = results[0][2]
    return [[h, cw, f"{r:,.0f}", f"{r / base:.2f}", f"{cpu:.1f}"] for h, cw, r, cpu in results]


def run_http(args: argparse.Namespace) -> None:
    """HTTP ingest: ``clients`` threads POST NDJSON in ~1 MB requests to `alco web` while the
    collector drains; accepted lines/s (answered 200, i.e. confirmed by RabbitMQ), then the
    time until all are searchable, and the web app's CPU per line."""
    n = args.n or (50_000 if args.quick else 1_000_000)
    stack = Stack("http")
    stack.add_index("main")
    try:
        stack.start_searchd()
        b = Bench(stack, n)
        b.collector("main")
        web = stack.start_web()
        port = int(b.cfg.web.bind.rsplit(":", 1)[1])
        progress(f"building {n:,} lines in ~1 MB requests")
        requests = http_requests(b, n)
        wait_for(lambda: queue_bound(b), 60, 0.1, "the collector's queue")
        web_cpu = cpu_seconds([web.pid])
        start = time.perf_counter()
        accepted = post_all(requests, port, args.clients)
        elapsed = time.perf_counter() - start
        web_cpu = cpu_seconds([web.pid]) - web_cpu
        progress(f"accepted {accepted:,} lines in {elapsed:.1f}s; draining")
        wait_for(lambda: b.count("main") >= n, max(120, n / 2000), 0.25, "all searchable")
        searchable = time.perf_counter() - start
        rows = [[f"{len(requests)} requests of ~{len(requests[0]) / 1e6:.2f} MB, "
                 f"{args.clients} clients", f"{accepted / elapsed:,.0f}",
                 f"{n / searchable:,.0f}", f"{web_cpu / n * 1e6:.1f}"]]
        report(f"HTTP ingest, N = {n:,}", [("NDJSON over HTTP (accepted = confirmed by "
                                            "RabbitMQ; e2e = until searchable)", table(
            ["load", "accepted lines/s", "end-to-end lines/s", "web CPU µs / line"], rows))],
               args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def queue_bound(b: Bench) -> bool:
    conn, ch = b.channel()
    try:
        return ch.queue_declare(b.cfg.index("main").queue_name, passive=True) is not None
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()


def http_requests(b: Bench, n: int, size: int = 1 << 20) -> list[bytes]:
    out, part, used = [], [], 0
    for body in bodies(0, n, b.first_us, b.step_us):
        if used + len(body) + 1 > size and part:
            out.append(b"\n".join(part) + b"\n")
            part, used = [], 0
        part.append(body)
        used += len(body) + 1
    if part:
        out.append(b"\n".join(part) + b"\n")
    return out


def post_all(requests: list[bytes], port: int, clients: int) -> int:
    """POST every request (each client on its own keep-alive connection); lines accepted."""
    import http.client

    todo = list(reversed(requests))
    lock = threading.Lock()
    accepted = [0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not todo:
                    break
                body = todo.pop()
            conn.request("POST", "/api/main/ingest", body,
                         {"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            answer = orjson.loads(resp.read())
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {answer}")
            with lock:
                accepted[0] += answer["accepted"]
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 50,000 (smoke check)")
    parser.add_argument("-n", type=int, help="records for the main drain (default 1,000,000)")
    parser.add_argument("--sweep-n", type=int, help="records per sweep run (default N/4)")
    parser.add_argument("--latency-seconds", type=float, help="paced load duration")
    parser.add_argument("--profile", type=float, default=0, metavar="SECONDS",
                        help="py-spy the consumer and writer for SECONDS during the drain")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    parser.add_argument("--http", action="store_true",
                        help="only HTTP ingest: NDJSON in 1 MB requests to `alco web`")
    parser.add_argument("--clients", type=int, default=4, help="HTTP clients (with --http)")
    parser.add_argument("--scaling", action="store_true",
                        help="only: 1 vs 2 REPLACE streams, consumers/writers sweep 1-2")
    parser.add_argument("--stalls", metavar="LIMITS",
                        help="only: REPLACE stalls per rt_mem_limit, e.g. 64M,256M")
    parser.add_argument("--latency", action="store_true",
                        help="only: drain N, then publish->searchable at half the max rate")
    parser.add_argument("--latency-share", type=float, default=0.5, metavar="FRACTION",
                        help="with --latency: the paced rate as a share of the max (0.5)")
    parser.add_argument("--no-infixes", action="store_true",
                        help="with --stalls: day indexes without min_infix_len")
    parser.add_argument("--rt-mem-limit", metavar="SIZE",
                        help="rt_mem_limit of the bench's day indexes (default: ALCO's)")
    parser.add_argument("--cpu", action="store_true",
                        help="only CPU per line by process, single-record vs batched bodies")
    parser.add_argument("--no-line-store", action="store_true",
                        help="with --cpu: day indexes that keep the text in searchd")
    args = parser.parse_args()
    if args.latency_seconds is None:
        args.latency_seconds = 8.0 if args.quick else 30.0
    terminate_on_sigterm()
    if args.rt_mem_limit:
        from alco.index import sphinxconf

        sphinxconf.RT_MEM_LIMIT = args.rt_mem_limit
    if args.http:
        run_http(args)
    elif args.cpu:
        run_cpu(args)
    elif args.scaling:
        run_scaling(args)
    elif args.latency:
        run_latency(args)
    elif args.stalls:
        n = args.n or 800_000
        report(f"ingest REPLACE stalls, N = {n:,}", insert_stalls(
            n, args.stalls.split(","), infixes=not args.no_infixes), args.save)
    else:
        run(args)


if __name__ == "__main__":
    main()
