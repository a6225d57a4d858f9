"""Counts of the lines a query matches in a range (the page's "hit N of M", ``alco grep -c``):
whole day indexes by searchd's ``total_found``, the rest by ``COUNT(*)`` over ids, queries
with patterns by reading (a part of alco.search.reader.Searcher)."""

from __future__ import annotations

from alco.config import IndexConfig
from alco.index import sphinxql
from alco.index.ids import DAY_MS
from alco.index.schema import (
    MINUTE_MS,
    id_range_of_us,
    make_id,
)
from alco.search.compile import (
    TOP_ID,
    Compiled,
    compile_text,
    where_ids,
)
from alco.search.context import ReadContext
from alco.search.dictionary import Lookups, first_minute
from alco.search.reads import Reads

MAX_COUNT = 100_000  # matches a count of a query with patterns reads at most


class Counts:
    """Counting (a part of alco.search.reader.Searcher): on the shared ``ctx``, with what
    ``lookups`` knows of the day indexes; a query with patterns counted by ``reads``."""

    def __init__(self, ctx: ReadContext, lookups: Lookups, reads: Reads) -> None:
        self.ctx = ctx
        self.lookups = lookups
        self.reads = reads

    def count(self, ix: IndexConfig, from_us: int | None, to_us: int | None,
              text: str = "", known: set[str] | None = None) -> int:
        lo, hi = id_range_of_us(from_us, to_us)
        return self.count_ids(ix, compile_text(ix, text, known), lo, hi)

    def count_ids(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                  cap: int = MAX_COUNT) -> int:
        """Lines matching ``c`` in [lo, hi]: exact for what the index answers alone; with
        patterns, counted by reading, at most ``cap`` + 1 (short when the budget ran out)."""
        c = self.lookups.for_range(ix, c, lo, hi)
        if c.checks:
            return self.count_checked(ix, c, lo, hi, cap)[0]
        return self._count_matches(ix, c, lo, hi)

    def _count_matches(self, ix: IndexConfig, c: Compiled, lo: int, hi: int) -> int:
        """What MATCH() and the filters of ``c`` find in [lo, hi], its patterns unchecked.

        A day index holds lines dated from its day's start on (today's also those dated
        after tomorrow), so a range from that start open upwards holds every line of it, and
        so does one to its day's end when it is a past day known to hold only lines of its
        day (Lookups.within_day: "hit 37" of the page counts up to a hit): such day indexes are
        counted without an id range, by the matches searchd reports
        (``total_found`` of a one-row search).  A COUNT(*), or any filter, fetches every
        match's attributes: measured at 10M lines, a word in 768,000 lines of a day 20 ms
        that way against 60-65 ms (a word in 110,000 lines: 4 ms against 26-31).  Not for
        every line (no words): a search without MATCH() walks the attributes either way, and
        COUNT(*) was faster (10M lines: 78 ms against 98)."""
        indexes = self.ctx.indexes_for_ids(ix, lo, hi)
        if not indexes or lo > hi:
            return 0
        c = self.lookups.for_indexes(c, indexes)
        whole = [name for name in indexes if c.match and not c.attrs
                 and (first := first_minute(name)) is not None
                 and lo <= make_id(first * MINUTE_MS, 0, 0)
                 and (hi >= TOP_ID or (hi >= make_id(first * MINUTE_MS + DAY_MS, 0, 0) - 1
                                       and self.lookups.within_day(name)))]
        rest = [name for name in indexes if name not in whole]
        n = self._count_whole(c, whole) if whole else 0
        if n is None:  # (searchd did not report it)
            n, rest = 0, indexes
        if not rest:
            return n
        where, params = where_ids(c, lo, hi, hours=self.lookups.hours(rest))
        sql = (f"SELECT COUNT(*) AS n "
               f"FROM {', '.join(map(sphinxql.ident, rest))} WHERE {where} "
               f"OPTION ranker=none, max_query_time={max(1, self.ctx.budget.ms_left())}")
        rows = self.ctx.query(sql, params)
        return n + (int(rows[0]["n"]) if rows else 0)

    def _count_whole(self, c: Compiled, indexes: list[str]) -> int | None:
        """Every line of ``indexes`` matching ``c`` (no filters): the total searchd found
        for a search of one row (its SHOW META), None when it does not say."""
        sql = (f"SELECT id FROM {', '.join(map(sphinxql.ident, indexes))} WHERE MATCH(%s) "
               f"LIMIT 1 OPTION ranker=none, "
               f"max_query_time={max(1, self.ctx.budget.ms_left())}")
        self.ctx.query(sql, [c.match])
        self.ctx.budget.spend()
        found = self.ctx.sphinx.meta().get("total_found")
        return int(found) if found is not None and found.isdigit() else None

    def count_checked(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                      cap: int) -> tuple[int, bool, bool]:
        """(count, capped, partial) of a query with patterns: read newest first, at most
        ``cap`` + 1 matches, within the request's budget."""
        got = self.reads.read(ix, c, lo, hi, False, cap + 1, sink=lambda rows: None)
        return min(got.matched, cap), got.matched > cap, got.partial
