"""Faults on the real servers, with exact counts: every published line is found exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime

import pika
import pytest
import redis

from alco.catalog.keys import columns_key, newest_key, values_key
from tests.conftest import ENV_PASSTHROUGH, REDIS_URL
from tests.helpers import (
    all_lines,
    child_processes,
    free_port,
    logcollect_body,
    publish,
    stored_count,
    wait_for,
)
from tests.integration.test_metrics import metric, start_collector

pytestmark = pytest.mark.integration
OUTAGE = float(os.environ.get("ALCO_TEST_OUTAGE", "5"))  # seconds searchd stays down


def children(pid: int) -> dict[str, int]:
    """Process title -> pid of the ALCO children of ``pid`` (read from /proc)."""
    return {cmd: child for child, cmd in child_processes(pid).items()
            if cmd.startswith("alco: ")}


def exactly_once(stack, n: int, index: str = "logs") -> None:
    config = stack.config()
    wait_for(lambda: stored_count(config, index) >= n, timeout=90, interval=0.2,
             message=f"{n} lines stored in {index}")
    seqs = sorted(ln["fields"]["seq"] for ln in all_lines(config, index))
    assert seqs == list(range(n))


def publish_in_background(stack, n: int, key: str = "logstash.test") -> threading.Thread:
    bodies = [logcollect_body(i) for i in range(n)]
    thread = threading.Thread(target=publish, args=(stack.data["rabbitmq"]["url"],
                                                    stack.exchange, bodies, key))
    thread.start()
    return thread


@pytest.mark.parametrize("role", ["consumer", "writer"])
def test_kill_9_mid_stream_is_restarted_and_nothing_is_lost_or_doubled(stack, role):
    stack.index(batch_size=200, writers=2)
    stack.start_searchd()
    collector = start_collector(stack)
    titles = wait_for(lambda: (c := children(collector.pid)) and len(c) == 3 and c)
    assert set(titles) == {"alco: consumer logs#0", "alco: writer logs#0",
                           "alco: writer logs#1"}  # what ps and top show
    n = 12_000
    publisher = publish_in_background(stack, n)
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") > 1000, message="first lines stored")
    victim = titles[f"alco: {role} logs#0"]
    os.kill(victim, signal.SIGKILL)
    at_kill = stored_count(config, "logs")
    wait_for(lambda: (c := children(collector.pid)).get(f"alco: {role} logs#0", victim)
             != victim and len(c) == 3, timeout=20, message="team restarted")
    publisher.join()
    exactly_once(stack, n)
    print(f"stored at the kill: {at_kill}; duplicates skipped: "
          f"{metric(stack, 'alco_records_duplicate_total', index='logs')}")
    assert metric(stack, "alco_process_restarts_total", role=role, index="logs") == 1
    log = (stack.tmp / "collector.log").read_text()
    assert f"alco: {role} logs#0 (pid {victim}) exited with -9" in log
    assert stack.stop(collector) == 0


def queue_ready(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def test_searchd_outage_writers_retry_consumers_stop_pulling_nothing_lost(stack):
    stack.data["rabbitmq"]["prefetch"] = 500
    ix = stack.index(batch_size=200)
    stack.start_searchd()
    collector = start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    bodies = [logcollect_body(i) for i in range(3000)]
    publish(url, stack.exchange, bodies[:1000])
    wait_for(lambda: stored_count(stack.config(), "logs") == 1000, message="before the outage")
    stack.searchd.stop()
    publish(url, stack.exchange, bodies[1000:])
    # the consumer holds at most `prefetch` messages; the rest waits in RabbitMQ
    wait_for(lambda: queue_ready(url, ix["queue"]) == 2000 - 500, timeout=20,
             message="backlog left in RabbitMQ")
    wait_for(lambda: metric(stack, "alco_insert_retries_total", index="logs") >= 2,
             timeout=20, message="writer retries")
    time.sleep(max(0.0, OUTAGE - 2))  # the outage itself (the waits above took ~2 s)
    assert queue_ready(url, ix["queue"]) == 1500
    stack.searchd.start()
    exactly_once(stack, 3000)
    assert stack.stop(collector) == 0


def alco_command(stack, *args: str) -> subprocess.CompletedProcess:
    stack.write()
    return subprocess.run([sys.executable, "-m", "alco", "--config", str(stack.config_path),
                           *args], env=ENV_PASSTHROUGH, capture_output=True, text=True,
                          timeout=60)


def test_redis_down_indexing_goes_on_and_rebuild_values_restores_them(stack):
    stack.index()
    stack.start_searchd()
    stack.data["redis"]["url"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    collector = start_collector(stack)
    publish(stack.data["rabbitmq"]["url"], stack.exchange, [logcollect_body(i)
                                                            for i in range(500)])
    exactly_once(stack, 500)
    assert metric(stack, "alco_redis_errors_total", index="logs") >= 1
    assert stack.stop(collector) == 0
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    assert not client.exists(columns_key(stack.prefix, "logs"))

    stack.data["redis"]["url"] = REDIS_URL
    done = alco_command(stack, "rebuild-values")
    assert done.returncode == 0, done.stderr
    assert "logs: values rebuilt from 500 records" in done.stdout
    levels = client.zrange(values_key(stack.prefix, "logs", "levelname"), 0, -1)
    assert sorted(levels) == ["ERROR", "INFO"]
    hosts = client.zrange(values_key(stack.prefix, "logs", "host"), 0, -1)
    assert sorted(hosts) == ["vm0", "vm1", "vm2"]
    assert {"host", "levelname", "seq", "logger"} <= set(client.hgetall(
        columns_key(stack.prefix, "logs")))
    newest = client.zscore(newest_key(stack.prefix), "logs")  # where newest-first reads start
    last = max(datetime.fromisoformat(ln["ts"]) for ln in all_lines(stack.config(), "logs"))
    assert newest == pytest.approx(last.timestamp(), abs=1e-3)


class TcpProxy:
    """A TCP forwarder the test can take down and bring back (a Redis that goes away)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.sockets: list[socket.socket] = []

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self.sockets.append(server)
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_values_catch_up_when_redis_comes_back(stack):
    target = urllib.parse.urlparse(REDIS_URL)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 6379))
    proxy.up()
    stack.data["redis"]["url"] = f"redis://127.0.0.1:{proxy.port}{target.path}"
    stack.index()
    stack.start_searchd()
    collector = start_collector(stack)
    url, client = stack.data["rabbitmq"]["url"], redis.Redis.from_url(REDIS_URL,
                                                                       decode_responses=True)
    key = values_key(stack.prefix, "logs", "host")
    publish(url, stack.exchange, [logcollect_body(i) for i in range(100)])
    wait_for(lambda: sorted(client.zrange(key, 0, -1)) == ["vm0", "vm1", "vm2"])
    proxy.down()
    publish(url, stack.exchange, [logcollect_body(i, host="outage") for i in range(100, 200)])
    wait_for(lambda: stored_count(stack.config(), "logs") == 200, message="indexing goes on")
    wait_for(lambda: metric(stack, "alco_redis_errors_total", index="logs") >= 1)
    assert "outage" not in client.zrange(key, 0, -1)
    proxy.up()
    publish(url, stack.exchange, [logcollect_body(200, host="back")])
    wait_for(lambda: {"outage", "back"} <= set(client.zrange(key, 0, -1)), timeout=20,
             message="values caught up")
    proxy.down()
    assert stack.stop(collector) == 0


