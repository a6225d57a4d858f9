"""Scale-out benchmark: one shard against two on this machine, reads through a head, and what
losing a shard does to answers.

    .venv/bin/python bench/shards.py            # N = 200,000
    .venv/bin/python bench/shards.py --n 50000 --save

Each role starts as docs/search.md "Several machines" says: a shard is ``alco run --no-web``
with ``[sphinx] api_port`` and ``[collector] first_slot``, the head ``alco run --no-collector``
with ``[sphinx] agents``.  Phases:

(a) ingest: N lines in batched bodies (500 lines a message, as ALCO's shippers send) are
    published while 1, then 2, shards consume the one queue; lines/s from the first publish
    to the last line searchable, and CPU per line of each shard's processes (its ``alco run``,
    the collector's processes, its searchd; RabbitMQ and Redis apart, shared);
(b) reads: the same mix of requests (newest page of a word, a field filter, a pattern, a
    count, a day's histogram, a context) against the one-shard node (``alco web``) and the
    head over the two shards (the same N lines): p50, p99 and the slowest;
(c) a shard's loss: shard 2 stopped, then hung (SIGSTOP of its searchd, agent_query_timeout
    as configured): how long the head's answers take and what they hold.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pika
from common import (
    RABBIT_URL,
    Stack,
    bodies,
    percentile,
    progress,
    report,
    table,
    terminate_on_sigterm,
    wait_for,
)
from ingest import children_of, cpu_seconds, pids_named

from tests.helpers import free_port, queue_consumers, stored_count, to_toml

PER_BODY = 500  # lines a message
QUERY_TIMEOUT_S = 3.0  # the head's agent_query_timeout in this bench (phase c)
REQUESTS = [  # (name, path, params) of the reading mix
    ("word, newest page", "lines", {"q": "timeout", "limit": 100}),
    ("field filter", "lines", {"q": "levelname:ERROR host:web3", "limit": 100}),
    ("pattern", "lines", {"q": "'card_expired gateway'", "limit": 100}),
    ("count of a word", "count", {"q": "payment"}),
    ("day histogram", "histogram", {"q": "declined", "from": "1d", "buckets": 60}),
    ("every line, oldest page", "lines", {"limit": 100, "order": "asc"}),
]


class Role:
    """One ``alco run`` of a role, with its config."""

    def __init__(self, stack: Stack, name: str, data: dict[str, Any], *args: str) -> None:
        from alco.config import parse

        self.name, self.data = name, data
        self.config = parse(data, name, env={})
        path = stack.tmp / f"{name}.toml"
        path.write_text(to_toml(data))
        Path(data["collector"]["metrics_dir"]).mkdir(parents=True, exist_ok=True)
        self.proc = stack.spawn([sys.executable, "-m", "alco", "--config", str(path),
                                 "--log-level", "warning", "run", *args], f"{name}.log")

    def pids(self) -> list[int]:
        """Its ``alco run``, the collector or web app, their processes, its searchd."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += children_of(pid)
        return out

    def searchd_pid(self) -> int:
        return int((Path(self.data["sphinx"]["data_dir"]) / "searchd.pid").read_text())


def shard(stack: Stack, n: int) -> Role:
    data = copy.deepcopy(stack.data)
    data["sphinx"].update(port=free_port(), api_port=free_port(),
                          data_dir=str(stack.tmp / f"shard{n}"))
    data["collector"].update(metrics_bind=f"127.0.0.1:{free_port()}", first_slot=n,
                             metrics_dir=str(stack.tmp / f"metrics{n}"))
    role = Role(stack, f"shard{n}", data, "--no-web")
    port = int(data["collector"]["metrics_bind"].rsplit(":", 1)[1])
    wait_for(lambda: _answers(port) or role.proc.poll() is not None, 60, 0.1, role.name)
    return role


def _answers(port: int) -> bool:
    from alco.index.searchd import port_answers

    return port_answers("127.0.0.1", port)


