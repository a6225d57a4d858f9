"""Histograms: hits per bucket of a range, from kept per-minute counts of sealed ten minutes
(alco.search.histcache) where they hold, the rest counted on the search threads at once (a
part of alco.search.reader.Searcher)."""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass

from alco.config import IndexConfig
from alco.index import sphinxql
from alco.index.ids import ms_sql
from alco.index.schema import (
    HOUR_MS,
    MINUTE_MS,
    TEN_MINUTES_MS,
    id_ms,
    id_range_of_us,
    make_id,
    unit_token,
)
from alco.search import histcache
from alco.search.compile import (
    COVER_HOUR_MS,
    TOP_ID,
    Compiled,
    every_line,
    where_all,
    where_ids,
)
from alco.search.context import ReadContext
from alco.search.dictionary import (
    Lookups,
    first_minute,
    index_lines,
    keyword_docs_each,
    server_of,
)
from alco.search.language import bucket_size_us
from alco.search.reads import Reads
from alco.search.windows import start_ms

MAX_FILLS = 4  # days a histogram computes the kept per-minute counts of (alco.search.histcache)


def bucket_us_for(from_us: int, to_us: int, buckets: int) -> int:
    """The smallest round bucket size (alco.search.language.bucket_size_us) whose buckets,
    starting at multiples of it, cover [from_us, to_us] in at most ``buckets``: a range
    that does not start on a bucket's edge reaches into one bucket more than its span."""
    size = bucket_size_us(to_us - from_us, buckets)
    while to_us // size - from_us // size + 1 > buckets:
        size = bucket_size_us(size + 1_000_000, 1)  # the next round size
    return size


@dataclass(frozen=True)
class Fill:
    """Kept per-minute counts a histogram computes: the ten-minute units ``span`` of
    ``part``'s day, which held ``lines`` (per unit) when asked, into ``kept`` under ``key``;
    then the ``hours`` (hour -> its lines) whose units are all current."""

    part: histcache.DayPart
    key: tuple
    lines: list[int]
    kept: histcache.Kept
    span: range
    hours: dict[int, int]


