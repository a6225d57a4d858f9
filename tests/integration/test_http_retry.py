"""HTTP ingest failing mid-request (RabbitMQ stops taking the lines after part of them): the
client's retry stores every line once."""

from __future__ import annotations

import subprocess

import httpx
import orjson
import pytest

from tests.helpers import all_lines, queue_consumers, wait_for
from tests.integration.test_metrics import start_collector

pytestmark = pytest.mark.integration


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"rabbitmqctl {args[0]} refused: {done.stderr.strip()[:200]}")
    return done.stdout


def policy_of(queue: str) -> str:
    """The policy RabbitMQ applies to ``queue`` now ("" for none)."""
    for line in rabbitmqctl("list_queues", "-q", "name", "policy").splitlines():
        name, _, policy = line.partition("\t")
        if name == queue:
            return policy.strip()
    return ""


def body(n: int) -> bytes:
    return b"".join(orjson.dumps({"message": f"line {i}", "seq": i}) + b"\n" for i in range(n))


@pytest.mark.parametrize("header", [None, "request-7"])
def test_a_retry_after_a_503_mid_request_stores_every_line_once(stack, header):
    ix = stack.index()
    stack.start_searchd()
    collector = start_collector(stack)  # (declares and binds the queue)
    stack.stop(collector)
    url = stack.data["rabbitmq"]["url"]
    wait_for(lambda: queue_consumers(url, ix["queue"]) == 0, message="the collector gone")
    stack.web()
    # the queue takes one AMQP message (1000 lines) and then refuses (publisher nack)
    policy = f"{stack.exchange}-full"
    rabbitmqctl("set_policy", "--apply-to", "queues", policy, f"^{ix['queue']}$",
                '{"max-length": 1, "overflow": "reject-publish"}')
    try:
        base = f"http://{stack.data['web']['bind']}"
        headers = {"Content-Type": "application/x-ndjson"}
        if header:
            headers["Idempotency-Key"] = header
        wait_for(lambda: policy_of(ix["queue"]) == policy, message="the policy applied")
        first = httpx.post(f"{base}/api/logs/ingest", content=body(2500), headers=headers,
                           timeout=30)
        assert first.status_code == 503
    finally:
        rabbitmqctl("clear_policy", policy)
    start_collector(stack)
    retry = httpx.post(f"{base}/api/logs/ingest", content=body(2500), headers=headers,
                       timeout=30)
    assert retry.status_code == 200 and retry.json() == {"accepted": 2500}
    config = stack.config()
    wait_for(lambda: len(all_lines(config, "logs")) >= 2500, timeout=60, message="2500 stored")
    seqs = sorted(ln["fields"]["seq"] for ln in all_lines(config, "logs"))
    assert seqs == list(range(2500))
    if header:  # a retry after a lost answer: answered alike, nothing published again
        published = ingested(base)
        assert published == 2500  # (the first request's 1000, the retry's 1500)
        again = httpx.post(f"{base}/api/logs/ingest", content=body(2500), headers=headers,
                           timeout=30)
        assert again.status_code == 200 and again.json() == {"accepted": 2500}
        assert ingested(base) == published


def ingested(base: str) -> float:
    """Lines HTTP ingest published (alco_ingest_lines_total of the web app)."""
    text = httpx.get(f"{base}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("alco_ingest_lines_total{"))