def publish(stack: Stack, messages: list[bytes]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
    ch = conn.channel()
    ch.exchange_declare(stack.data["rabbitmq"]["exchange"], exchange_type="topic")
    batch = pika.BasicProperties(content_type="application/x-ndjson", delivery_mode=2)
    for body in messages:
        ch.basic_publish(stack.data["rabbitmq"]["exchange"], "bench.logs", body, batch)
    conn.close()


def ingest(n: int, shards: int) -> tuple[list[Any], Stack, list[Role]]:
    """Phase (a) for 1 or 2 shards: a result row per shard; the stack and shards stay up."""
    stack = Stack(f"shards{shards}")
    stack.add_index("logs")
    roles = [shard(stack, k) for k in range(1, shards + 1)]
    queue = stack.data["index"][0]["queue"]
    wait_for(lambda: queue_consumers(RABBIT_URL, queue) == shards, 60, 0.1, "consumers")
    first_us = time.time_ns() // 1000 - n * 100
    messages = [b"\n".join(bodies(i, min(PER_BODY, n - i), first_us + i * 100, 100))
                for i in range(0, n, PER_BODY)]
    cpu = [cpu_seconds(r.pids()) for r in roles]
    progress(f"{shards} shard(s): publishing {n} lines")
    start = time.monotonic()
    publish(stack, messages)
    wait_for(lambda: sum(stored_count(r.config) for r in roles) >= n, 600, 0.2, "all stored")
    took = time.monotonic() - start
    rows = []
    for role, before in zip(roles, cpu, strict=True):
        lines = stored_count(role.config)
        used = cpu_seconds(role.pids()) - before
        rows.append([shards, role.name, lines, f"{n / took:,.0f}",
                     f"{used * 1e6 / max(lines, 1):.1f}"])
    return rows, stack, roles


def timed_reads(base: str, reps: int, seed: int = 7) -> dict[str, list[float]]:
    """The reading mix ``reps`` times, shuffled: seconds per request by kind."""
    mix = [r for r in REQUESTS for _ in range(reps)]
    random.Random(seed).shuffle(mix)
    took: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, path, params in mix:
            start = time.perf_counter()
            resp = client.get(f"/api/logs/{path}", params=params)
            took.setdefault(name, []).append(time.perf_counter() - start)
            resp.raise_for_status()
    return took


def read_rows(label: str, took: dict[str, list[float]]) -> list[list[str]]:
    every = [t for ts in took.values() for t in ts]
    rows = [[label, name, f"{percentile(ts, 50) * 1000:.1f}", f"{percentile(ts, 99) * 1000:.1f}",
             f"{max(ts) * 1000:.1f}"] for name, ts in took.items()]
    return rows + [[label, "all", f"{percentile(every, 50) * 1000:.1f}",
                    f"{percentile(every, 99) * 1000:.1f}", f"{max(every) * 1000:.1f}"]]


def web_of(stack: Stack, role: Role) -> str:
    """``alco web`` on a shard's own config (a single node): its base URL."""
    data = copy.deepcopy(role.data)
    data["web"]["bind"] = f"127.0.0.1:{free_port()}"
    path = stack.tmp / "single-web.toml"
    path.write_text(to_toml(data))
    proc = stack.spawn([sys.executable, "-m", "alco", "--config", str(path),
                        "--log-level", "warning", "web"], "single-web.log")
    port = int(data["web"]["bind"].rsplit(":", 1)[1])
    wait_for(lambda: _answers(port) or proc.poll() is not None, 60, 0.1, "alco web")
    return f"http://{data['web']['bind']}"


def head_of(stack: Stack, shards: list[Role]) -> tuple[Role, str]:
    data = copy.deepcopy(stack.data)
    data["sphinx"].update(agents=[f"127.0.0.1:{s.config.sphinx.api_port}" for s in shards],
                          agent_query_timeout=QUERY_TIMEOUT_S)
    head = Role(stack, "head", data, "--no-collector")
    port = int(data["web"]["bind"].rsplit(":", 1)[1])
    wait_for(lambda: _answers(port) or head.proc.poll() is not None, 60, 0.1, "head")
    return head, f"http://{data['web']['bind']}"


def loss(base: str, n: int, shard2: Role) -> list[list[str]]:
    """Phase (c): the head's answers with shard 2 hung, then gone."""
    rows = []
    searchd = shard2.searchd_pid()
    for state, act in (("hung (SIGSTOP)", lambda: os.kill(searchd, signal.SIGSTOP)),
                       ("stopped", lambda: _stop(shard2, searchd))):
        act()
        took = timed_reads(base, 2)
        every = [t for ts in took.values() for t in ts]
        count = httpx.get(f"{base}/api/logs/count", params={"cap": 100000}, timeout=120).json()
        rows.append([state, f"{percentile(every, 50) * 1000:.0f}", f"{max(every) * 1000:.0f}",
                     f"{count['count']} of {n}", str(count["partial"]),
                     "; ".join(count["warnings"])[:90]])
    return rows


def _stop(role: Role, searchd: int) -> None:
    os.kill(searchd, signal.SIGCONT)
    role.proc.send_signal(signal.SIGTERM)
    role.proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=15, help="each read kind, per setup")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    terminate_on_sigterm()
    stacks: list[Stack] = []
    try:
        one, stack1, (single,) = ingest(args.n, 1)
        stacks.append(stack1)
        two, stack2, pair = ingest(args.n, 2)
        stacks.append(stack2)
        progress("reads: one node, then the head over two shards")
        near = read_rows("one node", timed_reads(web_of(stack1, single), args.reps))
        _head, base = head_of(stack2, pair)
        far = read_rows("head, 2 shards", timed_reads(base, args.reps))
        progress("a shard's loss")
        lost = loss(base, args.n, pair[1])
    finally:
        for stack in stacks:
            stack.cleanup()
    report(f"scale-out, N = {args.n:,} lines, 1 and 2 shards on one machine", [
        ("ingest (batched bodies of 500; RabbitMQ and Redis not counted)",
         table(["shards", "shard", "lines stored", "lines/s (all shards)", "CPU µs/line"],
               one + two)),
        (f"reads ({args.reps} of each kind, shuffled; ms)",
         table(["setup", "request", "p50", "p99", "slowest"], near + far)),
        (f"a shard's loss (head, agent_query_timeout = {QUERY_TIMEOUT_S:g} s; ms)",
         table(["shard 2", "p50", "slowest", "count", "partial", "warnings"], lost)),
        ("processes", f"RabbitMQ {len(pids_named('beam.smp'))} beam.smp, shared; "
                      f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}"
                      " cores"),
    ], args.save)


if __name__ == "__main__":
    main()
