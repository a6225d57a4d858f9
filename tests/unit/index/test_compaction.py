"""The compactor's choices, with a fake searchd: when, which days, one at a time, timeouts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alco.config import ConfigError, parse
from alco.index import compaction
from alco.index.compaction import Compactor
from alco.index.sphinxql import SphinxError

NOW = datetime(2026, 11, 26, 3, 10, tzinfo=UTC)  # in the default compact_hour (3)


class FakeSphinx:
    """Day indexes with (disk chunks, RAM chunk bytes); OPTIMIZE merges when ``merge`` says."""

    def __init__(self, days: dict[str, tuple[int, int]], down: bool = False) -> None:
        self.days = days
        self.down = down
        self.statements: list[str] = []
        self.merge = True

    def indexes(self) -> list[str]:
        return list(self.days)

    def query(self, sql: str, params: object = ()) -> list[dict]:
        if self.down:
            raise SphinxError("gone away", 2006)
        self.statements.append(sql)
        if sql.startswith("SHOW INDEX"):
            chunks, ram = self.days[sql.split()[2]]
            return [{"Variable_name": "disk_chunks", "Value": str(chunks)},
                    {"Variable_name": "ram_chunk", "Value": str(ram)},
                    {"Variable_name": "indexed_documents", "Value": "10"}]
        verb, _, name = sql.rpartition(" ")
        chunks, ram = self.days[name]
        if verb == "FLUSH RAMCHUNK":
            self.days[name] = (chunks + 1, 128)
        elif verb == "OPTIMIZE INDEX" and self.merge:
            self.days[name] = (1, ram)
        return []

    def close(self) -> None:
        pass


class FakeLock:
    """Stands for alco.index.flushlock.FlushLock: what ``claim`` answers (True: no writer
    writes to the day; False: one does; None: no Redis), and the days claimed now."""

    def __init__(self, free: bool | None = True) -> None:
        self.free = free
        self.claimed: set[str] = set()

    def claim(self, index: str) -> bool | None:
        if self.free is not None:
            self.claimed.add(index)
        return self.free

    def release(self, index: str) -> None:
        self.claimed.discard(index)


def compactor(sx: FakeSphinx, lock: FakeLock | None = None, **sphinx: object) -> Compactor:
    config = parse({"sphinx": sphinx, "index": [{"name": "logs", "retention_days": 5},
                                               {"name": "audit", "retention_days": 5}]},
                   "test.toml", env={})
    return Compactor(config, connect=lambda: sx, lock=lock or FakeLock())  # type: ignore[arg-type]


BIG = 50 << 20


def test_past_days_oldest_first_one_at_a_time_never_today():
    sx = FakeSphinx({"logs_20261124": (3, 128), "logs_20261125": (5, BIG),
                     "audit_20261125": (1, 128), "logs_20261126": (4, BIG),
                     "logs_20261127": (0, 128), "other_20261120": (9, 128)})
    c = compactor(sx)
    assert c.step(NOW) == "logs_20261124"
    assert sx.statements[-1] == "OPTIMIZE INDEX logs_20261124"  # RAM chunk empty: no flush
    assert c.step(NOW) == "logs_20261125"  # the first is done: the next one starts
    assert "FLUSH RAMCHUNK logs_20261125" in sx.statements
    assert c.step(NOW) is None  # audit's day is compact already; today and tomorrow never
    assert sx.days["logs_20261126"] == (4, BIG) and sx.days["other_20261120"] == (9, 128)
    assert not any("20261126" in s or "20261127" in s for s in sx.statements
                   if not s.startswith("SHOW"))


def test_only_in_the_quiet_hour_and_not_with_agents_or_switched_off():
    days = {"logs_20261125": (3, 128)}
    sx = FakeSphinx(dict(days))
    assert compactor(sx).step(NOW.replace(hour=4)) is None and not sx.statements
    assert compactor(sx, compact_hour=4).step(NOW.replace(hour=4)) == "logs_20261125"
    sx = FakeSphinx(dict(days))
    assert compactor(sx, compact_hour=-1).step(NOW) is None and not sx.statements
    assert compactor(sx, agents=["shard:9312"]).step(NOW) is None and not sx.statements


def test_a_day_in_progress_is_waited_for_even_after_the_hour_then_left_at_timeout(monkeypatch):
    sx = FakeSphinx({"logs_20261124": (3, 128), "logs_20261125": (2, 128)})
    sx.merge = False
    clock = [1000.0]
    monkeypatch.setattr(compaction.time, "monotonic", lambda: clock[0])
    c = compactor(sx, compact_timeout=60)
    assert c.step(NOW) == "logs_20261124"
    clock[0] += 30
    assert c.step(NOW.replace(hour=5)) == "logs_20261124"  # still merging: waited for
    clock[0] += 31
    assert c.step(NOW.replace(hour=5)) is None  # left (logged), nothing new out of the hour
    assert c.step(NOW) == "logs_20261125"  # in the hour: the next day, not the failed one


def test_searchd_down_is_no_error():
    c = compactor(FakeSphinx({}, down=True))
    assert c.step(NOW) is None


def test_compact_hour_is_checked():
    with pytest.raises(ConfigError, match="compact_hour"):
        parse({"sphinx": {"compact_hour": 24}}, "test.toml", env={})


def test_a_ram_chunk_is_flushed_only_when_no_writer_writes_to_the_day(monkeypatch):
    monkeypatch.setattr(compaction, "CLAIM_WAIT_S", 0.05)
    sx = FakeSphinx({"logs_20261125": (1, BIG)})
    lock = FakeLock(free=False)  # a writer of late lines is storing a batch into the day
    c = compactor(sx, lock)
    assert c.step(NOW) is None  # not flushed; tried again at the next step
    assert not any(s.startswith(("FLUSH", "OPTIMIZE")) for s in sx.statements)
    assert not lock.claimed  # writers are not held back meanwhile
    lock.free = True
    assert c.step(NOW) == "logs_20261125"
    assert "FLUSH RAMCHUNK logs_20261125" in sx.statements and not lock.claimed


def test_without_redis_a_ram_chunk_is_not_flushed_but_disk_chunks_are_merged():
    sx = FakeSphinx({"logs_20261124": (1, BIG), "logs_20261125": (3, BIG)})
    c = compactor(sx, FakeLock(free=None))
    assert c.step(NOW) == "logs_20261125"  # the first day has nothing to merge: left today
    assert "OPTIMIZE INDEX logs_20261125" in sx.statements
    assert not any(s.startswith("FLUSH") for s in sx.statements)
