"""Scale-out: the web app queries distributed indexes whose agents are two shard searchds."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from alco.config import parse
from alco.index.searchd import ManagedSearchd, port_answers
from alco.web.app import create_app
from tests.conftest import ENV_PASSTHROUGH
from tests.helpers import (
    all_lines,
    discard,
    free_port,
    logcollect_body,
    publish,
    stored_count,
    to_toml,
    wait_for,
)
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
N = 300


def shard_data(stack, n: int) -> dict:
    """Shard n's config: its own searchd (SphinxQL + API listener), metrics and id slots."""
    data = copy.deepcopy(stack.data)
    data["sphinx"].update(port=free_port(), api_port=free_port(),
                          data_dir=str(stack.tmp / f"shard{n}"))
    data["collector"].update(metrics_bind=f"127.0.0.1:{free_port()}", first_slot=n,
                             metrics_dir=str(stack.tmp / f"metrics{n}"))
    return data


@pytest.fixture
def shards(stack, request):
    """Two shards and the head's config: shards that keep their lines in their line stores and
    serve them ([sphinx] lines_port; the head's agent_lines), or, parametrized indirectly with
    "searchd", in searchd (no lines_port)."""
    stack.index(columns={"host": "filtered", "request_id": "indexed"})
    started = []
    services = getattr(request, "param", "store") == "store"
    ports = [free_port(), free_port()]
    try:
        for n in (1, 2):
            data = shard_data(stack, n)
            if services:
                data["sphinx"]["lines_port"] = ports[n - 1]
            path = stack.tmp / f"shard{n}.toml"
            path.write_text(to_toml(data))
            searchd = ManagedSearchd(parse(data, f"shard{n}", env={}))
            searchd.start()
            started.append(searchd)
            if services:
                serve_lines(stack, path, ports[n - 1])
        stack.data["sphinx"]["agents"] = [f"127.0.0.1:{s.config.sphinx.api_port}"
                                          for s in started]
        if services:
            stack.data["sphinx"]["agent_lines"] = [f"127.0.0.1:{p}" for p in ports]
        stack.start_searchd()
        yield [s.config for s in started], stack.config()
    finally:
        discard(stack.searchd)
        for searchd in started:
            discard(searchd)


