"""Shards keep their lines in their own line store and serve them (alco.linestore.service);
the head fetches a page's lines from the shards that hold them (alco.linestore.remote)."""

from __future__ import annotations

import copy
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import orjson
import pytest

from alco.config import parse
from alco.index.schema import day_index, id_ms, make_id, slot_of
from alco.index.searchd import ManagedSearchd, port_answers
from alco.index.sphinxql import Sphinx
from alco.linestore.reading import LineReader
from alco.linestore.remote import ShardLines
from alco.linestore.service import MAX_IDS
from tests.conftest import ENV_PASSTHROUGH
from tests.helpers import child_processes, discard, free_port, to_toml, wait_for
from tests.integration.test_distributed import shard_data
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
N = 300
TOKENS = ["t-head", "t-other=other"]


def serve_lines(stack, n: int) -> subprocess.Popen:
    """Shard n's line service, as ``alco run`` starts it; returns once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "alco.linestore.service", "--config",
         str(stack.tmp / f"shard{n}.toml")], env=ENV_PASSTHROUGH, stdout=subprocess.DEVNULL,
        stderr=open(stack.tmp / f"lines{n}.log", "ab"))
    stack.procs.append(proc)
    port = stack.shard_lines_ports[n - 1]
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
             message=f"line service {n}")
    assert proc.poll() is None, (stack.tmp / f"lines{n}.log").read_text()
    return proc


@pytest.fixture
def shards(stack):
    """Two shards (searchd and line service each), and the head's config (agents and the
    line services on ports of their own: both on this host)."""
    stack.index(columns={"host": "filtered", "request_id": "indexed"})
    stack.index(name="other")
    stack.data["web"]["tokens"] = TOKENS
    started = []
    stack.shard_lines_ports = [free_port(), free_port()]
    try:
        for n in (1, 2):
            data = shard_data(stack, n)
            data["sphinx"]["lines_port"] = stack.shard_lines_ports[n - 1]
            (stack.tmp / f"shard{n}.toml").write_text(to_toml(data))
            searchd = ManagedSearchd(parse(data, f"shard{n}", env={}))
            searchd.start()
            started.append(searchd)
        stack.services = [serve_lines(stack, n) for n in (1, 2)]
        stack.data["sphinx"].update(
            agents=[f"127.0.0.1:{s.config.sphinx.api_port}" for s in started],
            agent_lines=[f"127.0.0.1:{p}" for p in stack.shard_lines_ports],
            agent_connect_timeout=0.5, agent_query_timeout=1.5)
        yield [s.config for s in started], stack.config()
    finally:
        discard(stack.searchd)
        for searchd in started:
            discard(searchd)


def stored_ids(config, day: str) -> dict[int, int]:
    """Time (µs) -> id of every line in a shard's day index."""
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:  # (the times: the shard's line store, which keeps them)
        rows = sx.query(f"SELECT id FROM {day} LIMIT 10000 OPTION max_matches=10000")
    finally:
        sx.close()
    briefs = LineReader(config.sphinx.data_dir).briefs("logs", [int(r["id"]) for r in rows])
    assert len(briefs) == len(rows)
    return {b.ts_us: doc_id for doc_id, b in briefs.items()}


@pytest.fixture
def filled(shards):
    """N lines, the even ones on shard 1 (slot 1), the odd ones on shard 2 (slot 2):
    (shard configs, head config, the records by id, the day index)."""
    (shard1, shard2), head = shards
    base = time.time_ns() // 1000 - 60_000_000
    lines = [record(base + i * 1000, f"line {i} from shard {i % 2 + 1} — заказ 订单",
                    host=f"vm{i % 3}", seq=i, request_id=f"r{i}", nested={"a": [i, None]})
             for i in range(N)]
    fill(shard1, lines[0::2], slot=shard1.collector.first_slot)
    fill(shard2, lines[1::2], slot=shard2.collector.first_slot)
    day = day_index("logs", datetime.now(UTC).date())
    by_ts = {rec.ts_us: rec for rec in lines}
    by_id = {}
    for config in (shard1, shard2):
        for ts, doc_id in stored_ids(config, day).items():
            by_id[doc_id] = by_ts[ts]
    assert len(by_id) == N
    return (shard1, shard2), head, by_id, day


def test_the_head_fetches_a_mixed_page_from_both_shards_exactly(filled):
    (shard1, shard2), head, by_id, day = filled
    assert {slot_of(i) for i in by_id} == {1, 2}
    ids = sorted(by_id)
    wanted = ids[::3] + [make_id(id_ms(ids[0]) - 1, 1, 0), make_id(id_ms(ids[0]), 3, 0)]
    lines = ShardLines(head)
    try:
        layout = lines.layout(day)
        assert layout is not None and not layout.keeps_text and layout.has_parts
        # the fields are in the store unless the day keeps them in searchd's js attribute
        in_store = not getattr(layout, "keeps_fields", True)
        warnings: list[str] = []
        got = lines.fetch("logs", wanted, [day], warnings)
        assert warnings == []
        assert sorted(got) == ids[::3]  # the two made-up ids are not found, and no error
        for doc_id, entry in got.items():
            rec = by_id[doc_id]
            assert (entry.id, entry.ts_us, entry.message, entry.fields) \
                == (doc_id, rec.ts_us, rec.message, rec.fields if in_store else {})
        # (the time and the marks too: the store keeps them for a day made without ts/meta)
        assert lines.briefs("logs", ids, [day]) == {
            i: (by_id[i].ts_us, by_id[i].message, {}) for i in ids}
        assert lines.fetch("other", ids) == {}  # a token of the head's opening every index
        assert lines.fetch("logs", []) == {}
        # more ids than one request takes: several, to each shard
        many = ids + [make_id(id_ms(ids[0]) - 1 - c, 1, 0) for c in range(2 * MAX_IDS)]
        assert {i: b.message for i, b in lines.briefs("logs", many).items()} \
            == {i: by_id[i].message for i in ids}

        assert lines.layout(day_index("logs", datetime(2001, 1, 1).date())) is None
    finally:
        lines.close()


