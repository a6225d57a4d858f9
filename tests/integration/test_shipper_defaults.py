"""Shippers configured exactly as their READMEs say (their own exchange durability and routing
key), started before and after ALCO: every line arrives, once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import all_lines, stored_count, wait_for
from tests.integration.test_grep import wait_queues

pytestmark = pytest.mark.integration
pytest.importorskip("logcollect.boot")
pytest.importorskip("logstash")
SHIP = Path(__file__).with_name("shippers") / "ship.py"
N = 500


def shipper(stack, kind: str) -> subprocess.Popen:
    url = stack.data["rabbitmq"]["url"]
    if kind == "logcollect":
        url = url.replace("%2F", "")  # logcollect's URI form: amqp://user:pass@host:port/
    proc = subprocess.Popen([sys.executable, str(SHIP), kind, url, stack.exchange, str(N)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            stderr=open(stack.tmp / f"{kind}.log", "ab"))
    stack.procs.append(proc)
    assert proc.stdout.readline().strip() == "ready", (stack.tmp / f"{kind}.log").read_text()
    return proc


def go(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "done"
    assert proc.wait(30) == 0


def start_alco(stack) -> None:
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)


def shipped(stack) -> list[dict]:
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs", "shipped") >= N + 1, timeout=60,
             message=f"{N + 1} shipped lines stored")
    return [ln for ln in all_lines(config, "logs", "shipped")
            if ln["message"].startswith("shipped")]


@pytest.mark.parametrize("kind", ["logcollect", "python-logstash"])
@pytest.mark.parametrize("order", ["shipper first", "alco first"])
def test_a_shipper_with_its_defaults_loses_nothing(stack, kind, order) -> None:
    stack.index()  # ALCO's defaults: exchange, routing keys
    if order == "alco first":
        start_alco(stack)
        proc = shipper(stack, kind)
    else:
        proc = shipper(stack, kind)  # declares the exchange as its defaults say
        start_alco(stack)
    go(proc)
    lines = shipped(stack)
    messages = [ln["message"] for ln in lines]
    assert sorted(messages[:-1], key=lambda m: int(m.split()[1])) == [
        f"shipped {i}" for i in range(N)]  # every line, once
    assert messages[-1] == "shipped crash"
    assert [ln["fields"]["seq"] for ln in lines[:3]] == [0, 1, 2]  # fields as sent
    assert lines[0]["fields"]["order_id"] == "o0"
    traceback = lines[-1]["fields"].get("exc_info") or lines[-1]["fields"].get("stack_trace")
    assert "ZeroDivisionError" in traceback
