"""The collector's metrics, read by a real Prometheus server scraping its port."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
import urllib.request

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port, logcollect_body, publish, queue_consumers, wait_for

pytestmark = pytest.mark.integration


def start_collector(stack):
    """Start the collector and wait until every queue has its consumers (bound, consuming):
    what is published before the queue is bound is dropped by the exchange."""
    proc = stack.collector()
    for ix in stack.data["index"]:
        want = ix.get("consumers", 1)
        wait_for(lambda q=ix["queue"], w=want: queue_consumers(stack.data["rabbitmq"]["url"], q)
                 >= w, timeout=30, interval=0.1, message=f"consumers on {ix['queue']}")
    return proc


def scrape(stack) -> dict[tuple[str, frozenset], float]:
    """Every sample the collector exports: (name, labels) -> value."""
    url = f"http://{stack.data['collector']['metrics_bind']}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(stack, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in scrape(stack).items() if n == name and want <= lab)


def test_counters_histograms_and_gauges_are_exported(stack):
    stack.index(batch_size=100)
    stack.start_searchd()
    start_collector(stack)
    publish(stack.data["rabbitmq"]["url"], stack.exchange,
            [logcollect_body(i) for i in range(500)] + [b""])
    wait_for(lambda: metric(stack, "alco_records_stored_total", index="logs") == 500,
             message="500 stored")
    samples = scrape(stack)
    names = {n for n, _ in samples}
    assert metric(stack, "alco_records_received_total", index="logs") == 501
    assert metric(stack, "alco_records_dropped_total", index="logs", reason="empty") == 1
    assert metric(stack, "alco_batch_size_count", index="logs") >= 5
    assert metric(stack, "alco_batch_size_sum", index="logs") == 500
    assert metric(stack, "alco_insert_seconds_count", index="logs") >= 5
    assert metric(stack, "alco_redis_seconds_count", index="logs") >= 5
    assert {"alco_writer_queue_depth", "alco_queue_backlog"} <= names
    wait_for(lambda: ("alco_queue_backlog", frozenset({("index", "logs")})) in scrape(stack),
             timeout=15, message="backlog gauge")


def prometheus_query(port: int, query: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        data = orjson.loads(urllib.request.urlopen(url, timeout=5).read())
    except OSError:
        return []
    return data["data"]["result"] if data.get("status") == "success" else []


def test_a_real_prometheus_server_scrapes_the_collector(stack, tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's `prometheus` binary is not installed (scripts/bootstrap.sh test "
                    "installs it)")
    stack.index()
    stack.start_searchd()
    start_collector(stack)
    n = 300
    publish(stack.data["rabbitmq"]["url"], stack.exchange, [logcollect_body(i) for i in range(n)])
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: alco\n    static_configs:\n"
        f"      - targets: ['{stack.data['collector']['metrics_bind']}']\n")
    proc = subprocess.Popen(
        [binary, f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    stack.procs.append(proc)
    try:
        def stored() -> float | None:
            result = prometheus_query(port, 'sum(alco_records_stored_total{index="logs"})')
            return float(result[0]["value"][1]) if result else None

        wait_for(lambda: stored() == n, timeout=60, interval=0.5,
                 message="prometheus reports every record stored")
        up = prometheus_query(port, 'up{job="alco"}')
        assert up and up[0]["value"][1] == "1"
    finally:
        proc.terminate()
        proc.wait(20)
