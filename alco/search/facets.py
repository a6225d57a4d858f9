"""Facets: which values of a field dominate the lines of a query and time range (top values
with their counts), and hits over time stacked by a field's values (the page's histogram by
level).

Without patterns the index answers: one ``GROUP BY`` on the field in the JSON attribute
(Sphinx 2.2 groups by ``js[<name>]`` when it has an alias in the select list; a missing field
is one group, ``NULL``), cut into parts counted at once on the search threads when there is a
fan-out.  A query with patterns is read and its lines counted in Python, newest first, as far
as the request's time budget goes (then ``partial``, with how far it got).

Counts are exact up to MAX_GROUPS distinct values in a range (a part); past that Sphinx keeps
the groups it met first and the counts of the rest are left out (``total`` stays exact).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from alco.config import IndexConfig
from alco.index import sphinxql
from alco.index.schema import facet_text, id_ms, id_range_of_us, make_id, value_attr
from alco.search import language as qlang
from alco.search.compile import (
    JSON_NAME_MAX,
    TOP_ID,
    Compiled,
    SearchError,
    compile_query,
    where_ids,
)
from alco.search.histograms import split_range
from alco.search.reader import Searcher, cursor_id
from alco.search.reads import row_fields

MAX_GROUPS = 1000  # distinct values one query keeps
MAX_LIMIT = 100  # values an answer lists
MAX_STACKED = 8  # values a stacked histogram has series for (the rest: "other")


@dataclass
class FacetCounts:
    """The top values of ``field`` (most frequent first; None: lines without it), ``total``
    lines counted, ``distinct`` values seen; ``partial`` when the time budget cut the count,
    ``searched_to_us`` how far back a read of lines got then."""

    field: str
    values: list[tuple[str | None, int]]
    total: int
    distinct: int
    partial: bool = False
    searched_to_us: int | None = None


@dataclass
class Stacked:
    """Hits per bucket start (µs) and, per bucket, the hits of each of ``values``."""

    counts: dict[int, int]
    by: dict[int, dict[str, int]]
    values: list[str]
    partial: bool = False
    searched_to_us: int | None = None
    totals: dict[str, int] = field(default_factory=dict)


def check_field(name: str) -> str:
    if not name or len(name) > JSON_NAME_MAX or not name.isprintable():
        raise SearchError(f"cannot count the values of field {name[:64]!r}")
    return name


def line_value(fields: dict, name: str) -> str | None:
    """A field's value as the index groups it: text, numbers as text, None when missing."""
    return facet_text(fields.get(name))


