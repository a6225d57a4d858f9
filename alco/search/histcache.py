"""Histograms from kept per-minute counts: a query's counts of a day's sealed ten minutes,
kept ten minutes by ten minutes while their lines are unchanged.

A histogram counts every match of its range, so one over days of a common word decodes
millions of matches (about 100 ns each in searchd), and the page asks again for every zoom,
scroll and refresh of the same query.  The ten minutes of a day up to the current ones
(``sealed``) no longer change but for late lines: their counts per minute, of one query, are
computed once (one GROUP BY over the day's units not kept yet: a count decodes the query's
matches of the whole day whatever its id range, so all of them cost about what a part would;
an hour or less of them is counted through its time tokens) and kept; a later histogram of
that query takes the whole minutes of its range from them and asks searchd only for the rest
(the current ten minutes, the range's partial first and last minutes, days it covers for
less than ``MIN_CACHED`` minutes and less than half of their sealed ones).  With hours as
units the current hour was counted live: up to an hour of a busy index's lines at every
refresh of the page.

What keeps them exact: each unit's counts are kept with how many lines it held when they
were computed, read from the dictionary (``CALL KEYWORDS`` of its ten-minute token).  Lines
are never deleted or overwritten, so a late line makes its unit's number grow and that unit
is computed again.  A histogram first looks up the day's 24 hour tokens (0.2-0.4 ms; its 144
ten-minute tokens take 0.5-1.1 ms): an hour whose number is the one its kept units were
last found current with needs no more; only the others' units are looked up (the current
hour's, a late line's).  Day indexes without hour tokens (written
before them, and without ten-minute tokens too) are always counted by searchd.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field

from alco.index.ids import first_ms_from, id_ms
from alco.index.schema import MINUTE_MS, TEN_MINUTES_MS, make_id

DAY_MINUTES = 1440
UNIT_MINUTES = 10  # counts are kept (and sealed) ten minutes at a time
DAY_UNITS = DAY_MINUTES // UNIT_MINUTES
HOURS = 24
UNITS_PER_HOUR = 60 // UNIT_MINUTES
SEAL_MS = 120_000  # ten minutes are sealed once they ended this long ago (lines arrive late)
MIN_CACHED = 120  # a day's part of a range is taken from kept counts from this many minutes
KEPT_DAYS = 8  # and only of the newest days of the range (each costs a dictionary lookup)
MAX_ENTRIES = 512  # kept (query, day) counts: 1440 + 144 counts of 8 bytes each, about 6 MB


@dataclass(frozen=True)
class DayPart:
    """Whole minutes [first, end) of a range taken from the kept counts of ``index``, whose
    counts cover its day's sealed minutes [day, sealed)."""

    index: str
    day: int  # the day's first minute (since the epoch)
    sealed: int  # its first minute not sealed (a whole ten minutes), at most day + 1440
    first: int
    end: int


def sealed_minute(now_ms: int) -> int:
    """The first minute of the ten minutes that are not sealed at ``now_ms``."""
    return (now_ms - SEAL_MS) // TEN_MINUTES_MS * UNIT_MINUTES


def plan(lo: int, hi: int, days: list[tuple[str, int]], sealed: int,
         least: int = MIN_CACHED) -> tuple[list[DayPart], list[tuple[int, int]]]:
    """Which whole minutes of ids [lo, hi] come from kept counts (a part per day index, from
    ``days``: (index, its day's first minute), oldest first), and the id ranges left to
    count in searchd, oldest first.  A day's part is taken from kept counts when it is at
    least ``least`` minutes of its sealed ones, or at least half of them (today early in the
    day: counting them costs about what the part alone would), for the KEPT_DAYS newest
    days."""
    # the whole minutes in [lo, hi]: make_id(m min) >= lo and make_id(m + 1 min) - 1 <= hi
    first_min = _ceil_div(first_ms_from(lo), MINUTE_MS)
    end_min = id_ms(hi + 1) // MINUTE_MS
    parts = []
    for index, day in days:
        top = min(day + DAY_MINUTES, sealed)
        first, end = max(first_min, day), min(end_min, top)
        if end - first >= least or (end > first and 2 * (end - first) >= top - day):
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


def units_of(hours: list[int]) -> list[int]:
    """The ten-minute units (0-143) of these hours of a day."""
    return [u for h in hours for u in range(h * UNITS_PER_HOUR, (h + 1) * UNITS_PER_HOUR)]


def part_units(part: DayPart) -> range:
    """The ten minutes of its day (0-143) that ``part``'s minutes are in."""
    return range((part.first - part.day) // UNIT_MINUTES,
                 (part.end - 1 - part.day) // UNIT_MINUTES + 1)


@dataclass(frozen=True)
class Kept:
    """A query's counts per minute of a day, the lines each ten minutes held when their
    minutes were counted (-1: not counted), and the lines each hour held when all its units
    were last found current (-1: not yet)."""

    units: array = field(default_factory=lambda: array("q", [-1] * DAY_UNITS))
    minutes: array = field(default_factory=lambda: array("q", bytes(8 * DAY_MINUTES)))
    hours: array = field(default_factory=lambda: array("q", [-1] * HOURS))

    def suspect(self, hour_lines: list[int], hours: range) -> list[int]:
        """The hours of ``hours`` whose lines now (``hour_lines``, per hour of the day) are
        not those their units were last found current with: their units must be looked up."""
        return [h for h in hours if self.hours[h] != hour_lines[h]]

    def with_hours(self, checked: dict[int, int]) -> Kept:
        """These counts with hours (hour -> its lines) whose units are all current."""
        hours = array("q", self.hours)
        for h, n in checked.items():
            hours[h] = n
        return Kept(self.units, self.minutes, hours)

    def stale(self, lines: list[int], need: range) -> list[int]:
        """The units of ``need`` whose counts are not of the ``lines`` they hold now."""
        return [u for u in need if self.units[u] != lines[u]]

    def with_units(self, span: range, lines: list[int], minutes: array) -> Kept:
        """These counts with the units of ``span`` counted again: ``minutes`` (of the whole
        day; those of ``span`` are taken) when they held ``lines``."""
        units, kept = array("q", self.units), array("q", self.minutes)
        for u in span:
            units[u] = lines[u]
            a = u * UNIT_MINUTES
            kept[a:a + UNIT_MINUTES] = minutes[a:a + UNIT_MINUTES]
        return Kept(units, kept, self.hours)


class MinuteCounts:
    """Kept per-minute counts of (searchd, day index, query): the least recently used go
    first past MAX_ENTRIES (thread-safe: the web app's handlers run on threads)."""

    def __init__(self, entries: int = MAX_ENTRIES) -> None:
        self._entries = entries
        self._kept: OrderedDict[tuple, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Kept:
        """The counts kept for ``key`` (none counted yet: an empty Kept)."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return Kept()
            self._kept.move_to_end(key)
            return kept

    def put(self, key: tuple, kept: Kept) -> None:
        with self._lock:
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self._entries:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


KEPT = MinuteCounts()
