"""kill -9 mid-batch with the line store on (the default): searchd alone under ``alco run``
(its supervisor starts it again), and the whole stack at once (``alco run`` with its web app,
collector, consumer, writer and searchd), then ``alco run`` again on the same config and data.
Every published line is found exactly once, with the very text that was published (the text
comes from the line store: searchd keeps the message only as index tokens).  And the state a
writer killed between the line store and searchd leaves, played exactly: its ids are not
handed out again, so none reads back as another line's text."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, Record
from alco.index.searchd import port_answers
from alco.index.sphinxconf import line_store
from alco.index.sphinxql import Sphinx
from alco.linestore.writing import keeper_for
from tests.helpers import (
    all_lines,
    child_processes,
    publish,
    queue_consumers,
    stored_count,
    wait_for,
)
from tests.integration.test_metrics import metric
from tests.integration.test_run_keeps_parts_up import child

pytestmark = pytest.mark.integration
KEY = "logstash.app"


def service_lines(n: int, seed: int) -> list[dict]:
    """Lines as a service logs them: a random order UUID and request id in the message, an
    amount, an IP, a bit of unicode, the ``seq`` also as a field; now and then a traceback."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        order = uuid.UUID(int=rng.getrandbits(128), version=4)
        request_id = f"{rng.getrandbits(64):016x}"
        body = {"@timestamp": datetime.now(UTC).isoformat(), "host": f"api-{i % 4}",
                "message": f"order {order} paid {rng.randint(1, 99_999) / 100:.2f} EUR "
                           f"from 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.7 "
                           f"request_id={request_id} — ✓ seq={i}",
                "request_id": request_id, "seq": i, "levelname": "INFO",
                "logger": "shop.payments"}
        if i % 97 == 0:
            body["exc_info"] = "Traceback (most recent call last):\n  ...\nKeyError: 'sku'"
        out.append(body)
    return out


class Feed:
    """The lines of a test, published in parts: synchronously or from a thread."""

    def __init__(self, stack, n: int, seed: int) -> None:
        self.url, self.exchange = stack.data["rabbitmq"]["url"], stack.exchange
        self.lines = service_lines(n, seed)
        self.bodies = [orjson.dumps(b) for b in self.lines]
        self.errors: list[BaseException] = []

    def now(self, lo: int, hi: int) -> None:
        publish(self.url, self.exchange, self.bodies[lo:hi], KEY)

    def in_background(self, lo: int, hi: int) -> threading.Thread:
        def run() -> None:
            try:
                self.now(lo, hi)
            except BaseException as exc:  # (seen by join)
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def join(self, thread: threading.Thread, timeout: float = 60) -> None:
        thread.join(timeout)
        assert not thread.is_alive(), "the publisher did not finish"
        assert not self.errors, self.errors


def every_line_once_with_its_text(stack, feed: Feed, timeout: float = 90) -> list[dict]:
    """Wait (bounded) until searchd has every line, then check each was stored exactly once
    and reads back with the message that was published."""
    config = stack.config()
    n = len(feed.lines)
    wait_for(lambda: stored_count(config, "logs") >= n, timeout=timeout, interval=0.3,
             message=f"{n} lines stored")
    time.sleep(1.0)  # (a duplicate written late would show now)
    got = all_lines(config, "logs")
    seqs = sorted(ln["fields"]["seq"] for ln in got)
    doubled = sorted(s for s, k in Counter(seqs).items() if k > 1)
    assert seqs == list(range(n)), (len(seqs), doubled[:20],
                                    sorted(set(range(n)) - set(seqs))[:20])
    assert len({ln["id"] for ln in got}) == n
    wrong = [(ln["fields"]["seq"], ln["message"], ln.get("marks")) for ln in got
             if ln["message"] != feed.lines[ln["fields"]["seq"]]["message"] or ln.get("marks")]
    assert not wrong, (len(wrong), wrong[:5])
    for ln in got:  # the fields as sent (searchd's js), beside the store's text
        sent = feed.lines[ln["fields"]["seq"]]
        assert ln["fields"]["request_id"] == sent["request_id"]
        assert ln["fields"]["host"] == sent["host"]
    return got


