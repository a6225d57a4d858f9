"""Compaction of past days against a real searchd: a past day with several disk chunks and a
RAM chunk becomes one disk chunk (``ondisk_attrs = 1``: attributes read through mmap) and every
read answers the same before, after, and after a restart; today's index is never touched."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from alco.index import compaction, flushlock
from alco.index.compaction import Compactor, day_state
from alco.index.daystore import DayStore, TransientError
from alco.index.flushlock import DayBusy, FlushLock, PastDayGuard
from alco.index.schema import IndexSchema, day_index
from alco.index.sphinxql import Sphinx
from alco.linestore.daydb import day_dir
from alco.linestore.repack import Repacker, repacked
from alco.linestore.writing import keeper_for
from alco.web.app import create_app
from tests.integration.test_search_api import fill, sample

pytestmark = pytest.mark.integration
COLUMNS = {"levelname": "filtered", "host": "filtered", "request_id": "indexed",
           "exc_info": "context"}
PER_CHUNK = 200


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def fill_chunks(config, sx: Sphinx, index: str, base_us: int, chunks: int, first: int = 0,
                ) -> None:
    """``chunks`` batches, each made a disk chunk of its own but the last (RAM chunk)."""
    for c in range(chunks):
        fill(config, [sample(first + c * PER_CHUNK + i, base_us)
                      for i in range(PER_CHUNK)])
        if c < chunks - 1:
            sx.query(f"FLUSH RAMCHUNK {index}")


def answers(client: TestClient, frm: int, to: int) -> dict:
    """What every kind of read answers over a day: lines (words, fields, JSON fields,
    patterns), context, histogram, facets, histogram by a field, count."""
    window = {"from": iso(frm), "to": iso(to)}
    out: dict = {}

    def get(path: str, **params: object) -> dict:
        resp = client.get(path, params={**window, **params})
        assert resp.status_code == 200, resp.text
        return resp.json()

    for q in ("", "timeout", "levelname:ERROR", "request_id:r210", "process:101",
              "duration:75", "seq:700", "'imeout talk'", "/line 1[0-9]0 of/", "line -timeout"):
        for order in ("asc", "desc"):
            page = get("/api/logs/lines", q=q, limit=1000, order=order)
            out[f"lines {q} {order}"] = [(ln["id"], ln["message"], ln["fields"],
                                          ln["highlight"]) for ln in page["lines"]]
    anchor = out["lines request_id:r210 asc"][0][0]
    ctx = get(f"/api/logs/context/{anchor}", before=5, after=5, same="host")
    out["context"] = [ln["id"] for ln in ctx["before"] + [ctx["line"]] + ctx["after"]]
    out["histogram"] = get("/api/logs/histogram", q="timeout", buckets=10)["buckets"]
    facets = get("/api/logs/facets", field="host", q="levelname:ERROR")
    out["facets"] = (facets["total"], facets["values"])
    out["histogram_by"] = get("/api/logs/histogram_by", field="levelname")["values"]
    out["count"] = get("/api/logs/count", q="timeout")
    return out


@pytest.fixture
def days(stack, monkeypatch):
    # flush even a small RAM chunk (an empty one says 64-128 bytes)
    monkeypatch.setattr(compaction, "RAM_CHUNK_MIN", 1024)
    stack.index(columns=COLUMNS, retention_days=3)
    stack.start_searchd()
    config = stack.config()
    now = datetime.now(UTC)
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    past = day_index("logs", yesterday)
    base_us = int(datetime(yesterday.year, yesterday.month, yesterday.day, 12,
                           tzinfo=UTC).timestamp()) * 1_000_000
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    fill_chunks(config, sx, past, base_us, 4)
    midnight_s = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
    # five minutes ago, but never before today's midnight (the lines belong to today)
    today_base = max(time.time_ns() // 1000 // 1_000_000 - 300, midnight_s) * 1_000_000
    fill_chunks(config, sx, day_index("logs", today), today_base, 3, first=5000)
    yield stack, config, sx, past, day_index("logs", today), (base_us, base_us + 10**9)
    sx.close()


def step_until_idle(compactor: Compactor, quiet: datetime) -> None:
    """Step ``compactor`` (at ``quiet``, its hour) until it has nothing left to do."""
    for _ in range(120):  # bound: 60 s
        if compactor.step(quiet) is None:
            return
        time.sleep(0.5)
    pytest.fail("compaction did not finish in 60 s")


def test_a_past_day_becomes_one_chunk_and_answers_the_same(days):
    stack, config, sx, past, current, (frm, to) = days
    before = day_state(sx, past)
    assert before.disk_chunks == 3 and before.ram_chunk_bytes > 1000
    today_before = day_state(sx, current)
    client = TestClient(create_app(config))
    expected = answers(client, frm, to)
    assert len(expected["lines  asc"]) == 4 * PER_CHUNK
    assert expected["lines timeout asc"] and expected["lines 'imeout talk' asc"]

    now = datetime.now(UTC)
    compactor = Compactor(config)
    assert compactor.step(now.replace(hour=(config.sphinx.compact_hour + 1) % 24)) is None
    assert day_state(sx, past).disk_chunks == 3  # not in the quiet hour: nothing started
    quiet = now.replace(hour=config.sphinx.compact_hour)
    assert compactor.step(quiet) == past
    step_until_idle(compactor, quiet)
    after = day_state(sx, past)
    assert (after.disk_chunks, after.documents) == (1, 4 * PER_CHUNK)
    assert after.ram_chunk_bytes < 1024
    assert day_state(sx, current) == today_before  # today's index is never compacted
    assert answers(client, frm, to) == expected
    # its line store compressed again, in a thread, at the same hour: the same answers, from
    # the web app that read the day before (it opens the new file) and from a new one
    repacker = Repacker(config)
    store = day_dir(Path(config.sphinx.data_dir), past)
    assert repacker.step(quiet.replace(hour=(config.sphinx.compact_hour + 1) % 24)) is None
    assert repacker.step(quiet) == store
    repacker.thread.join(60)
    assert repacked(store) and not repacked(day_dir(Path(config.sphinx.data_dir), current))
    assert repacker.step(quiet) is None  # (today's is not a past day)
    assert answers(client, frm, to) == expected
    assert answers(TestClient(create_app(config)), frm, to) == expected

    stack.searchd.stop()  # the compacted day read back from its files (mmap) after a restart
    stack.searchd.start()
    assert day_state(sx, past).disk_chunks == 1
    assert answers(TestClient(create_app(config)), frm, to) == expected
    assert compactor.step(quiet) is None  # nothing left to do


def test_compact_now_waits_for_the_merge(days):
    _, _, sx, past, _, _ = days
    before, after, seconds = compaction.compact_now(sx, past, timeout=60)
    assert (before.disk_chunks, after.disk_chunks) == (3, 1)
    assert after.documents == before.documents == 4 * PER_CHUNK and seconds < 60


def _late_writer(config, index_day, base_us: int, stop, stored: list[int]) -> None:
    """Write late lines into a past day as a writer does (announcing them to compaction),
    batch after batch until ``stop``; a batch compaction holds back is tried again."""
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    store = DayStore(sx, IndexSchema.of(ix), 1, ix.retention_days,
                     PastDayGuard(config.redis.url, config.redis.prefix, 1),
                     lines=keeper_for(config, ix))
    today = datetime.now(UTC).date()
    i = 100_000
    try:
        while not stop.is_set():
            batch = [sample(i + k, base_us) for k in range(50)]
            while True:
                try:
                    stored.append(store.store(batch, today, redelivered=True).stored)
                    break
                except TransientError:
                    time.sleep(0.02)
            i += 50
            # (a pause: as fast as it can, it filled the day's RAM chunk on a busy machine,
            # whose write-out made a disk chunk of its own after the merge)
            time.sleep(0.005)
    finally:
        sx.close()


def test_late_lines_written_while_a_past_day_is_compacted_are_all_kept(stack, monkeypatch):
    """searchd 2.2.11 drops the rows written to an index while FLUSH RAMCHUNK of it runs.
    Compaction flushes a past day only once no writer writes to it, and writers of late
    lines wait for the flush (not for the merge of its disk chunks that follows): every line
    written during the compaction is there after it."""
    monkeypatch.setattr(compaction, "RAM_CHUNK_MIN", 1024)
    stack.index(columns=COLUMNS, retention_days=3)
    stack.start_searchd()
    config = stack.config()
    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    past = day_index("logs", yesterday)
    base_us = int(datetime(yesterday.year, yesterday.month, yesterday.day, 9,
                           tzinfo=UTC).timestamp()) * 1_000_000
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    for k in range(0, 30_000, 5000):  # three disk chunks to merge, and a RAM chunk of some
        fill(config, [sample(k + i, base_us) for i in range(5000)])  # MB (a flush of it
        if k in (5000, 10_000, 15_000):  # takes a while)
            sx.query(f"FLUSH RAMCHUNK {past}")  # (nothing else writes to it yet)
    before = day_state(sx, past)
    assert before.disk_chunks == 3 and before.ram_chunk_bytes > 1_000_000
    stop, stored = threading.Event(), []
    writer = threading.Thread(target=_late_writer, args=(config, past, base_us, stop, stored))
    writer.start()
    try:
        time.sleep(0.3)
        quiet = now.replace(hour=config.sphinx.compact_hour)
        compactor = Compactor(config)
        assert compactor.step(quiet) == past
        first = compactor.work
        for _ in range(120):  # bound: 60 s (until the compaction begun above has finished)
            compactor.step(quiet)
            if compactor.work is not first:
                break
            time.sleep(0.5)
        else:
            pytest.fail("compaction did not finish in 60 s")
        time.sleep(0.3)
    finally:
        stop.set()
        writer.join(30)
    # the late lines written meanwhile are in a RAM chunk again: the next steps compact them
    step_until_idle(compactor, quiet)
    assert sum(stored) > 50
    rows = sx.query(f"SELECT COUNT(*) AS n FROM {past}")
    assert int(rows[0]["n"]) == 30_000 + sum(stored)
    after = day_state(sx, past)
    assert after.documents == 30_000 + sum(stored) and after.disk_chunks == 1
    sx.close()


def test_a_writer_of_a_past_day_waits_while_compaction_flushes_it(stack):
    stack.index(columns=COLUMNS)
    config = stack.config()
    guard = PastDayGuard(config.redis.url, config.redis.prefix, 3)
    lock = FlushLock(config.redis.url, config.redis.prefix)
    guard.enter("logs_20261125")
    assert lock.claim("logs_20261125") is False  # a writer is writing: not yet
    assert lock.claim("logs_20261124") is True  # (another day)
    guard.leave("logs_20261125")
    assert compaction.wait_claim(lock, "logs_20261125", seconds=1) is True
    with pytest.raises(DayBusy):
        guard.enter("logs_20261125")
    guard.enter("logs_20261123")  # other days are written meanwhile
    guard.leave("logs_20261123")
    lock.release("logs_20261125")
    guard.enter("logs_20261125")
    guard.leave("logs_20261125")
    down = FlushLock("redis://127.0.0.1:1/0", "x")
    assert down.claim("logs_20261125") is None  # no Redis: compaction does not flush
    PastDayGuard("redis://127.0.0.1:1/0", "x", 0).enter("logs_20261125")  # writers go on


@pytest.mark.parametrize("now, waits", [
    ("2026-11-27T02:59:59", False), ("2026-11-27T03:00:00", True),
    ("2026-11-27T03:59:59", True), ("2026-11-27T04:04:59", True),  # (a flush begun at 3:59)
    ("2026-11-27T04:05:00", False)])
def test_without_redis_a_past_day_waits_only_while_compaction_may_be_flushing(now, waits):
    """Redis gone after compaction claimed a day: its flush may be running, and a row
    written meanwhile would be lost (searchd 2.2.11), so in the compaction hour (and a
    margin after it) the writer's batch waits; otherwise it is written."""
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    guard = PastDayGuard("redis://127.0.0.1:1/0", "x", 0, compact_hour=3, clock=lambda: at)
    if waits:
        with pytest.raises(DayBusy, match="compaction hour"):
            guard.enter("logs_20261125")
    else:
        guard.enter("logs_20261125")
    PastDayGuard("redis://127.0.0.1:1/0", "x", 0, compact_hour=-1,
                 clock=lambda: at).enter("logs_20261125")  # no compaction: never waits
    assert flushlock.may_flush(23, at.replace(hour=0, minute=4)) is True  # (past midnight)
    assert flushlock.may_flush(23, at.replace(hour=0, minute=5)) is False
