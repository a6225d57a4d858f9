"""Histograms from kept per-minute counts: a query's counts of a day's sealed hours, kept
while those hours' lines are unchanged.

A histogram counts every match of its range, so one over days of a common word decodes
millions of matches (about 100 ns each in searchd), and the page asks again for every zoom,
scroll and refresh of the same query.  The hours of a day up to the current one (``sealed``)
no longer change but for late lines: their counts per minute, of one query, are computed once
(one GROUP BY over the day) and kept; a later histogram of that query takes the whole minutes
of its range from them and asks searchd only for the rest (the current hour, the range's
partial first and last minutes, days it covers for less than ``MIN_CACHED`` minutes).

What keeps them exact: the counts are kept with how many lines the day's sealed hours held
when they were computed, read from the dictionary (``CALL KEYWORDS`` of the hours' time
tokens: about a millisecond).  Lines are never deleted or overwritten, so a late line makes
that number grow and the counts are computed again.  Day indexes without hour tokens (written
before them) are always counted by searchd.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from alco.index.schema import MS_SHIFT, make_id

MINUTE_MS = 60_000
DAY_MINUTES = 1440
SEAL_MS = 120_000  # an hour is sealed once it ended this long ago (lines arrive late)
MIN_CACHED = 120  # a day's part of a range is taken from kept counts from this many minutes
KEPT_DAYS = 8  # and only of the newest days of the range (each costs a dictionary lookup)
MAX_ENTRIES = 512  # kept (query, day) counts: 1440 counts of 8 bytes each, about 6 MB


@dataclass(frozen=True)
class DayPart:
    """Whole minutes [first, end) of a range taken from the kept counts of ``index``, whose
    counts cover its day's sealed minutes [day, sealed)."""

    index: str
    day: int  # the day's first minute (since the epoch)
    sealed: int  # its first minute not sealed (a whole hour), at most day + 1440
    first: int
    end: int


def sealed_minute(now_ms: int) -> int:
    """The first minute of the hour that is not sealed at ``now_ms``."""
    return (now_ms - SEAL_MS) // 3_600_000 * 60


def plan(lo: int, hi: int, days: list[tuple[str, int]], sealed: int,
         least: int = MIN_CACHED) -> tuple[list[DayPart], list[tuple[int, int]]]:
    """Which whole minutes of ids [lo, hi] come from kept counts (a part per day index, from
    ``days``: (index, its day's first minute), oldest first), and the id ranges left to
    count in searchd, oldest first.  A day's part is taken from kept counts when it is at
    least ``least`` minutes and a quarter of the day's sealed hours (computing them costs a
    count of all of those), for the KEPT_DAYS newest days."""
    # the whole minutes in [lo, hi]: make_id(m min) >= lo and make_id(m + 1 min) - 1 <= hi
    lo_ms = _ceil_div(lo, 1 << MS_SHIFT)
    first_min = _ceil_div(lo_ms, MINUTE_MS)
    end_min = ((hi + 1) >> MS_SHIFT) // MINUTE_MS
    parts = []
    for index, day in days:
        top = min(day + DAY_MINUTES, sealed)
        first, end = max(first_min, day), min(end_min, top)
        if end - first >= max(least, (top - day) // 4):
            parts.append(DayPart(index, day, top, first, end))
    parts = parts[-KEPT_DAYS:]
    live, cur = [], lo
    for part in parts:
        start = make_id(part.first * MINUTE_MS, 0, 0)
        if start > cur:
            live.append((cur, start - 1))
        cur = make_id(part.end * MINUTE_MS, 0, 0)
    if cur <= hi:
        live.append((cur, hi))
    return parts, live


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def add_minutes(counts: dict[int, int], minutes: array, part: DayPart, bucket_us: int) -> None:
    """Add the kept counts of ``part``'s minutes to ``counts`` (bucket start µs -> lines);
    ``bucket_us`` is a whole number of minutes."""
    for m in range(part.first, part.end):
        n = minutes[m - part.day]
        if n:
            bucket = m * MINUTE_MS * 1000 // bucket_us * bucket_us
            counts[bucket] = counts.get(bucket, 0) + n


class MinuteCounts:
    """Kept per-minute counts of (searchd, day index, query): the least recently used go
    first past MAX_ENTRIES (thread-safe: the web app's handlers run on threads)."""

    def __init__(self, entries: int = MAX_ENTRIES) -> None:
        self._entries = entries
        self._kept: OrderedDict[tuple, tuple[int, array]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, lines: int) -> array | None:
        """The counts kept for ``key`` if its sealed hours still hold ``lines`` lines."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept[0] != lines:
                return None
            self._kept.move_to_end(key)
            return kept[1]

    def put(self, key: tuple, lines: int, minutes: array) -> None:
        with self._lock:
            self._kept[key] = (lines, minutes)
            self._kept.move_to_end(key)
            while len(self._kept) > self._entries:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


KEPT = MinuteCounts()