def serve_lines(stack, config: Path, port: int) -> None:
    """A shard's line service, as ``alco run`` starts it; returns once it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "alco.linestore.service", "--config",
                             str(config)], env=ENV_PASSTHROUGH, stdout=subprocess.DEVNULL,
                            stderr=open(stack.tmp / f"lines{port}.log", "ab"))
    stack.procs.append(proc)
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
             message="line service")
    assert proc.poll() is None, (stack.tmp / f"lines{port}.log").read_text()


def test_api_merges_both_shards_in_id_order(shards):
    (shard1, shard2), head = shards
    base = time.time_ns() // 1000 - 60_000_000
    lines = [record(base + i * 1000, f"line {i} from shard {i % 2 + 1}", host=f"vm{i % 2}",
                    seq=i, request_id=f"r{i}") for i in range(N)]
    # each shard's collector has writer slots of its own ([collector] first_slot)
    fill(shard1, lines[0::2], slot=shard1.collector.first_slot)
    fill(shard2, lines[1::2], slot=shard2.collector.first_slot)
    client = TestClient(create_app(head))

    def seqs(resp) -> list[int]:
        assert resp.status_code == 200, resp.text
        return [ln["fields"]["seq"] for ln in resp.json()["lines"]]

    assert seqs(client.get("/api/logs/lines", params={"limit": 1000, "order": "asc"})) \
        == list(range(N))
    page = client.get("/api/logs/lines", params={"limit": 5}).json()
    assert [ln["fields"]["seq"] for ln in page["lines"]] == [299, 298, 297, 296, 295]
    older = client.get("/api/logs/lines", params={"limit": 5, "before": page["next"]})
    assert seqs(older) == [294, 293, 292, 291, 290]
    hits = client.get("/api/logs/lines", params={"q": "host:vm1 shard", "limit": 3}).json()
    assert [ln["fields"]["seq"] for ln in hits["lines"]] == [299, 297, 295]
    assert hits["lines"][0]["highlight"] == 'line 299 from <mark class="t0">shard</mark> 2'
    assert seqs(client.get("/api/logs/lines", params={"q": "request_id:r42"})) == [42]
    assert seqs(client.get("/api/logs/lines", params={"q": "seq:43"})) == [43]

    anchor = page["lines"][2]["id"]
    ctx = client.get(f"/api/logs/context/{anchor}", params={"before": 2, "after": 2}).json()
    assert [ln["fields"]["seq"] for ln in ctx["before"] + ctx["after"]] == [295, 296, 298, 299]
    hist = client.get("/api/logs/histogram", params={"from": "5m"}).json()
    assert hist["total"] == N
    for n in (1, 7, 60):  # never more buckets than asked, wherever the range starts
        for path in ("/api/logs/histogram", "/api/logs/histogram_by"):
            hist = client.get(path, params={"from": "5m", "buckets": n, "field": "host"}).json()
            assert len(hist["buckets"]) <= n and hist["total"] == N, (path, n)
    export = client.get("/api/logs/export").content.splitlines()
    assert [orjson.loads(row)["fields"]["seq"] for row in export] == list(range(N))
    assert client.get("/api/indexes").json()["indexes"][0]["last_5m"] == N


def test_two_collectors_on_one_queue_fill_two_shards_queried_as_one(stack, shards):
    (shard1, shard2), head = shards
    collectors = []
    for n in (1, 2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "alco", "--config", str(stack.tmp / f"shard{n}.toml"),
             "collect"], env=ENV_PASSTHROUGH, stdout=subprocess.DEVNULL,
            stderr=open(stack.tmp / f"collector{n}.log", "ab"))
        stack.procs.append(proc)
        collectors.append(proc)
        port = int((shard1, shard2)[n - 1].collector.metrics_bind.rsplit(":", 1)[1])
        wait_for(lambda p=port: port_answers("127.0.0.1", p), message=f"collector {n}")
    n = 2000
    publish(stack.data["rabbitmq"]["url"], stack.exchange,
            [logcollect_body(i) for i in range(n)], "logstash.shop")
    wait_for(lambda: stored_count(head) >= n, timeout=60, interval=0.2, message="all stored")
    assert 0 < stored_count(shard1) < n and 0 < stored_count(shard2) < n  # both took a share
    lines = all_lines(head, "logs")
    assert sorted(ln["fields"]["seq"] for ln in lines) == list(range(n))  # each line once
    ids = [int(ln["id"]) for ln in lines]
    assert ids == sorted(set(ids))  # merged in id order (time to the millisecond, then slot)
    for proc in collectors:
        assert stack.stop(proc) == 0


def test_a_shard_that_does_not_answer_makes_the_answer_partial_and_says_so(shards):
    (shard1, shard2), head = shards
    base = time.time_ns() // 1000 - 60_000_000
    lines = [record(base + i * 1000, f"line {i}", seq=i) for i in range(40)]
    fill(shard1, lines[0::2], slot=shard1.collector.first_slot)
    fill(shard2, lines[1::2], slot=shard2.collector.first_slot)
    client = TestClient(create_app(head))
    whole = client.get("/api/logs/lines", params={"limit": 100}).json()
    assert len(whole["lines"]) == 40 and whole["warnings"] == []

    pid = int((Path(shard2.sphinx.data_dir) / "searchd.pid").read_text())
    os.kill(pid, signal.SIGTERM)  # shard 2 goes away
    wait_for(lambda: not port_answers("127.0.0.1", shard2.sphinx.api_port), message="shard down")
    agent = f"127.0.0.1:{shard2.sphinx.api_port}"
    for path, params in (("/api/logs/lines", {"limit": 100, "q": "line"}),
                         ("/api/logs/histogram", {"from": "5m"}), ("/api/indexes", {})):
        body = client.get(path, params=params).json()
        assert any(agent in w for w in body["warnings"]), (path, body["warnings"])
    part = client.get("/api/logs/lines", params={"limit": 100}).json()
    assert sorted(ln["fields"]["seq"] for ln in part["lines"]) == list(range(0, 40, 2))
    metrics = client.get("/metrics").text
    assert 'alco_search_partial_total{endpoint="lines"}' in metrics


@pytest.fixture
def one_node(stack, shards):
    """A single searchd holding what the two shards hold, with the same ids (the same writer
    slots): every read of the head must answer as it does."""
    data = copy.deepcopy(stack.data)
    data["sphinx"].update(port=free_port(), data_dir=str(stack.tmp / "single"), agents=[],
                          agent_lines=[])
    searchd = ManagedSearchd(parse(data, "single", env={}))
    searchd.start()
    try:
        yield searchd.config
    finally:
        discard(searchd)


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


@pytest.mark.parametrize("shards", ["store", "searchd"], indirect=True)
def test_every_read_answers_on_the_head_as_on_one_node(shards, one_node):
    (shard1, shard2), head = shards
    base = (time.time_ns() // 1000 // 60_000_000 - 2) * 60_000_000 + 7_000_123  # off the edges
    lines = [record(base + i * 211_000, f"line {i} from shard {i % 2 + 1} code c{i % 7}",
                    host=f"vm{i % 3}", seq=i, request_id=f"r{i}") for i in range(N)]
    for config in (shard1, one_node):
        fill(config, lines[0::2], slot=shard1.collector.first_slot)
    for config in (shard2, one_node):
        fill(config, lines[1::2], slot=shard2.collector.first_slot)
    apps = TestClient(create_app(head)), TestClient(create_app(one_node))
    span = {"from": iso(base - 1), "to": iso(base + N * 211_000)}
    anchor = all_lines(one_node, "logs")[123]["id"]
    reads = [
        ("lines", {"limit": 1000, "order": "asc"}), ("lines", {"q": "shard", "limit": 7}),
        ("lines", {"q": "host:vm1 'from shard 2'", "limit": 50}),  # a pattern
        ("lines", {"q": "/line [0-9]*7 from/", "limit": 50, "order": "asc"}),
        ("lines", {"q": "c3", "before": anchor, "limit": 20}),
        ("count", {"q": "shard"}), ("count", {"q": "c3 -host:vm2"}),
        ("count", {"q": "code", "before": anchor}),  # the page's "hit n of N"
        ("count", {"q": "'shard 1 code c5'"}),
        (f"context/{anchor}", {"before": 4, "after": 4}),
        (f"context/{anchor}", {"before": 3, "after": 3, "same": "host"}),
        ("histogram", {**span, "buckets": 20}), ("histogram", {**span, "q": "c1", "buckets": 7}),
        ("histogram_by", {**span, "field": "host", "buckets": 10}),
        ("facets", {**span, "field": "host"}), ("facets", {**span, "field": "seq", "q": "c2"}),
    ]
    for path, params in reads:
        got = [app.get(f"/api/logs/{path}", params=params) for app in apps]
        assert [r.status_code for r in got] == [200, 200], (path, params, got[0].text)
        assert got[0].json() == got[1].json(), (path, params)
    exports = [app.get("/api/logs/export", params={"q": "c4"}).content for app in apps]
    assert exports[0] == exports[1] and len(exports[0].splitlines()) == len(range(4, N, 7))
