"""The line store beside searchd: new day indexes hold no line text, reads get it from the
store, and a day made before the store (its text in searchd) is read beside one made with it.
"""

from __future__ import annotations

import os
import random
import signal
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, Record, day_index, make_id
from alco.index.sphinxql import Sphinx, describe
from alco.linestore.daydb import day_dir
from alco.linestore.writing import LineWriter
from alco.search.texts import Texts
from tests.helpers import (
    all_lines,
    child_processes,
    into_day_us,
    publish,
    stored_count,
    wait_for,
)
from tests.integration.test_grep import wait_queues

pytestmark = pytest.mark.integration


def service_body(i: int, rng: random.Random) -> bytes:
    """A line as services log it: a random UUID and request id, an IP, a number, unicode,
    now and then a traceback."""
    body = {"@timestamp": datetime.now(UTC).isoformat(), "host": f"web-{i % 3}",
            "message": f"order {uuid.UUID(int=rng.getrandbits(128))} paid {rng.random():.4f} "
                       f"from 10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)} — 订单已支付 #{i}",
            "request_id": f"{rng.getrandbits(64):016x}", "seq": i, "levelname": "INFO"}
    if i % 50 == 0:
        body["exc_info"] = "Traceback (most recent call last):\n  ...\nKeyError: 'sku'"
    return orjson.dumps(body)


def has_text_attr(config, index: str) -> bool:
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        return {"Field": "logline", "Type": "string"} in sx.query(f"DESCRIBE {index}", [])
    finally:
        sx.close()


def test_searchd_finds_and_the_store_keeps_through_a_writer_killed_mid_stream(stack):
    stack.index(batch_ms=20, batch_size=200)
    stack.start_searchd()
    collector = stack.collector()
    wait_queues(stack)
    config = stack.config()
    rng = random.Random(7)
    bodies = [service_body(i, rng) for i in range(3000)]
    url, ex = stack.data["rabbitmq"]["url"], stack.exchange
    publish(url, ex, bodies[:1500], "logstash.app")
    wait_for(lambda: stored_count(config, "logs") >= 300, message="the first lines")
    writers = [pid for pid, cmd in child_processes(collector.pid).items() if "writer" in cmd]
    assert writers
    for pid in writers:  # kill -9 mid-stream (no chance to finish or ack): it is restarted
        os.kill(pid, signal.SIGKILL)
    publish(url, ex, bodies[1500:], "logstash.app")
    wait_for(lambda: stored_count(config, "logs") >= 3000, timeout=60, message="every line")
    today = day_index("logs", datetime.now(UTC).date())
    assert not has_text_attr(config, today)
    assert (day_dir(Path(config.sphinx.data_dir), today) / "lines.db").exists()
    got = all_lines(config, "logs")
    sent = [orjson.loads(b) for b in bodies]
    assert sorted(ln["message"] for ln in got) == sorted(b["message"] for b in sent)  # once each
    assert all(not ln.get("marks") for ln in got)
    # a word, a phrase in CJK and a regex find lines whose text comes from the store
    word = sent[1234]["message"].split()[1]
    assert [ln["message"] for ln in all_lines(config, "logs", word)] == [sent[1234]["message"]]
    assert len(all_lines(config, "logs", "'#2999'")) == 1
    assert len(all_lines(config, "logs", r"/paid 0\.00\d\d from/")) == sum(
        " paid 0.00" in b["message"] for b in sent)


def old_and_new_layout(stack, yesterday: date, today: date) -> None:
    """Yesterday's day index made before the store (text in searchd), today's made with it."""
    stack.index(line_store=False)
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    lines = [Record(into_day_us(int(datetime.combine(day, datetime.min.time(), UTC).timestamp()
                                    * 1e6)) + n, f"{label} line {n} ✓", {"host": "h1", "n": n},
                    n + 1)
             for day, label in ((yesterday, "old"), (today, "new")) for n in range(5)]
    store = DayStore(Sphinx(config.sphinx.host, config.sphinx.port), IndexSchema.of(ix), 1, 30)
    store.store(lines[:5], today, False)
    stack.searchd.stop()
    data_dir = stack.tmp / "sphinx"
    for path in data_dir.glob(f"{day_index('logs', today)}.*"):
        path.unlink()  # (today's day index is made anew, as on the first day after an upgrade)
    stack.data["index"][0]["line_store"] = True
    stack.start_searchd()
    config = stack.config()
    store = DayStore(Sphinx(config.sphinx.host, config.sphinx.port), IndexSchema.of(ix), 1, 30,
                     lines=LineWriter(data_dir))
    store.store(lines[5:], today, False)


