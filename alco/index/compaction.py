"""Compaction of past days: one disk chunk per day, nothing of it left in searchd's RAM.

An RT index of Sphinx 2.2 keeps what it is written in a RAM chunk (``rt_mem_limit``, in
searchd's anonymous memory, also after a restart) and turns it into a new disk chunk each time
it is full; it never merges disk chunks by itself.  Once a day is over, nothing more is
written to it (but a late line now and then), so:

* ``FLUSH RAMCHUNK <day>`` turns its RAM chunk into a disk chunk (whose attributes are
  file-backed mmap with ``ondisk_attrs``: page cache, not memory that stays); searchd 2.2.11
  loses the rows written to the day while it runs, so only once no writer writes to the day
  and writers wait for it to end (alco.index.flushlock: without Redis, no flush), and
* ``OPTIMIZE INDEX <day>`` merges its disk chunks into one, in a background thread of
  searchd; ``SHOW INDEX <day> STATUS`` tells when it is done (``disk_chunks`` = 1).

``Compactor.step`` is called by ``alco run`` with its rotation (every minute).  It blocks
little: a step runs a few short statements (and a flush, after waiting at most CLAIM_WAIT_S
for writers of the day), starts at most one day's work and otherwise
looks at the day in progress.  New work starts only in ``[sphinx] compact_hour`` (UTC), a
quiet time, one day at a time, the oldest first, never on today's or tomorrow's index; a merge
that takes longer than ``[sphinx] compact_timeout`` is no longer waited for (searchd goes on
with it; the next day's work waits for the next hour).  Every day done is logged with its
chunks before and after and the seconds it took.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from alco.config import Config
from alco.index import sphinxql
from alco.index.daystore import day_indexes
from alco.index.flushlock import FlushLock
from alco.index.schema import day_of_index

log = logging.getLogger("alco.compaction")
# a RAM chunk smaller than this is left alone: a few late lines are not worth rewriting a day
RAM_CHUNK_MIN = 1 << 20
CLAIM_WAIT_S = 5.0  # how long a step waits for writers of the day to finish their batch


@dataclass(frozen=True)
class DayState:
    index: str
    disk_chunks: int
    ram_chunk_bytes: int
    documents: int

    @property
    def compact(self) -> bool:
        return self.disk_chunks <= 1 and self.ram_chunk_bytes < RAM_CHUNK_MIN


@dataclass
class Work:
    index: str
    before: DayState
    started: float  # time.monotonic()


def day_state(sphinx: sphinxql.Sphinx, index: str) -> DayState:
    status = sphinxql.index_status(sphinx, index)
    return DayState(index, int(status.get("disk_chunks", 0)),
                    int(status.get("ram_chunk", 0)), int(status.get("indexed_documents", 0)))


def past_days(sphinx: sphinxql.Sphinx, config: Config, today: date) -> list[str]:
    """The day indexes searchd serves for the configured ALCO indexes, before ``today``,
    oldest first."""
    found = []
    for ix in config.indexes:
        for index in day_indexes(sphinx, ix.name):
            day = day_of_index(index)
            if day is not None and day < today:
                found.append(index)
    return sorted(found, key=lambda name: (day_of_index(name), name))


def start(sphinx: sphinxql.Sphinx, state: DayState, flush: bool = True) -> None:
    """Flush the day's RAM chunk (synchronous; only with ``flush``: no writer may write to
    the day meanwhile, alco.index.flushlock) and start merging its disk chunks."""
    name = sphinxql.ident(state.index)
    flush = flush and state.ram_chunk_bytes >= RAM_CHUNK_MIN
    if flush:
        sphinx.query(f"FLUSH RAMCHUNK {name}")
    if state.disk_chunks > 1 or flush:
        sphinx.query(f"OPTIMIZE INDEX {name}")


def wait_claim(lock: FlushLock, index: str, seconds: float | None = None,
               poll: float = 0.1) -> bool | None:
    """Claim ``index`` for a flush and wait (at most ``seconds``) until no writer writes to
    it: True then (the caller flushes and releases); False when writers still do, None when
    Redis does not answer (the claim released: writers go on)."""
    deadline = time.monotonic() + (CLAIM_WAIT_S if seconds is None else seconds)
    while True:
        free = lock.claim(index)
        if free:
            return True
        if free is None or time.monotonic() >= deadline:
            lock.release(index)
            return free
        time.sleep(poll)


def compact_now(sphinx: sphinxql.Sphinx, index: str, timeout: float,
                poll: float = 0.5) -> tuple[DayState, DayState, float]:
    """Compact one day and wait for it (bounded by ``timeout``): (before, after, seconds)."""
    before = day_state(sphinx, index)
    t = time.monotonic()
    start(sphinx, before)
    after = day_state(sphinx, index)
    for _ in range(int(timeout / poll) + 1):
        if after.disk_chunks <= 1:
            break
        time.sleep(poll)
        after = day_state(sphinx, index)
    return before, after, time.monotonic() - t


def compact_hour(config: Config) -> int:
    """The UTC hour compaction starts work in, -1 for never (``[sphinx] compact_hour``; the
    day indexes of a config with agents are distributed: the shards compact theirs)."""
    return -1 if config.sphinx.agents else config.sphinx.compact_hour


class Compactor:
    """Past days compacted at a quiet hour, one at a time, a few statements per step."""

    def __init__(self, config: Config,
                 connect: Callable[[], sphinxql.Sphinx] | None = None,
                 lock: FlushLock | None = None) -> None:
        self.config = config
        sx = config.sphinx
        self.connect = connect or (lambda: sphinxql.Sphinx(sx.host, sx.port, connect_timeout=2))
        self.work: Work | None = None
        self.lock = lock or FlushLock(config.redis.url, config.redis.prefix)
        self.failed: set[str] = set()  # days whose compaction was refused: not retried today
        self.failed_on: date | None = None

    @property
    def enabled(self) -> bool:
        return compact_hour(self.config) >= 0

    def step(self, now: datetime | None = None) -> str | None:
        """One look: finish the day in progress or start the next one.  Returns the day index
        being compacted (None when nothing is)."""
        if not self.enabled:
            return None
        now = now or datetime.now(UTC)
        if self.failed_on != now.date():
            self.failed, self.failed_on = set(), now.date()
        sphinx = self.connect()
        try:
            if self.work is not None and not self._finished(sphinx):
                return self.work.index
            if now.hour != self.config.sphinx.compact_hour:
                return None
            return self._next(sphinx, now.date())
        except sphinxql.SPHINX_ERRORS as exc:
            log.warning("compaction: searchd did not answer (%s); trying again later",
                        exc.message)
            return self.work.index if self.work else None
        finally:
            sphinx.close()

    def _finished(self, sphinx: sphinxql.Sphinx) -> bool:
        assert self.work is not None
        work = self.work
        seconds = time.monotonic() - work.started
        timed_out = seconds > self.config.sphinx.compact_timeout
        try:
            state = day_state(sphinx, work.index)
        except sphinxql.SPHINX_ERRORS:
            if not timed_out:
                raise
            log.warning("compaction: no status of %s after %.0f s; no longer waiting for it",
                        work.index, seconds)
            self.failed.add(work.index)
            self.work = None
            return True
        if state.disk_chunks <= 1:
            log.info("compaction: %s done in %.0f s: %d disk chunks and a RAM chunk of %d "
                     "bytes became %d disk chunk(s), %d documents", work.index, seconds,
                     work.before.disk_chunks, work.before.ram_chunk_bytes, state.disk_chunks,
                     state.documents)
        elif timed_out:
            log.warning("compaction: %s still has %d disk chunks after %.0f s; no longer "
                        "waiting for it", work.index, state.disk_chunks, seconds)
            self.failed.add(work.index)
        else:
            return False
        self.work = None
        return True

    def _next(self, sphinx: sphinxql.Sphinx, today: date) -> str | None:
        """Start the oldest past day that is not compact yet (at most one)."""
        for index in past_days(sphinx, self.config, today):
            if index in self.failed:
                continue
            state = day_state(sphinx, index)
            if state.compact:
                continue
            flush = state.ram_chunk_bytes >= RAM_CHUNK_MIN
            free = wait_claim(self.lock, index) if flush else True
            if free is False:  # (the next step tries again)
                log.info("compaction: %s: writers of late lines still write to it; trying "
                         "again at the next step", index)
                return None
            if free is None:
                log.warning("compaction: Redis does not answer: %s's RAM chunk is not "
                            "flushed (a line written meanwhile would be lost); only its disk "
                            "chunks are merged", index)
                flush = False
                if state.disk_chunks <= 1:
                    self.failed.add(index)
                    continue
            try:
                start(sphinx, state, flush)
            except sphinxql.SphinxQueryError as exc:
                log.warning("compaction: searchd refused to compact %s: %s", index, exc.message)
                self.failed.add(index)
                continue
            finally:
                if flush:
                    self.lock.release(index)
            log.info("compaction: %s started (%d disk chunks, RAM chunk %d bytes, %d documents)",
                     index, state.disk_chunks, state.ram_chunk_bytes, state.documents)
            self.work = Work(index, state, time.monotonic())
            return index
        return None
