"""Several machines as docs/search.md "Several machines" starts them, on one machine: two
shards (``alco run --no-web``, each with ``[sphinx] api_port`` and ``[collector]
first_slot``) fill their own searchd from one queue; the head (``alco run --no-collector``
with ``[sphinx] agents``) serves the web app over both."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from alco.config import Config, load
from alco.index.searchd import port_answers
from tests.conftest import ENV_PASSTHROUGH, RABBIT_URL
from tests.helpers import publish, queue_consumers, stored_count, to_toml, wait_for
from tests.integration.test_distributed import shard_data
from tests.integration.test_search_api import _answers, read_events

pytestmark = pytest.mark.integration
N = 400  # lines sent to the shards


@dataclass
class Deployment:
    shards: list[Config]
    head: Config

    @property
    def url(self) -> str:
        return f"http://{self.head.web.bind}"


def start(stack, data: dict, name: str, *args: str) -> subprocess.Popen:
    """``alco --config <name>.toml run <args>``, as a user starts a role."""
    path = stack.tmp / f"{name}.toml"
    path.write_text(to_toml(data))
    proc = subprocess.Popen([sys.executable, "-m", "alco", "--config", str(path), "run", *args],
                            env=ENV_PASSTHROUGH, stdout=subprocess.DEVNULL,
                            stderr=open(stack.tmp / f"{name}.log", "ab"))
    stack.procs.append(proc)
    return proc


def wait_port(bind: str, proc: subprocess.Popen, log: Path) -> None:
    port = int(bind.rsplit(":", 1)[1])
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
             timeout=60, message=f"{bind} answers")
    assert proc.poll() is None, log.read_text()


@pytest.fixture
def deployment(stack) -> Iterator[Deployment]:
    stack.index(batch_ms=50)
    shards = []
    for n in (1, 2):
        data = shard_data(stack, n)
        proc = start(stack, data, f"shard{n}", "--no-web")
        wait_port(data["collector"]["metrics_bind"], proc, stack.tmp / f"shard{n}.log")
        shards.append(load(stack.tmp / f"shard{n}.toml", env={}))
    queue = stack.data["index"][0]["queue"]
    wait_for(lambda: queue_consumers(RABBIT_URL, queue) == 2, message="both shards consume")
    stack.data["sphinx"]["agents"] = [f"127.0.0.1:{s.sphinx.api_port}" for s in shards]
    head = start(stack, stack.data, "head", "--no-collector")
    wait_port(stack.data["web"]["bind"], head, stack.tmp / "head.log")
    deployment = Deployment(shards, load(stack.tmp / "head.toml", env={}))
    wait_for(lambda: _answers(deployment.url + "/api/logs/tail"), message="the head's web app")
    yield deployment
    for proc in stack.procs:
        assert stack.stop(proc) == 0


def body(i: int, ago_s: float = 0.0) -> bytes:
    stamp = datetime.now(UTC) - timedelta(seconds=ago_s)
    return orjson.dumps({"@timestamp": stamp.isoformat(), "host": f"vm{i % 3}",
                         "message": f"tailed line {i}", "seq": i})


def send(url: str, exchange: str) -> int:
    """200 lines at 100 a second, then 5 bursts of 40 at once: N lines, stamped as sent."""
    for i in range(200):
        publish(url, exchange, [body(i)], "logstash.app")
        time.sleep(0.01)  # the steady rate a shipper keeps
    for burst in range(5):
        publish(url, exchange, [body(200 + burst * 40 + k) for k in range(40)], "logstash.app")
        time.sleep(0.3)
    return N


def following(stack) -> tuple[subprocess.Popen, queue.Queue]:
    """``alco grep -f`` on the head's config, its output lines in a queue; returns once it
    follows (a first line published reached it)."""
    grep = subprocess.Popen(
        [sys.executable, "-m", "alco", "--config", str(stack.tmp / "head.toml"), "grep", "-f",
         "-m", str(N + 2), "--json", "logs", "tailed"],
        env=ENV_PASSTHROUGH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stack.procs.append(grep)
    out: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [out.put(line) for line in grep.stdout], daemon=True).start()
    publish(RABBIT_URL, stack.exchange, [body(-1)], "logstash.app")
    assert orjson.loads(out.get(timeout=30))["fields"]["seq"] == -1
    return grep, out


def test_the_heads_live_tail_sends_every_line_of_both_shards_once(stack, deployment):
    grep, printed = following(stack)
    tail = deployment.url + "/api/logs/tail"
    with httpx.stream("GET", tail, params={"q": "tailed"}, timeout=30) as resp:
        stream = resp.iter_lines()
        next(stream)  # the stream is open: its cursor and late-line position are set
        sender = threading.Thread(target=send, args=(RABBIT_URL, stack.exchange))
        sender.start()
        events = read_events(stream, lambda ev: sum(
            1 if e == "line" else d["count"] for e, d in ev if e in ("line", "skipped")) >= N)
        sender.join()
        # a line its shipper sent two minutes late: its writer reports it, the head pushes it
        publish(RABBIT_URL, stack.exchange, [body(N, ago_s=120)], "logstash.app")
        [(event, late)] = read_events(stream, lambda ev: len(ev) == 1)
        assert (event, late["fields"]["seq"], late["late"]) == ("line", N, True)
    assert all(0 < stored_count(s) < N for s in deployment.shards)  # both took a share
    assert [e for e, _ in events if e != "line"] == []  # nothing skipped, no error
    seqs = [d["fields"]["seq"] for _, d in events]
    assert sorted(seqs) == list(range(N))  # every line once
    in_order = [int(d["id"]) for _, d in events if not d.get("late")]
    assert in_order == sorted(in_order)  # in id order, but for those marked late
    # alco grep -f: the same lines, each once, and the late one (-m stops it after them)
    assert grep.wait(30) == 0, grep.stderr.read()
    lines = [orjson.loads(printed.get_nowait()) for _ in range(printed.qsize())]
    assert sorted(ln["fields"]["seq"] for ln in lines) == list(range(N + 1))
    assert grep.stderr.read() == ""  # nothing skipped, no shard missing
