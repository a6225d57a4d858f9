"""The writer's pure parts: which stored lines are late (behind a newer one); its lanes, with
a fake searchd."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import queue
import threading
import time

from alco.config import parse
from alco.index.schema import Record, make_id
from alco.index.sphinxql import SphinxError
from alco.ingest import batches, writer
from alco.ingest.batches import Handoff
from alco.ingest.writer import late_ids
from alco.process.flags import StopFlag


def test_lines_in_order_are_not_late():
    ids = [make_id(1000 + i, 0, 0) for i in range(5)]
    assert late_ids(ids, 0, 0) == ([], ids[-1])


def test_a_line_behind_the_writers_newest_or_the_indexs_newest_is_late():
    newest = make_id(5000, 0, 0)
    old, new = make_id(4000, 0, 0), make_id(6000, 0, 0)
    assert late_ids([old, new], newest, 0) == ([old], new)  # behind this writer's newest
    assert late_ids([new, old], 0, 0) == ([old], new)  # behind a line of the same batch
    other_writer = make_id(4500, 1, 0)
    assert late_ids([other_writer], 0, 5000)[0] == [other_writer]  # behind another writer's
    assert late_ids([make_id(5000, 1, 3)], 0, 5000)[0] == []  # the same ms is not late
    assert late_ids([], newest, 0) == ([], newest)


class StuckSphinx:
    """Stands for searchd: the first REPLACE hangs until ``release`` is set (a RAM chunk being
    written to disk inside it); keeps the ids each REPLACE wrote."""

    release = threading.Event()
    written: list[list[int]] = []
    made = 0

    def __init__(self, host: str, port: int) -> None:
        self.first = type(self).made == 0  # the first lane's connection
        type(self).made += 1

    def query(self, sql: str, params: object = ()) -> list[dict]:
        return []  # no counters stored before

    def replace_rows(self, index: str, columns: list[str], rows: list) -> int:
        if self.first:
            self.first = False
            assert StuckSphinx.release.wait(10)
        StuckSphinx.written.append([row[0] for row in rows])
        return len(rows)

    def close(self) -> None:
        pass


class RoomyGate:
    """A disk that always has room (alco.ingest.spacegate)."""

    sphinx = None

    def __init__(self, *args: object) -> None:
        pass

    def wait(self, give_up: object) -> bool:
        return True

    def mark(self) -> None:
        return None

    def kept(self, mark: object, payload: int) -> None:
        return None


class NoValues:
    newest_seen = 0.0
    index = "logs"

    def __init__(self, *args: object) -> None:
        pass

    def add(self, fields: dict, ts: float) -> None:
        pass

    def add_many(self, lines: list[tuple[dict, float]]) -> None:
        pass

    def add_late(self, ids: list[int]) -> None:
        pass

    def newest_now(self) -> float | None:
        return None

    def flush(self) -> bool:
        return True


def test_a_batch_stuck_in_searchd_does_not_hold_back_the_next_ones(monkeypatch):
    """A REPLACE that turns a full RAM chunk into a disk chunk takes seconds; searchd takes
    other connections' rows meanwhile.  The next batches are stored on the writer's other
    lane, with ids after the stuck batch's (the order they came in)."""
    monkeypatch.setattr(writer, "Sphinx", StuckSphinx)
    monkeypatch.setattr(writer, "ValuesStore", NoValues)
    monkeypatch.setattr(writer, "SpaceGate", RoomyGate)
    config = parse({"index": [{"name": "logs"}]}, "test.toml", env={})
    replies: queue.Queue = queue.Queue()
    ctx = writer.WriterContext(config, config.index("logs"), 0, queue.Queue(), [replies],
                               mp.Array(ctypes.c_longlong, 1),
                               mp.RawArray(ctypes.c_longlong, writer.LANES), StopFlag())
    now_us = time.time_ns() // 1000 // 1000 * 1000  # every line in one millisecond
    for batch_id in range(3):
        recs = [Record(now_us, f"line {batch_id}.{i}", {}, batch_id * 100 + i)
                for i in range(5)]
        ctx.writer_queue.put(batches.pack(recs, consumer=0, generation=0, batch_id=batch_id,
                                          redelivered=False, handoff=Handoff.PICKLE))
    thread = threading.Thread(target=writer.run_writer, args=(ctx,))
    thread.start()
    try:
        stored = [replies.get(timeout=5).batch_id for _ in range(2)]
        assert stored == [1, 2]  # while the first batch is stuck
        assert list(ctx.busy) == [1, 0]  # its lane is still busy with consumer 0's batch
        StuckSphinx.release.set()
        assert replies.get(timeout=5).batch_id == 0
    finally:
        StuckSphinx.release.set()
        ctx.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    first, *rest = StuckSphinx.written[-1:] + StuckSphinx.written[:-1]
    assert max(first) < min(min(ids) for ids in rest)  # ids in the order the batches came
    assert list(ctx.busy) == [0, 0]