def test_a_day_made_before_the_store_is_read_beside_one_made_with_it(stack):
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    old_and_new_layout(stack, yesterday, today)
    config = stack.config()
    assert has_text_attr(config, day_index("logs", yesterday))
    assert not has_text_attr(config, day_index("logs", today))
    got = all_lines(config, "logs")
    assert [ln["message"] for ln in got] == [f"{d} line {n} ✓" for d in ("old", "new")
                                             for n in range(5)]
    assert [ln["fields"]["n"] for ln in got] == [0, 1, 2, 3, 4] * 2
    assert [ln["message"] for ln in all_lines(config, "logs", "line 3")] == [
        "old line 3 ✓", "new line 3 ✓"]
    assert [ln["message"] for ln in all_lines(config, "logs", "/^(old|new) line [24]/")] == [
        "old line 2 ✓", "old line 4 ✓", "new line 2 ✓", "new line 4 ✓"]


def writer_of(config, slot: int = 2) -> DayStore:
    """A writer's DayStore (writer slot ``slot``) of index ``logs`` of ``config``."""
    return DayStore(Sphinx(config.sphinx.host, config.sphinx.port),
                    IndexSchema.of(config.index("logs")), slot, 30,
                    lines=LineWriter(config.sphinx.data_dir))


def store_of(stack) -> tuple:
    """A stack with searchd up, and a writer's DayStore of its index ``logs`` (slot 1): the
    config, the store, today and a time a minute ago (µs)."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    now_us = int(datetime.now(UTC).timestamp() * 1e6) - 60_000_000
    return config, writer_of(config, 1), datetime.now(UTC).date(), now_us


def test_a_scan_reads_the_store_and_never_shows_a_line_searchd_does_not_have(stack,
                                                                            monkeypatch):
    """A pattern without a literal scans the store's blocks; a batch kept in the store whose
    rows never reached searchd (a crash between the two) is not shown."""
    config, store, today, now_us = store_of(stack)
    recs = [Record(now_us + n * 1000, f"job {n:05d} took {n % 97}ms", {"n": n}, n + 1)
            for n in range(6000)]
    data_dir = Path(config.sphinx.data_dir)
    store.store(recs, today, False)
    orphan_id = make_id(now_us // 1000 + 500, 3, 0)  # kept in the store only
    LineWriter(data_dir).put(day_index("logs", today),
                             [(orphan_id, now_us + 500_000, "job 99999 took 5ms", {}, {})])
    pattern = r"/^\w+ \d{5} \w+ [0-9]ms$/"  # (no literal: every line is a candidate)
    scans: list[int] = []
    real_scan = Texts.scan_matching
    monkeypatch.setattr(Texts, "scan_matching",
                        lambda self, *a: scans.append(1) or real_scan(self, *a))
    want = [r.message for r in recs if r.message.endswith(("took 0ms", "took 1ms", "took 2ms",
                                                           "took 3ms", "took 4ms", "took 5ms",
                                                           "took 6ms", "took 7ms", "took 8ms",
                                                           "took 9ms"))]
    assert [ln["message"] for ln in all_lines(config, "logs", pattern)] == want
    assert scans  # read from the store's blocks
    assert "job 99999 took 5ms" not in {ln["message"] for ln in all_lines(config, "logs")}


def test_a_column_made_filtered_after_a_day_was_made_is_counted_from_its_lines(stack):
    """A day made before ``host`` was a ``filtered`` column has no value hash of it: facets
    and the histogram stacked by it count that day from its lines, exactly (no error)."""
    from starlette.testclient import TestClient

    from alco.web.app import create_app
    from tests.integration.test_search_api import fill, record

    stack.index(columns={"request_id": "indexed"})
    stack.start_searchd()
    base = int(datetime.now(UTC).timestamp() * 1e6) - 600_000_000
    lines = [record(base + i * 1_000_000, f"line {i}", host=f"vm{i % 3}", seq=i)
             for i in range(90)]
    fill(stack.config(), lines)
    stack.searchd.stop()
    stack.data["index"][0]["columns"]["host"] = "filtered"
    stack.start_searchd()  # (today's index keeps the schema it was made with)
    config = stack.config()
    # a writer of the new config writes into that day what it has (no v_host): all kept
    written = writer_of(config).store(
        [Record(base + 100_000_000 + n * 1000, f"later {n}", {"host": "vm1"}, 500 + n)
         for n in range(6)], datetime.now(UTC).date(), False)
    assert (written.stored, written.rejected) == (6, 0)
    client = TestClient(create_app(config))
    got = client.get("/api/logs/facets", params={"field": "host", "from": "1h"}).json()
    assert {v["value"]: v["count"] for v in got["values"]} == {"vm0": 30, "vm1": 36, "vm2": 30}
    assert (got["total"], got["partial"]) == (96, False)
    got = client.get("/api/logs/histogram_by", params={"field": "host", "from": "1h",
                                                       "buckets": 3}).json()
    assert got["totals"] == {"vm0": 30, "vm1": 36, "vm2": 30} and got["total"] == 96
    # a filter on host finds the day's lines from before the change too (no tag token of
    # host there: checked against the fields as sent)
    got = client.get("/api/logs/lines", params={"q": "host:vm1", "from": "1h",
                                                "limit": 1000}).json()
    assert len(got["lines"]) == 36 and not got["partial"]
    got = client.get("/api/logs/lines", params={"q": "host:vm1 later", "from": "1h"}).json()
    assert [ln["message"] for ln in got["lines"]] == [f"later {n}" for n in range(5, -1, -1)]


def test_a_day_made_before_a_filtered_column_had_a_line_keeps_its_tags(stack, caplog):
    """A new day gets the value hashes of the ``filtered`` columns its index's lines have had
    (the catalog's columns): ``level``, never seen, gets none, and an empty ``nv_level``
    field says so.  Lines that bring it later are written (no warning), a filter on it is
    answered by its tag tokens (not checked line by line against the store), and facets of
    it count from the lines, exactly."""
    from starlette.testclient import TestClient

    from alco.catalog.values import ValuesStore
    from alco.web.app import create_app
    from tests.integration.test_search_api import fill, record

    stack.index(columns={"host": "filtered", "level": "filtered", "request_id": "indexed"})
    config = stack.config()
    seen = ValuesStore(config.redis.url, config.redis.prefix, "logs", ("host",))
    seen.add({"host": "vm0", "request_id": "r0"}, datetime.now(UTC).timestamp() - 86_400)
    assert seen.flush()
    stack.start_searchd()  # (today's day is new: made now, as the catalog says)
    today = day_index("logs", datetime.now(UTC).date())
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        made = {name for name, _ in describe(sx, today)}
    finally:
        sx.close()
    assert {"v_host", "nv_level"} <= made and "v_level" not in made
    base = int(datetime.now(UTC).timestamp() * 1e6) - 600_000_000
    lines = [record(base + i * 1_000_000, f"line {i}", host=f"vm{i % 3}",
                    level=["info", "error"][i % 5 == 0], seq=i) for i in range(90)]
    with caplog.at_level("WARNING", logger="alco.store"):
        fill(config, lines)
    assert "was made before" not in caplog.text
    texts = Texts(Sphinx(config.sphinx.host, config.sphinx.port), config.sphinx.data_dir)
    assert texts.lacking(today, frozenset({"host", "level"}), frozenset()) == frozenset()
    client = TestClient(create_app(config))
    got = client.get("/api/logs/lines", params={"q": "level:error", "from": "1h",
                                                "limit": 1000}).json()
    assert [ln["message"] for ln in got["lines"]] == [f"line {i}" for i in range(85, -1, -5)]
    assert not got["partial"]
    for field, want in (("level", {"info": 72, "error": 18}),
                        ("host", {"vm0": 30, "vm1": 30, "vm2": 30})):
        got = client.get("/api/logs/facets", params={"field": field, "from": "1h"}).json()
        assert {v["value"]: v["count"] for v in got["values"]} == want
        assert (got["total"], got["partial"]) == (90, False)


def test_a_column_made_indexed_after_a_day_was_made_does_not_cost_that_days_lines(stack):
    """The day has no full-text field of the new ``indexed`` column: a writer of the new
    config writes its lines without it (searchd would refuse every row), and they are found."""
    stack.index(columns={"request_id": "indexed"})
    stack.start_searchd()
    stack.searchd.stop()
    stack.data["index"][0]["columns"]["user"] = "indexed"
    stack.start_searchd()
    config = stack.config()
    base = int(datetime.now(UTC).timestamp() * 1e6) - 600_000_000
    written = writer_of(config).store(
        [Record(base + n * 1000, f"checkout {n} done", {"user": f"u{n}"}, 900 + n)
         for n in range(7)], datetime.now(UTC).date(), False)
    assert (written.stored, written.rejected) == (7, 0)
    assert [ln["message"] for ln in all_lines(config, "logs", "checkout")] == [
        f"checkout {n} done" for n in range(7)]
    # the day has no field of user: a filter on it is checked against the fields as sent
    assert [ln["message"] for ln in all_lines(config, "logs", "user:u3")] == [
        "checkout 3 done"]


def test_a_redelivered_batch_is_told_apart_by_millisecond_and_32_bit_fingerprint(stack):
    """A day made for the line store keeps 32 bits of each fingerprint: a redelivered batch
    drops the lines stored already (same millisecond, same 32 bits), and keeps a line whose
    fingerprint shares those 32 bits with a stored line of another millisecond."""
    config, store, today, now_us = store_of(stack)
    sx = store.sphinx
    low = 0x7ABC1234
    first = [Record(now_us + n * 1000 + 7, f"first {n}", {"n": n}, (n << 40) | low + n)
             for n in range(5)]
    assert store.store(first, today, False).stored == 5
    index = day_index("logs", today)
    assert ("fp", "uint") in set(describe(sx, index))
    # the same 32 bits as first[0]'s (its upper bits differ), a millisecond later than any
    twin = Record(now_us + 9_000_000, "twin of first 0", {"n": 9}, (77 << 40) | low)
    again = store.store([*first, twin], today, True)
    assert (again.stored, again.duplicates) == (1, 5)
    assert [ln["message"] for ln in all_lines(config, "logs")] == [
        *(f"first {n}" for n in range(5)), "twin of first 0"]
    sx.close()


def test_a_redelivered_line_stamped_at_arrival_is_told_by_its_text(stack):
    """A line that carried no time is stamped at its arrival, and its redelivery arrives at
    another millisecond: it is the stored line with its 32 fingerprint bits and its text.
    A line of another text sharing those bits, and a line with a time of its own, are kept."""
    config, store, today, now_us = store_of(stack)
    low = 0x5EED0001
    first = [Record(now_us + n * 1000, f"no time {n} ✓", {"n": n, "u": "é"},
                    (n << 40) | low + n, arrival=True) for n in range(5)]
    assert store.store(first, today, False).stored == 5
    later = [Record(r.ts_us + 4_000_000, r.message, dict(r.fields), r.fp, arrival=True)
             for r in first]  # the same lines, arrived again 4 s later
    other = Record(now_us + 9_000_000, "another text", {"n": 0, "u": "é"}, (9 << 40) | low,
                   arrival=True)
    timed = Record(now_us + 9_500_000, "no time 1 ✓", {"n": 1, "u": "é"}, (1 << 40) | low + 1)
    again = store.store([*later, other, timed], today, True)
    assert (again.stored, again.duplicates) == (2, 5)
    assert sorted(ln["message"] for ln in all_lines(config, "logs")) == sorted(
        [*(f"no time {n} ✓" for n in range(5)), "another text", "no time 1 ✓"])
    store.sphinx.close()


def test_a_line_stamped_at_arrival_before_midnight_and_redelivered_after_is_stored_once(
        stack):
    """The collector was down over midnight: a batch stored (not acked) at 23:59:58 comes
    again at 00:00:03, its lines stamped the new day; they are looked for in the day before
    too (the day's own lines, and a line of the day before with a time of its own, kept)."""
    config, store, today, _ = store_of(stack)
    midnight_us = int(datetime.combine(today, datetime.min.time(), UTC).timestamp() * 1e6)
    first = [Record(midnight_us - 2_000_000 + n * 1000, f"no time {n} ✓", {"n": n},
                    (n << 40) | 0x5EED0100 + n, arrival=True) for n in range(4)]
    assert store.store(first, today, False).stored == 4
    later = [Record(midnight_us + 3_000_000 + n * 1000, r.message, dict(r.fields), r.fp,
                    arrival=True) for n, r in enumerate(first)]
    new = Record(midnight_us + 3_500_000, "a new line", {"n": 9}, 0x5EED0200, arrival=True)
    timed = Record(midnight_us + 3_600_000, "no time 2 ✓", {"n": 2}, (2 << 40) | 0x5EED0102)
    again = store.store([*later, new, timed], today, True)
    assert (again.stored, again.duplicates) == (2, 4)
    assert sorted(ln["message"] for ln in all_lines(config, "logs")) == sorted(
        [*(f"no time {n} ✓" for n in range(4)), "a new line", "no time 2 ✓"])
    store.sphinx.close()