def test_a_shard_that_is_down_leaves_its_lines_out_within_the_bound(stack, filled):
    (shard1, shard2), head, by_id, day = filled
    ids = sorted(by_id)
    lines = ShardLines(head)
    try:
        assert len(lines.briefs("logs", ids, [day])) == N  # both known, connections kept
        stack.services[1].kill()  # shard 2's line service dies
        stack.services[1].wait()
        warnings: list[str] = []
        got = lines.briefs("logs", ids, [day], warnings)
        assert sorted(got) == [i for i in ids if slot_of(i) == 1]
        assert len(warnings) == 1 and f"shard {head.sphinx.agents[1]}" in warnings[0]
        assert "its lines are missing" in warnings[0]
        got = lines.briefs("logs", ids, [day])  # its slots are asked for again: still down
        assert sorted(got) == [i for i in ids if slot_of(i) == 1]

        stack.services[1] = serve_lines(stack, 2)  # back: its lines are found again
        assert len(lines.briefs("logs", ids, [day])) == N
    finally:
        lines.close()


def test_a_hung_shard_costs_at_most_the_agent_timeouts(stack, filled):
    (shard1, shard2), head, by_id, day = filled
    hung = socket.socket()  # accepts connections (the kernel does) and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    try:
        port = hung.getsockname()[1]
        data = copy.deepcopy(stack.data)
        data["sphinx"]["agent_lines"][1] = f"127.0.0.1:{port}"
        lines = ShardLines(parse(data, "head", env={}))
        try:
            ids = sorted(by_id)
            start = time.monotonic()
            warnings: list[str] = []
            got = lines.briefs("logs", ids, [day], warnings)
            took = time.monotonic() - start
            assert sorted(got) == [i for i in ids if slot_of(i) == 1]
            assert took < 0.5 + 1.5 + 1.0, took
            assert len(warnings) == 1 and f"127.0.0.1:{port}" in warnings[0]
            start = time.monotonic()
            assert lines.layout(day) is not None  # shard 1's
            assert time.monotonic() - start < 3.0
        finally:
            lines.close()
    finally:
        hung.close()


def post(port: int, body: bytes, token: str | None = "t-head") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("POST", "/lines", body, headers)
        resp = conn.getresponse()
        return resp.status, orjson.loads(resp.read())
    finally:
        conn.close()


def test_bad_requests_get_a_4xx_that_says_why(stack, filled):
    (shard1, _), _, by_id, day = filled
    port = shard1.sphinx.lines_port
    some = sorted(by_id)[:3]
    assert post(port, orjson.dumps({"index": "logs", "ids": some}))[0] == 200
    cases = [
        (orjson.dumps({"index": "logs", "ids": some}), None, 401, "bearer token"),
        (orjson.dumps({"index": "logs", "ids": some}), "nope", 401, "bearer token"),
        (orjson.dumps({"index": "logs", "ids": some}), "t-other", 404, "no index 'logs'"),
        (b"{", "t-head", 400, "not JSON"),
        (orjson.dumps({"index": "logs", "ids": list(range(MAX_IDS + 1))}), "t-head", 413,
         "at most"),
        (orjson.dumps({"index": "logs", "ids": some, "days": ["/etc/passwd"]}), "t-head", 400,
         "not a day index"),
        (orjson.dumps({"index": "logs", "ids": [True]}), "t-head", 400, "integer"),
    ]
    for body, token, status, needle in cases:
        got = post(port, body, token)
        assert got[0] == status and needle in got[1]["error"], (body[:80], got)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:  # a day index searchd does not have: null; one of another index: refused
        conn.request("GET", f"/info?days={day},logs_20010101",
                     headers={"Authorization": "Bearer t-head"})
        info = orjson.loads(conn.getresponse().read())
        assert info["first_slot"] == 1 and info["slots"] == {"logs": 1, "other": 1}
        assert info["layouts"]["logs_20010101"] is None
        assert info["layouts"][day]["keeps_text"] is False
    finally:
        conn.close()


def test_alco_searchd_on_a_shard_serves_its_lines_and_keeps_the_service_up(stack):
    stack.index()
    port = free_port()
    stack.data["sphinx"].update(api_port=free_port(), lines_port=port)
    log = open(stack.tmp / "run.log", "ab")
    run = stack.alco("searchd", stdout=log, stderr=log)
    try:
        wait_for(lambda: port_answers("127.0.0.1", port) or run.poll() is not None,
                 timeout=60, message="the line service up")
        assert run.poll() is None, (stack.tmp / "run.log").read_text()[-3000:]
        time.sleep(3.5)  # past the part's settle time: a death now is restarted
        old = [pid for pid, cmd in child_processes(run.pid).items()
               if "alco.linestore.service" in cmd]
        assert len(old) == 1, child_processes(run.pid)
        os.kill(old[0], signal.SIGKILL)
        wait_for(lambda: any("alco.linestore.service" in cmd and pid != old[0]
                             for pid, cmd in child_processes(run.pid).items())
                 and port_answers("127.0.0.1", port), timeout=60, message="lines restarted")
        assert "lines ended (killed by SIGKILL)" in (stack.tmp / "run.log").read_text()
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