class FailingSphinx(StuckSphinx):
    """The first lane's REPLACE hangs, then searchd is gone (every REPLACE fails, transient);
    the second lane's REPLACE hits a bug (RuntimeError)."""

    made = 0

    def replace_rows(self, index: str, columns: list[str], rows: list) -> int:
        if self.first:
            time.sleep(0.3)
            raise SphinxError("gone away", 2006)
        raise RuntimeError("a bug")


def test_a_lane_that_raises_takes_the_writer_down_without_waiting_for_the_other(monkeypatch):
    """The supervisor restarts a writer that raised; its other lane, retrying while searchd
    is away, gives up instead of keeping the process alive."""
    monkeypatch.setattr(writer, "Sphinx", FailingSphinx)
    monkeypatch.setattr(writer, "ValuesStore", NoValues)
    monkeypatch.setattr(writer, "SpaceGate", RoomyGate)
    monkeypatch.setattr(writer, "STALL_S", 0.05)
    config = parse({"index": [{"name": "logs"}]}, "test.toml", env={})
    ctx = writer.WriterContext(config, config.index("logs"), 0, queue.Queue(), [queue.Queue()],
                               mp.Array(ctypes.c_longlong, 1),
                               mp.RawArray(ctypes.c_longlong, writer.LANES), StopFlag())
    now_us = time.time_ns() // 1000
    for batch_id in range(2):
        ctx.writer_queue.put(batches.pack([Record(now_us, "a line", {}, batch_id)], consumer=0,
                                          generation=0, batch_id=batch_id, redelivered=False,
                                          handoff=Handoff.PICKLE))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            writer.run_writer(ctx)
        except BaseException as exc:  # noqa: BLE001 - what the process would die of
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(15)
    ctx.stop.set()
    assert not thread.is_alive()
    assert [type(e) for e in errors] == [RuntimeError]


class FlakySphinx:
    """searchd that drops the connection on the first REPLACE (it may have stored the rows or
    not), then takes them; keeps every statement."""

    def __init__(self) -> None:
        self.replaces: list[list[int]] = []
        self.queries: list[str] = []

    def query(self, sql: str, params: object = ()) -> list[dict]:
        self.queries.append(sql)
        return []

    def replace_rows(self, index: str, columns: list[str], rows: list) -> int:
        self.replaces.append([row[0] for row in rows])
        if len(self.replaces) == 1:
            raise SphinxError("Lost connection to server during query", 2013)
        return len(rows)


def test_a_retried_batch_keeps_its_ids():
    """A batch whose REPLACE failed is written again with the same ids (a REPLACE of them is
    idempotent), not with new ones after the batches stored meanwhile on the other lane."""
    sx = FlakySphinx()
    config = parse({"index": [{"name": "logs"}]}, "test.toml", env={})
    ix = config.index("logs")
    store = writer.DayStore(sx, writer.IndexSchema.of(ix), 0, ix.retention_days)
    now_us = time.time_ns() // 1000
    recs = [Record(now_us + i, f"line {i}", {}, i) for i in range(5)]
    result = writer._store_with_retry(store, recs, False, "logs", lambda: False)
    assert result is not None and result.stored == 5 and len(result.ids) == 5
    assert sx.replaces[0] == sx.replaces[1] == result.ids
    assert not any("fp IN" in q for q in sx.queries)  # nothing to look up by fingerprint