class Histograms:
    """Histograms (a part of alco.search.reader.Searcher): on the shared ``ctx`` and its
    search threads, with what ``lookups`` knows of the day indexes; a query with patterns
    counted by ``reads``."""

    def __init__(self, ctx: ReadContext, lookups: Lookups, reads: Reads) -> None:
        self.ctx = ctx
        self.lookups = lookups
        self.reads = reads

    def histogram(self, ix: IndexConfig, c: Compiled, from_us: int, to_us: int,
                  bucket_us: int) -> dict[int, int]:
        """Hits per bucket start (µs) in [from_us, to_us], on the request's budget (the
        caller starts the request: Searcher.histogram).

        A histogram counts every match of its range.  With a fan-out (the web app's search
        threads), the range up to the newest line is cut in parts counted at once, one
        searchd thread each, and the counts added up.  Past the time budget the counts are
        short: the answer is partial (a warning says so)."""
        counts = self._histogram(ix, c, from_us, to_us, bucket_us)
        if self.ctx.budget.out_of_time():
            self.ctx.sphinx.note_warnings([self.ctx.budget.message()])
        return counts

    def _histogram(self, ix: IndexConfig, c: Compiled, from_us: int, to_us: int,
                   bucket_us: int) -> dict[int, int]:
        lo, hi = id_range_of_us(from_us, to_us)
        if lo > hi:
            return {}
        c = self.lookups.for_range(ix, c, lo, hi)
        if c.checks:
            return self._histogram_read(ix, c, lo, hi, bucket_us)
        counts: dict[int, int] = {}
        live: list[tuple[int, int]] = [(lo, hi)]
        fills: list[Fill] = []
        if bucket_us % (histcache.MINUTE_MS * 1000) == 0:
            live, fills = self._histogram_kept(ix, c, lo, hi, bucket_us, counts)
        if self.ctx.parallel > 1 and len(live) == 1 and not fills:
            end = make_id(start_ms(self.ctx.open_top(ix)) + 1000, 0, 0)
            part_lo, part_hi = live[0]
            live = split_range(part_lo, min(part_hi, end), part_hi, self.ctx.parallel)
        # the kept counts to compute and the ranges to count, all at once on the search
        # threads (the day parts first: they are the long ones)
        tasks: list[Fill | tuple[int, int]] = [*fills, *live]
        results = self.ctx.each(lambda sx, task: self.buckets(sx, ix, c, bucket_us, task)
                            if isinstance(task, tuple) else self._day_minutes(sx, ix, c, task),
                            tasks)
        missed: list[tuple[int, int]] = []
        for task, got in zip(tasks, results, strict=True):
            if isinstance(task, tuple):
                for bucket, n in got.items():
                    counts[bucket] = counts.get(bucket, 0) + n
            elif got is None:  # cut short by the time budget: not kept, counted below
                part = task.part
                missed.append((make_id(part.first * histcache.MINUTE_MS, 0, 0),
                               make_id(part.end * histcache.MINUTE_MS, 0, 0) - 1))
            else:
                kept = task.kept.with_units(got[0], task.lines, got[1]).with_hours(task.hours)
                histcache.KEPT.put(task.key, kept)
                histcache.add_minutes(counts, kept.minutes, task.part, bucket_us)
        for ids in missed:
            for bucket, n in self.buckets(self.ctx.sphinx, ix, c, bucket_us, ids).items():
                counts[bucket] = counts.get(bucket, 0) + n
        return counts

    def _histogram_kept(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, bucket_us: int,
                        counts: dict[int, int]) -> tuple[list[tuple[int, int]], list[Fill]]:
        """Add to ``counts`` what kept per-minute counts of sealed ten minutes answer; return
        the id ranges left to count and the kept counts to compute (the units not kept yet of
        at most MAX_FILLS days a request: their day parts are not in those ranges)
        (alco.search.histcache)."""
        days = [(name, first) for name in self.ctx.indexes_for_ids(ix, lo, hi)
                if (first := first_minute(name)) is not None]
        now_ms = time.time_ns() // 1_000_000
        planned, live = histcache.plan(lo, hi, days, histcache.sealed_minute(now_ms))
        answered: list[histcache.DayPart] = []
        fills: list[Fill] = []
        for part in planned:
            c_day = self.lookups.for_indexes(c, [part.index])
            if not self.lookups.hours([part.index]):
                continue
            key = (*server_of(self.ctx.sphinx), part.index, c_day.match, c_day.keywords,
                   c_day.attrs)
            kept = histcache.KEPT.get(key)
            lines, whole = self._unit_lines(part, kept)
            if not kept.stale(lines, histcache.part_units(part)):
                histcache.add_minutes(counts, kept.minutes, part, bucket_us)
                answered.append(part)
                current = {h: n for h, n in whole.items() if not kept.stale(
                    lines, histcache.units_of([h]))}
                if current:
                    histcache.KEPT.put(key, kept.with_hours(current))
            elif len(fills) < MAX_FILLS:
                # every stale sealed unit of the day (and those between): a count decodes
                # the query's matches of the whole day whatever its id range, so the rest
                # of the day costs little more (Histograms._day_minutes)
                stale = kept.stale(lines, range((part.sealed - part.day)
                                                // histcache.UNIT_MINUTES))
                fills.append(Fill(part, key, lines, kept, range(stale[0], stale[-1] + 1),
                                  whole))
                answered.append(part)
        if len(answered) < len(planned):  # the parts not answered from counts are counted live
            live = histcache.plan(lo, hi, [(p.index, p.day) for p in answered],
                                  histcache.sealed_minute(now_ms))[1]
        return live, fills

    def _unit_lines(self, part: histcache.DayPart,
                    kept: histcache.Kept) -> tuple[list[int], dict[int, int]]:
        """The lines each ten minutes of ``part``'s day holds now, as far as they are sealed:
        the day's hour tokens from the dictionary first (one lookup), then, only for the
        hours whose lines are not those ``kept`` last found current, their ten-minute tokens
        (a second lookup; the current hour, an hour with a late line); the units of the
        other hours are as kept.  And the sealed hours looked up again (hour -> its lines):
        once their units are counted, they are current with that number."""
        sealed_units = (part.sealed - part.day) // histcache.UNIT_MINUTES
        hours = range(-(-sealed_units // histcache.UNITS_PER_HOUR))
        lines = list(kept.units)
        if all(n < 0 for n in kept.hours):  # nothing found current yet: the units at once
            suspect = list(range(histcache.HOURS))
            hour_lines = []
        else:
            first_hour = part.day // 60
            self.ctx.budget.spend()
            hour_lines = keyword_docs_each(self.ctx.sphinx, [
                unit_token(HOUR_MS, first_hour + h) for h in range(histcache.HOURS)],
                part.index)
            suspect = kept.suspect(hour_lines, hours)
        if suspect:
            units = histcache.units_of(suspect)
            first_unit = part.day // histcache.UNIT_MINUTES
            self.ctx.budget.spend()
            for u, n in zip(units, keyword_docs_each(self.ctx.sphinx, [
                    unit_token(TEN_MINUTES_MS, first_unit + u) for u in units], part.index),
                    strict=True):
                lines[u] = n
        if not hour_lines:  # (an hour's lines are its units': each line has one of each)
            hour_lines = [sum(lines[u] for u in histcache.units_of([h]))
                          for h in range(histcache.HOURS)]
        whole = {h: hour_lines[h] for h in suspect
                 if (h + 1) * histcache.UNITS_PER_HOUR <= sealed_units}
        return lines, whole

    def _day_minutes(self, sx: sphinxql.Sphinx, ix: IndexConfig, c: Compiled,
                     fill: Fill) -> tuple[range, array] | None:
        """Lines matching ``c`` per minute of the fill's day (an array of the day's minutes)
        in the ten minutes of its span (a query of every line: of all its sealed ones, from
        the dictionary) and those units; None when the time budget cut the query short."""
        part, span = fill.part, fill.span
        if every_line(c) and not c.checks:
            every = self._day_lines(sx, part)
            if every is not None:
                return range(0, (part.sealed - part.day) // histcache.UNIT_MINUTES), every
        c = self.lookups.for_indexes(c, [part.index])
        first = part.day + span.start * histcache.UNIT_MINUTES
        end = part.day + span.stop * histcache.UNIT_MINUTES
        if (end - first) * histcache.MINUTE_MS <= COVER_HOUR_MS:
            # an hour or less (the ten minutes sealed since the last fill): through its
            # time tokens, it costs the lines it holds, not the day's
            where, params = where_ids(c, make_id(first * histcache.MINUTE_MS, 0, 0),
                                      make_id(end * histcache.MINUTE_MS, 0, 0) - 1,
                                      hours=True)
            where = f"WHERE {where} "
        else:
            # The whole day index is counted, without an id range: a count decodes the
            # query's matches of the whole day whatever its range, and a filter beside GROUP
            # BY costs searchd a third more (10M lines, a word in 680k lines of a day: 63 ms
            # against 100).  Only the span's units are taken (Kept.with_units); lines dated
            # outside the day (after tomorrow, in today's index) fall outside its minutes.
            where, params = where_all(c)
        day_ids = (make_id(part.day * MINUTE_MS, 0, 0),
                   make_id((part.day + histcache.DAY_MINUTES) * MINUTE_MS, 0, 0) - 1)
        sql = (f"SELECT ({ms_sql(*day_ids)}) DIV {MINUTE_MS} AS m, COUNT(*) AS n "
               f"FROM {sphinxql.ident(part.index)} {where}"
               f"GROUP BY m ORDER BY m ASC LIMIT {3 * histcache.DAY_MINUTES} "
               f"OPTION max_matches={3 * histcache.DAY_MINUTES}, ranker=none, "
               f"max_query_time={max(1, self.ctx.budget.ms_left())}")
        rows = self.ctx.query(sql, params, sx)
        if self.ctx.budget.out_of_time():
            return None
        minutes = array("q", bytes(8 * histcache.DAY_MINUTES))
        for row in rows:
            k = int(row["m"]) - part.day
            if 0 <= k < histcache.DAY_MINUTES:
                minutes[k] = int(row["n"])
        return span, minutes

    def _day_lines(self, sx: sphinxql.Sphinx, part: histcache.DayPart) -> array | None:
        """Every line per minute of ``part``'s day's sealed hours, from the dictionary's
        counts of the minute tokens (one lookup, about 15-30 ms a day against 70 ms for a
        count): only when the day's minutes add up to the lines the index holds (SHOW INDEX
        STATUS counts the lines there are; the dictionary also counts a line REPLACEd again,
        until a merge, and a line dated past tomorrow is under no minute of the day).  None
        when they do not."""
        minutes = [unit_token(MINUTE_MS, m)
                   for m in range(part.day, part.day + histcache.DAY_MINUTES)]
        self.ctx.budget.spend()
        counts = keyword_docs_each(sx, minutes, part.index)
        self.ctx.budget.spend()
        if sum(counts) != index_lines(sx, part.index):
            return None
        out = array("q", bytes(8 * histcache.DAY_MINUTES))
        for k in range(part.sealed - part.day):
            out[k] = counts[k]
        return out

    def _histogram_read(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                        bucket_us: int) -> dict[int, int]:
        """A histogram of a query with patterns: its lines read newest first and counted,
        as far as the budget goes (then partial: the read says so)."""
        counts: dict[int, int] = {}

        def add(rows: list[dict]) -> None:
            for row in rows:
                bucket = int(row["ts"]) // bucket_us * bucket_us
                counts[bucket] = counts.get(bucket, 0) + 1

        self.reads.read(ix, c, lo, hi, False, TOP_ID, sink=add)
        return counts

    def buckets(self, sx: sphinxql.Sphinx, ix: IndexConfig, c: Compiled,
                bucket_us: int, ids: tuple[int, int]) -> dict[int, int]:
        """Hits per bucket start (µs) of ``c`` in ids ``ids`` (lo, hi): one query on ``sx``
        (a search thread's connection)."""
        lo, hi = ids
        indexes = self.ctx.indexes_for_ids(ix, lo, hi)
        if not indexes:
            return {}
        n = ((id_ms(hi) - id_ms(lo)) * 1000) // bucket_us + 2
        c = self.lookups.for_indexes(c, indexes)
        where, params = where_ids(c, lo, hi, hours=self.lookups.hours(indexes, sx))
        sql = (f"SELECT {bucket_of_id(bucket_us, lo, hi)} AS bucket, COUNT(*) AS n "
               f"FROM {', '.join(map(sphinxql.ident, indexes))} WHERE {where} "
               f"GROUP BY bucket ORDER BY bucket ASC LIMIT {n} "
               f"OPTION max_matches={n}, ranker=none, "
               f"max_query_time={max(1, self.ctx.budget.ms_left())}")
        rows = self.ctx.query(sql, params, sx)
        return {int(r["bucket"]) * bucket_us: int(r["n"]) for r in rows}


def bucket_of_id(bucket_us: int, lo: int, hi: int) -> str:
    """The SphinxQL expression of a line's bucket of ``bucket_us`` (its start // bucket_us),
    from its id in [lo, hi]: the time to the millisecond, which a day index made for the line
    store keeps in the id alone (no ``ts`` attribute)."""
    if bucket_us % 1000 == 0:
        return f"({ms_sql(lo, hi)}) DIV {bucket_us // 1000}"
    return f"({ms_sql(lo, hi)}) * 1000 DIV {int(bucket_us)}"


def split_range(lo: int, end: int, hi: int, parts: int) -> list[tuple[int, int]]:
    """[lo, hi] in ``parts`` disjoint ranges of equal width up to ``end`` (where the lines
    stop), the last one reaching on to ``hi``; one range when [lo, end] is too narrow."""
    if lo <= 0 or id_ms(end) - id_ms(lo) < 60_000 * parts:
        return [(lo, hi)]
    step = (end - lo) // parts
    cuts = [lo + i * step for i in range(parts)] + [hi + 1]
    return [(cuts[i], cuts[i + 1] - 1) for i in range(parts)]
