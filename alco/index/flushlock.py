"""Writers and compaction agree on when a past day's RAM chunk may be flushed (Redis).

Sphinx 2.2.11 loses the rows REPLACEd into an RT index while a ``FLUSH RAMCHUNK`` of it runs:
they are neither searchable after it nor after a restart (measured: 22,000 of 307,000 rows
written during a 3 s flush were gone).  A RAM chunk full at ``rt_mem_limit`` does not lose
any (searchd keeps writing into a second buffer then); an explicit flush does.  Compaction
flushes past days, and writers still write late lines into them, so:

* a writer announces each write to a day before today
  (``<prefix>:WRITING:<day index>:<slot>``, expiring after WRITING_TTL_S), then checks that
  the day is not being flushed (``<prefix>:FLUSHING:<day index>``); if it is, it withdraws
  and its batch waits (``DayBusy``: the writer's retry loop tries again);
* compaction marks the day as being flushed, flushes only once no writer announces a write to
  it, and clears the mark.

When Redis does not answer, compaction does not flush (it only merges disk chunks) and
writers go on (Redis is best effort for them, as for field values), except in the compaction
hour and FLUSH_MARGIN_S after it: a flush claimed before Redis went away may be running then,
so a past day's batch waits (``DayBusy``) until Redis answers again or the hour is over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis

WRITING_TTL_S = 120  # longer than a REPLACE takes, even one that turns a full RAM chunk to disk
FLUSHING_TTL_S = 900  # a mark left by a compaction that died goes away by itself
FLUSH_MARGIN_S = 300  # a flush started at the end of the compaction hour is over by then


def writing_key(prefix: str, index: str, slot: int) -> str:
    return f"{prefix}:WRITING:{index}:{slot}"


def writing_pattern(prefix: str, index: str) -> str:
    """The writing keys of every slot for ``index`` (day index names hold no glob signs)."""
    return f"{prefix}:WRITING:{index}:*"


def flushing_key(prefix: str, index: str) -> str:
    return f"{prefix}:FLUSHING:{index}"


class DayBusy(Exception):
    """The day index is being flushed: write to it later."""


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def may_flush(compact_hour: int, now: datetime) -> bool:
    """Whether compaction may be flushing a day at ``now`` (UTC): in its hour, or within
    FLUSH_MARGIN_S after it (-1: compaction never runs)."""
    if compact_hour < 0:
        return False
    start = now.replace(hour=compact_hour, minute=0, second=0, microsecond=0)
    if start > now:  # (the margin of the hour may run past midnight)
        start -= timedelta(days=1)
    return (now - start).total_seconds() < 3600 + FLUSH_MARGIN_S


class PastDayGuard:
    """A writer's side: ``enter`` before writing to a past day, ``leave`` after."""

    def __init__(self, url: str, prefix: str, slot: int, compact_hour: int = -1,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = _client(url)
        self.prefix = prefix
        self.slot = slot
        self.compact_hour = compact_hour  # [sphinx] compact_hour; -1: no compaction flushes
        self.clock = clock

    def enter(self, index: str) -> None:
        """Announce a write to ``index``; DayBusy (announcement withdrawn) when it is being
        flushed."""
        mine = writing_key(self.prefix, index, self.slot)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(mine, 1, ex=WRITING_TTL_S)
            pipe.exists(flushing_key(self.prefix, index))
            _, flushing = pipe.execute()
            if flushing:
                self.client.delete(mine)
        except redis.RedisError as exc:
            if may_flush(self.compact_hour, self.clock()):
                raise DayBusy(f"Redis does not answer ({exc}) in the compaction hour: "
                              f"day index {index} may be being flushed") from None
            return  # no Redis, no compaction flush: write
        if flushing:
            raise DayBusy(f"day index {index} is being compacted")

    def leave(self, index: str) -> None:
        try:
            self.client.delete(writing_key(self.prefix, index, self.slot))
        except redis.RedisError:
            pass  # the announcement expires by itself


class FlushLock:
    """Compaction's side: ``claim`` a day, flush it once ``claim`` says no writer writes to it,
    then ``release``."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = _client(url)
        self.prefix = prefix

    def claim(self, index: str) -> bool | None:
        """Mark ``index`` as being flushed (writers stop announcing writes to it); whether no
        writer is writing to it now.  None when Redis does not answer: do not flush."""
        try:
            self.client.set(flushing_key(self.prefix, index), 1, ex=FLUSHING_TTL_S)
            writing = self.client.scan_iter(match=writing_pattern(self.prefix, index), count=100)
            return next(iter(writing), None) is None
        except redis.RedisError:
            return None

    def release(self, index: str) -> None:
        try:
            self.client.delete(flushing_key(self.prefix, index))
        except redis.RedisError:
            pass  # the mark expires by itself (FLUSHING_TTL_S)