def start_run(stack, log_name: str) -> subprocess.Popen:
    """``alco run`` in a session of its own (its process group can be killed), logging to
    ``log_name``; returns once searchd, the web app and a consumer are up."""
    log = open(stack.tmp / log_name, "ab")
    run = stack.alco("run", stdout=log, stderr=log, start_new_session=True)
    ix = stack.data["index"][0]
    sx_port = stack.data["sphinx"]["port"]
    web_port = int(stack.data["web"]["bind"].rsplit(":", 1)[1])
    url = stack.data["rabbitmq"]["url"]

    def up() -> bool:
        assert run.poll() is None, (stack.tmp / log_name).read_text()[-3000:]
        return (port_answers("127.0.0.1", sx_port) and port_answers("127.0.0.1", web_port)
                and queue_consumers(url, ix["queue"]) > 0)

    wait_for(up, timeout=60, interval=0.2, message="alco run up")
    return run


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process under ``pid`` (children, their children ...)."""
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child_pid, cmd in child_processes(todo.pop()).items():
            if child_pid not in out:
                out[child_pid] = cmd
                todo.append(child_pid)
    return out


def gone(pid: int) -> bool:
    """No such process, or only its zombie (dead, not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def check_line_store_on(stack) -> None:
    config = stack.config()
    assert line_store(config, config.index("logs"))  # (the default: [[index]] line_store)


def test_searchd_killed_9_mid_stream_under_alco_run_every_line_once_with_its_text(stack):
    n, before, during = 12_000, 3_000, 9_000
    stack.index(batch_size=200)
    check_line_store_on(stack)
    run = start_run(stack, "run.log")
    config = stack.config()
    feed = Feed(stack, n, seed=11)
    feed.now(0, before)
    wait_for(lambda: stored_count(config, "logs") >= 1000, timeout=60, interval=0.1,
             message="the first lines stored")
    publisher = feed.in_background(before, during)
    wait_for(lambda: stored_count(config, "logs") >= 2500, timeout=60, interval=0.1,
             message="ingest under way")
    old = child(run, "--nodetach")
    at_kill = stored_count(config, "logs")
    os.kill(old, signal.SIGKILL)  # mid-stream: writers have batches in flight
    sx_port = stack.data["sphinx"]["port"]
    wait_for(lambda: any("--nodetach" in cmd.split() and pid != old
                         for pid, cmd in child_processes(run.pid).items())
             and port_answers("127.0.0.1", sx_port), timeout=60, interval=0.2,
             message="searchd started again")
    feed.join(publisher)
    feed.now(during, n)  # after searchd is back
    every_line_once_with_its_text(stack, feed)
    assert run.poll() is None
    text = (stack.tmp / "run.log").read_text()
    assert "searchd ended (killed by SIGKILL)" in text
    assert metric(stack, "alco_part_restarts_total", part="searchd") == 1
    retries = metric(stack, "alco_insert_retries_total", index="logs")
    duplicates = metric(stack, "alco_records_duplicate_total", index="logs")
    print(f"stored at the kill: {at_kill} of {during} published; writer retries: {retries}; "
          f"duplicates skipped: {duplicates}")
    assert retries >= 1  # a writer was storing when searchd died, and stored again
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 0


def store_entries(stack) -> int:
    """Lines the line store holds, over every day (those of batches whose rows never reached
    searchd included: a crash between the two)."""
    total = 0
    for db in (stack.tmp / "sphinx").glob("*.lines/lines.db"):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            total += con.execute("SELECT COALESCE(SUM(count), 0) FROM blocks").fetchone()[0]
        finally:
            con.close()
    return total


def kill_the_stack(run: subprocess.Popen) -> dict[int, str]:
    """kill -9 of ``alco run``'s process group and of its searchd (in a session of its own,
    not in the group), all at once: frozen first, so none of them sees another die (no
    SIGTERM from the kernel's parent-death signal gets a chance to run).  Returns what was
    killed."""
    searchd = child(run, "--nodetach")
    procs = descendants(run.pid)
    titles = sorted(procs.values())
    assert any(t.startswith("alco: writer logs#") for t in titles), titles
    assert any(t.startswith("alco: consumer logs#") for t in titles), titles
    assert any(t.endswith(" web") for t in titles) and searchd in procs, titles
    os.killpg(run.pid, signal.SIGSTOP)
    os.kill(searchd, signal.SIGSTOP)
    os.kill(searchd, signal.SIGKILL)
    os.killpg(run.pid, signal.SIGKILL)
    assert run.wait(30) == -signal.SIGKILL
    wait_for(lambda: all(gone(pid) for pid in procs), timeout=30, interval=0.1,
             message="every process of the stack dead")
    return procs


def test_whole_stack_killed_9_mid_stream_then_alco_run_again_every_line_once_with_its_text(
        stack):
    n, chunk, rounds = 16_000, 4_000, 3  # a chunk a round, killed mid-stream; then the rest
    ix = stack.index(batch_size=200)
    check_line_store_on(stack)
    url = stack.data["rabbitmq"]["url"]
    feed = Feed(stack, n, seed=23)
    config = stack.config()
    at_kills = []
    for round_no in range(rounds):
        run = start_run(stack, f"run{round_no}.log")  # the same config, data dir, queue
        start = stored_count(config, "logs")
        publisher = feed.in_background(round_no * chunk, (round_no + 1) * chunk)
        wait_for(lambda s=start: stored_count(config, "logs") >= s + 800, timeout=60,
                 interval=0.05, message="ingest under way")
        at_kills.append(stored_count(config, "logs"))
        assert at_kills[-1] < (round_no + 1) * chunk  # a backlog left: the writers are busy
        kill_the_stack(run)
        wait_for(lambda: queue_consumers(url, ix["queue"]) == 0, timeout=30, interval=0.2,
                 message="the broker saw the consumer go")
        feed.join(publisher)  # (what it published while the stack was down waits in RabbitMQ)

    run = start_run(stack, "run-last.log")
    feed.now(rounds * chunk, n)  # after the last restart
    every_line_once_with_its_text(stack, feed)
    assert run.poll() is None
    kept = store_entries(stack)
    print(f"stored at each kill: {at_kills}; lines in the line store: {kept} ({kept - n} of "
          "batches kept there whose rows never reached searchd)")
    assert kept >= n
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 0


def test_writer_killed_between_the_store_and_searchd_its_ids_are_not_read_for_other_lines(
        stack):
    """The state a writer killed -9 after its batch was kept in the line store and before
    searchd had the rows leaves (seen under ``alco run`` with two consumers per index and
    timestamps of whole seconds, where the redelivered lines of a millisecond reach the
    restarted writer in another order): the batch is in the store only, and the restarted
    writer (a fresh IdAllocator, ids from searchd's highest counter) stores other lines of
    the same millisecond.  Each of them must read back with its own text."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    today = datetime.now(UTC).date()
    sec_us = (int(datetime.now(UTC).timestamp()) - 60) * 1_000_000  # a whole second
    rng = random.Random(5)

    def records(label: str, k: int) -> list[Record]:
        return [Record(sec_us, f"order {uuid.UUID(int=rng.getrandbits(128), version=4)} "
                               f"{label} seq={i}", {"seq": i, "who": label}, rng.getrandbits(62))
                for i in range(k)]

    class Killed(BaseException):
        pass

    def killed(*_: object) -> None:
        raise Killed  # (kill -9 here: after the keep, before the REPLACE)

    def writer() -> DayStore:  # a writer process's store, slot 0, with the line store
        return DayStore(Sphinx(config.sphinx.host, config.sphinx.port), IndexSchema.of(ix), 0,
                        30, lines=keeper_for(config, ix))

    dead, restarted = writer(), writer()
    try:
        dead._write = killed
        with pytest.raises(Killed):
            dead.store(records("dead-batch", 200), today, False)
        assert store_entries(stack) == 200 and stored_count(config, "logs") == 0
        sent = records("after-restart", 120)
        assert restarted.store(sent, today, True).stored == 120
    finally:
        for store in (dead, restarted):
            store.sphinx.close()
            store.lines.close()
    got = all_lines(config, "logs")
    assert sorted(ln["fields"]["seq"] for ln in got) == list(range(120))
    wrong = [(ln["fields"]["seq"], ln["message"]) for ln in got
             if ln["message"] != sent[ln["fields"]["seq"]].message]
    assert not wrong, (len(wrong), wrong[:3])