def group_value(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


def with_filter(parsed: qlang.Query, name: str, value: str) -> qlang.Query:
    """``parsed`` and ``name:value``."""
    flt = qlang.FieldFilter(name, (value,), False)
    return qlang.Query(parsed.words, parsed.phrases, parsed.not_words,
                       (*parsed.filters, flt), parsed.matchers, parsed.order)


class Facets:
    """Counts by value for one request, on ``searcher``'s connection, budget and search
    threads."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher

    # --- top values ---
    def top(self, ix: IndexConfig, c: Compiled, name: str, from_us: int | None,
            to_us: int | None, limit: int = 10) -> FacetCounts:
        """The ``limit`` most frequent values of field ``name`` among the lines matching ``c``
        in [from_us, to_us]; a new request (the whole time budget)."""
        check_field(name)
        limit = max(1, min(limit, MAX_LIMIT))
        self.searcher.start_request()
        lo, hi = id_range_of_us(from_us, to_us)
        c = self.searcher.lookups.for_range(ix, c, lo, hi)
        if c.checks or not self._grouped(ix, name, lo, hi):
            return self._top_read(ix, c, name, lo, hi, limit)
        counts, total = self._top_index(ix, c, name, lo, hi)
        return self._answer(name, counts, total, limit, self._spent())

    def _answer(self, name: str, counts: Counter, total: int, limit: int, partial: bool,
                searched_to_us: int | None = None) -> FacetCounts:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
        return FacetCounts(name, ranked[:limit], total, len(counts), partial, searched_to_us)

    def _spent(self) -> bool:
        """Whether the time budget ran out (the answer is then partial: a warning says so)."""
        budget = self.searcher.budget
        if budget.out_of_time():
            self.searcher.sphinx.note_warnings([budget.message()])
            return True
        return False

    def _grouped(self, ix: IndexConfig, name: str, lo: int, hi: int) -> bool:
        """Whether the index can group the lines of [lo, hi] by field ``name``: every day
        keeps the fields in its ``js`` attribute or has the value hash of ``name`` (a
        ``filtered`` column when the day was made)."""
        texts = self.searcher.reads.texts
        filtered = name in ix.columns_with("filtered")
        return all(texts.has_js(i) or (filtered and texts.has_value_hash(i, name))
                   for i in self.searcher.ctx.indexes_for_ids(ix, max(lo, 0), hi))

    def _top_index(self, ix: IndexConfig, c: Compiled, name: str, lo: int,
                   hi: int) -> tuple[Counter, int]:
        if lo > hi:
            return Counter(), 0
        parts = self._parts(lo, hi)
        results = self.searcher.ctx.each(lambda sx, ids: self._group(sx, ix, c, name, ids), parts)
        counts: Counter = Counter()
        full = False
        for part, kept_all in results:
            counts.update(part)
            full = full or not kept_all
        total = sum(counts.values())
        if full:  # some values were left out: count the lines themselves
            total = self.searcher.count_ids(ix, c, lo, hi)
        return counts, total

    def _parts(self, lo: int, hi: int) -> list[tuple[int, int]]:
        if self.searcher.ctx.parallel <= 1:
            return [(lo, hi)]
        end = make_id(time.time_ns() // 1_000_000 + 1000, 0, 0)
        return split_range(lo, min(hi, end), hi, self.searcher.ctx.parallel)

    def _group(self, sx: sphinxql.Sphinx, ix: IndexConfig, c: Compiled, name: str,
               ids: tuple[int, int]) -> tuple[Counter, bool]:
        """(count per value, whether every value was kept) of one id range: one query per
        layout of its days (by the ``js`` attribute; by the value hash where the line store
        keeps the fields, each group's value read from one of its lines there)."""
        lo, hi = ids
        indexes = self.searcher.ctx.indexes_for_ids(ix, lo, hi)
        if not indexes:
            return Counter(), True
        c = self.searcher.lookups.for_indexes(c, indexes)
        where, params = where_ids(c, lo, hi, hours=self.searcher.lookups.hours(indexes, sx))
        counts: Counter = Counter()
        kept_all = True
        in_js = [i for i in indexes if self.searcher.reads.texts.has_js(i, sx)]
        hashed = [i for i in indexes if i not in in_js]
        tail = (f" WHERE {where} GROUP BY v ORDER BY n DESC LIMIT {MAX_GROUPS} "
                f"OPTION max_matches={MAX_GROUPS}, ranker=none, "
                f"max_query_time={max(1, self.searcher.budget.ms_left())}")
        if in_js:
            rows = self._query(sx, f"SELECT js[%s] AS v, COUNT(*) AS n FROM "
                                   f"{', '.join(map(sphinxql.ident, in_js))}{tail}",
                               [name, *params])
            for row in rows:
                counts[group_value(row["v"])] += int(row["n"])
            kept_all = len(rows) < MAX_GROUPS
        if hashed:
            rows = self._query(sx, f"SELECT id, {value_attr(name)} AS v, COUNT(*) AS n FROM "
                                   f"{', '.join(map(sphinxql.ident, hashed))}{tail}", params)
            some = [int(r["id"]) for r in rows if int(r["v"])]
            fields = self.searcher.reads.texts.fields_of(ix.name, hashed, some)
            for row in rows:
                value = line_value(fields.get(int(row["id"]), {}), name) if int(row["v"]) \
                    else None
                counts[value] += int(row["n"])
            kept_all = kept_all and len(rows) < MAX_GROUPS
        return counts, kept_all

    def _query(self, sx: sphinxql.Sphinx, sql: str, params: list) -> list[dict]:
        self.searcher.budget.spend()
        try:
            return sx.query(sql, params)
        except sphinxql.SphinxQueryError as exc:
            raise SearchError(f"search failed: {exc.message}") from None

    def _top_read(self, ix: IndexConfig, c: Compiled, name: str, lo: int, hi: int,
                  limit: int) -> FacetCounts:
        counts: Counter = Counter()

        def add(rows: list[dict]) -> None:
            counts.update(line_value(row_fields(r), name) for r in rows)

        got = self.searcher.read(ix, c, lo, hi, False, TOP_ID, sink=add, fields=True)
        searched_to = id_ms(cursor_id(got.edge)) * 1000 if got.partial else None
        return self._answer(name, counts, got.matched, limit, got.partial, searched_to)

    # --- a histogram stacked by a field's values ---
    def histogram_by(self, ix: IndexConfig, parsed: qlang.Query, names: tuple[str, ...],
                     from_us: int, to_us: int, bucket_us: int, top: int = 6) -> Stacked:
        """Hits per bucket in [from_us, to_us] and, for the ``top`` most frequent values of
        the fields ``names`` there (synonyms: ``levelname`` and ``level``; a line's value is
        that of the first it has), the hits of each (one query per field and value, through
        the index when the field is ``filtered``); a new request."""
        for name in names:
            check_field(name)
        top = max(1, min(top, MAX_STACKED))
        self.searcher.start_request()
        c = compile_query(ix, parsed)
        lo, hi = id_range_of_us(from_us, to_us)
        if lo > hi:
            return Stacked({}, {}, [])
        c = self.searcher.lookups.for_range(ix, c, lo, hi)
        filtered = ix.columns_with("filtered")
        if c.checks or any(n not in filtered or not self._grouped(ix, n, lo, hi)
                           for n in names):
            # (a value of another field is a check: its series are counted from the lines)
            return self._stacked_read(ix, c, names, lo, hi, bucket_us, top)
        counts: Counter = Counter()
        for name in names:
            counts.update({v: n for v, n in self._top_index(ix, c, name, lo, hi)[0].items()
                           if v is not None})
        values = [v for v, _ in sorted(counts.items(), key=lambda kv: -kv[1])][:top]
        keyed = [(v, compile_query(ix, with_filter(parsed, name, v)))
                 for v in values for name in names]
        jobs = [c, *(cc for _, cc in keyed)]
        series = self.searcher.ctx.each(
            lambda sx, cc: self._buckets(sx, ix, cc, lo, hi, bucket_us), jobs)
        by: dict[int, dict[str, int]] = {}
        for (value, _), part in zip(keyed, series[1:], strict=True):
            for bucket, n in part.items():
                row = by.setdefault(bucket, {})
                row[value] = row.get(value, 0) + n
        return Stacked(series[0], by, values, self._spent(),
                       totals={v: counts[v] for v in values})

    def _buckets(self, sx: sphinxql.Sphinx, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                 bucket_us: int) -> dict[int, int]:
        return self.searcher.histograms.buckets(sx, ix, c, bucket_us, (lo, hi))

    def _stacked_read(self, ix: IndexConfig, c: Compiled, names: tuple[str, ...], lo: int,
                      hi: int, bucket_us: int, top: int) -> Stacked:
        counts: dict[int, int] = {}
        by: dict[int, Counter] = {}

        def add(rows: list[dict]) -> None:
            for row in rows:
                bucket = int(row["ts"]) // bucket_us * bucket_us
                counts[bucket] = counts.get(bucket, 0) + 1
                fields = row_fields(row)
                value = next((v for v in (line_value(fields, n) for n in names)
                              if v is not None), None)
                by.setdefault(bucket, Counter())[value] += 1

        got = self.searcher.read(ix, c, lo, hi, False, TOP_ID, sink=add, fields=True)
        totals: Counter = Counter()
        for part in by.values():
            totals.update(part)
        values = [v for v, _ in totals.most_common() if v is not None][:top]
        stacked = {b: {v: part[v] for v in values if part[v]} for b, part in by.items()}
        searched_to = id_ms(cursor_id(got.edge)) * 1000 if got.partial else None
        return Stacked(counts, stacked, values, got.partial, searched_to,
                       {v: totals[v] for v in values})