def rabbit_connections(name: str) -> list[str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
                         capture_output=True, text=True, timeout=30).stdout
    mark = f'{{"connection_name","{name}"}}'
    return [line.split("\t")[0] for line in out.splitlines() if mark in line]


@pytest.mark.skipif(not os.path.exists("/usr/sbin/rabbitmqctl"), reason="needs rabbitmqctl")
def test_consumer_reconnects_when_the_broker_closes_its_connection(stack):
    ix = stack.index(batch_size=200)
    stack.start_searchd()
    collector = start_collector(stack)
    name = f"alco consumer logs#0 {ix['queue']}"
    first = wait_for(lambda: rabbit_connections(name), message="the consumer's connection")
    n = 8000
    publisher = publish_in_background(stack, n)
    wait_for(lambda: stored_count(stack.config(), "logs") > 500, message="first lines")
    subprocess.run(["rabbitmqctl", "-q", "close_connection", first[0], "test: broker restart"],
                   check=True, capture_output=True, timeout=30)
    wait_for(lambda: (c := rabbit_connections(name)) and c != first, timeout=30,
             interval=0.5, message="a new connection")
    publisher.join()
    exactly_once(stack, n)
    assert "rabbitmq connection lost" in (stack.tmp / "collector.log").read_text()
    assert stack.stop(collector) == 0


def test_several_consumers_writers_and_indexes_at_once(stack):
    stack.index(name="alpha", routing_keys=["alpha.#"], consumers=2, writers=2, batch_size=300)
    stack.index(name="beta", routing_keys=["beta.#"], consumers=2, writers=3, batch_size=300)
    stack.start_searchd()
    collector = start_collector(stack)
    assert len(children(collector.pid)) == 9
    threads = [publish_in_background(stack, 4000, "alpha.app"),
               publish_in_background(stack, 3000, "beta.app")]
    for t in threads:
        t.join()
    exactly_once(stack, 4000, "alpha")
    exactly_once(stack, 3000, "beta")
    ids = [ln["id"] for ln in all_lines(stack.config(), "alpha")]
    assert len(set(ids)) == 4000
    assert stack.stop(collector) == 0
