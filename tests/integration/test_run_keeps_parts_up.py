"""``alco run`` keeps its parts up: searchd, the web app and the collector come back after a
kill -9 each, during an ingest, and every line is found exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from alco.index.searchd import port_answers
from tests.helpers import child_processes, queue_consumers, wait_for
from tests.integration.test_faults import exactly_once, publish_in_background
from tests.integration.test_metrics import metric

pytestmark = pytest.mark.integration
N = 50_000


def child(run: subprocess.Popen, word: str) -> int:
    found = [pid for pid, cmd in child_processes(run.pid).items() if word in cmd.split()]
    assert len(found) == 1, child_processes(run.pid)
    return found[0]


def kill_and_wait_back(run: subprocess.Popen, word: str, back: callable) -> None:
    old = child(run, word)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: any(word in cmd.split() and pid != old
                         for pid, cmd in child_processes(run.pid).items()) and back(),
             timeout=60, interval=0.2, message=f"{word} started again")
    assert run.poll() is None


def test_kill_9_of_each_part_under_alco_run(stack):
    ix = stack.index(batch_size=500)
    stack.write()
    log = open(stack.tmp / "run.log", "ab")
    run = stack.alco("run", stdout=log, stderr=log)
    sx, web = stack.data["sphinx"], stack.data["web"]["bind"]
    url = stack.data["rabbitmq"]["url"]
    web_port = int(web.rsplit(":", 1)[1])

    def up() -> bool:
        assert run.poll() is None, (stack.tmp / "run.log").read_text()[-3000:]
        return (port_answers("127.0.0.1", sx["port"]) and port_answers("127.0.0.1", web_port)
                and queue_consumers(url, ix["queue"]) > 0)

    wait_for(up, timeout=60, interval=0.2, message="alco run up")
    time.sleep(3.5)  # a part that dies within 3 s of its first start could not start at all
    publisher = publish_in_background(stack, N)
    kill_and_wait_back(run, "--nodetach", lambda: port_answers("127.0.0.1", sx["port"]))
    kill_and_wait_back(run, "web", lambda: port_answers("127.0.0.1", web_port))
    kill_and_wait_back(run, "collect", lambda: queue_consumers(url, ix["queue"]) > 0)
    publisher.join(120)
    exactly_once(stack, N)
    assert run.poll() is None
    for part in ("searchd", "web", "collector"):
        assert metric(stack, "alco_part_restarts_total", part=part) == 1, part
    text = (stack.tmp / "run.log").read_text()
    assert "searchd ended (killed by SIGKILL)" in text and "collector ended" in text
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 0


def test_a_part_that_cannot_start_is_named_with_its_log(stack):
    stack.index()
    blocker = stack.alco("web")  # takes the web app's port
    wait_for(lambda: port_answers("127.0.0.1", int(stack.data["web"]["bind"].rsplit(":")[1])),
             message="the port taken")
    run = stack.alco("run", stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        _, err = run.communicate(timeout=60)
    finally:
        blocker.terminate()
    assert run.returncode == 1
    assert b"web cannot start" in err and b"stderr" in err


def test_a_port_taken_for_a_moment_at_start_does_not_stop_alco_run(stack):
    stack.index()
    port = int(stack.data["web"]["bind"].rsplit(":")[1])
    blocker = stack.alco("web")  # takes the web app's port while alco run starts
    wait_for(lambda: port_answers("127.0.0.1", port), message="the port taken")
    log = stack.tmp / "run.log"
    run = stack.alco("run", stderr=open(log, "ab"), stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: b"web did not start" in log.read_bytes() or run.poll() is not None,
                 timeout=60, message="the web app's first try")
        blocker.terminate()  # the port is free again before the last try
        blocker.wait(30)
        wait_for(lambda: run.poll() is not None or (
                 port_answers("127.0.0.1", port) and b"web did not start" in log.read_bytes()),
                 timeout=60, message="alco run's web app up")
        time.sleep(4)  # past its settle time: kept
        assert run.poll() is None, log.read_text()[-3000:]
        assert port_answers("127.0.0.1", port)
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
