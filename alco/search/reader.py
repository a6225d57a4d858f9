"""Searches: a parsed query and a time range -> SphinxQL over the day indexes -> lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import orjson

from alco.config import Config, IndexConfig
from alco.index import sphinxql
from alco.index.schema import id_ms, id_range_of_us, value_text
from alco.search import language as qlang
from alco.search.budget import ReadBudget
from alco.search.compile import (
    TOP_ID,
    Compiled,
    SearchError,
    compile_query,
    compile_text,
)
from alco.search.context import FanOut, ReadContext
from alco.search.counting import MAX_COUNT, Counts
from alco.search.dictionary import Lookups
from alco.search.highlight import Piece, pieces_many
from alco.search.histograms import Histograms
from alco.search.reads import LINE_COLUMNS, Read, Reads, passing, row_fields
from alco.search.starts import Starts
from alco.search.texts import Texts, shard_lines
from alco.search.windows import Windows

MAX_LIMIT = 1000


@dataclass(frozen=True)
class LineQuery:
    q: str = ""
    from_us: int | None = None
    to_us: int | None = None
    after: int | None = None
    before: int | None = None
    limit: int = 100
    order: str = "desc"


@dataclass
class Line:
    id: int
    ts_us: int
    message: str
    fields: dict
    matched: list[Piece] | None  # the message in pieces; None: the query has no words
    marks: dict = field(default_factory=dict)  # ALCO's own: what it repaired on the way in


@dataclass
class Page:
    lines: list[Line]
    next: str | None
    prev: str | None
    partial: bool = False  # the time budget stopped the read: ``next`` goes on from there
    searched_to_us: int | None = None  # partial: the time the read got to


@dataclass
class Context:
    """A line and the lines before and after it, oldest first."""

    line: Line
    before: list[Line]
    after: list[Line]


def same_as(ix: IndexConfig, anchor: Line, names: tuple[str, ...]) -> Compiled:
    """A query for the lines whose fields ``names`` equal the anchor line's."""
    filters = tuple(
        qlang.FieldFilter(name, (value_text(anchor.fields[name]),), False) for name in names
        if anchor.fields.get(name) not in (None, "")
        and not isinstance(anchor.fields[name], dict | list))
    return compile_query(ix, qlang.Query(filters=filters))


def cursor_id(doc_id: int) -> int:
    """An id as a cursor the API takes (0 .. TOP_ID)."""
    return min(max(doc_id, 0), TOP_ID)


def _line(row: dict, hl: list[Piece] | None) -> Line:
    meta = row.get("meta")  # (the marks: JSON from searchd, a dict from the line store)
    marks = dict(meta) if isinstance(meta, dict) else \
        orjson.loads(meta) if meta and meta not in ("{}", b"{}") else {}
    if row.get("missing_text"):
        marks["missing_text"] = True
    return Line(int(row["id"]), int(row["ts"]), row["logline"], row_fields(row), hl, marks)



class Searcher:
    """Runs queries of one configuration against searchd: pages of lines and the lines around
    one (here), from its parts, each given what it needs when made:

    - ``ctx`` (alco.search.context.ReadContext): the configuration, the connection, the
      request's budget, today, the newest line reported, the search threads; shared by all;
    - ``lookups`` (alco.search.dictionary.Lookups): what the day indexes' dictionaries say;
    - ``starts`` (alco.search.starts.Starts) and ``windows`` (alco.search.windows.Windows):
      how a read starts and goes through its range, on ``lookups``;
    - ``reads`` (alco.search.reads.Reads): reads of rows, on ``starts`` and ``windows``;
    - ``counts`` (alco.search.counting.Counts) and ``histograms``
      (alco.search.histograms.Histograms): counting, on ``reads`` for queries with patterns.
    """

    def __init__(self, config: Config, sphinx: sphinxql.Sphinx, today: date | None = None,
                 newest: Callable[[str], float | None] | None = None,
                 fan_out: FanOut | None = None, parts: int = 1) -> None:
        self.config = config
        self.sphinx = sphinx
        self.ctx = ReadContext(config, sphinx, today, newest, fan_out, parts)
        texts = Texts(sphinx, config.sphinx.data_dir, shard_lines(config))
        self.lookups = Lookups(self.ctx, texts)
        self.starts = Starts(self.ctx, self.lookups)
        self.windows = Windows(self.ctx, self.lookups)
        self.reads = Reads(self.ctx, self.lookups, self.starts, self.windows, texts)
        self.counts = Counts(self.ctx, self.lookups, self.reads)
        self.histograms = Histograms(self.ctx, self.lookups, self.reads)

    @property
    def budget(self) -> ReadBudget:
        """The current request's budget (the parts' shared one)."""
        return self.ctx.budget

    @budget.setter
    def budget(self, budget: ReadBudget) -> None:
        self.ctx.budget = budget

    def start_request(self) -> None:
        """A new request: the whole query and time budget again (``lines``, ``context`` and
        ``histogram`` start one; a caller of ``select`` that reuses the searcher does)."""
        self.ctx.budget.restart()
        self.lookups.start_request()

    def today(self) -> date:
        return self.ctx.today()

    def day_indexes(self, ix: IndexConfig, from_us: int | None, to_us: int | None) -> list[str]:
        """The day indexes that can hold lines of [from_us, to_us]."""
        return self.ctx.day_indexes(ix, from_us, to_us)

    def probe(self, ix: IndexConfig) -> None:
        """Probe every retained day index of ``ix`` for hour tokens now (Lookups.probe)."""
        self.lookups.probe(ix)

    def lines(self, ix: IndexConfig, lq: LineQuery, known: set[str] | None = None) -> Page:
        if not 1 <= lq.limit <= MAX_LIMIT:
            raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
        if lq.order not in ("asc", "desc"):
            raise SearchError("order must be asc or desc")
        c = compile_text(ix, lq.q, known)
        lo, hi = id_range_of_us(lq.from_us, lq.to_us)
        if lq.after is not None:
            lo = max(lo, lq.after + 1)
        if lq.before is not None:
            hi = min(hi, lq.before - 1)
        # Which end of the range to read from: after a cursor "after", or oldest-first without
        # a cursor, read upwards; otherwise read downwards from the newest.
        upward = lq.after is not None or (lq.before is None and lq.order == "asc")
        # A full page stops there: it does not hunt for one more row to know whether there
        # are more (its ``next`` may lead to an empty page).
        self.start_request()
        got = self.reads.read(ix, c, lo, hi, upward, lq.limit + 1, enough=lq.limit)
        more = len(got.rows) > lq.limit or not got.done
        lines = self.row_lines(got.rows[: lq.limit], c)
        return self._page(lines, more, upward, lq, got)

    def _page(self, lines: list[Line], more: bool, upward: bool, lq: LineQuery,
              got: Read) -> Page:
        """Order the lines for display; ``next`` continues in the page's order, ``prev`` goes
        the other way.  A direction we did not read is assumed to hold more lines; a read the
        time budget stopped goes on from where it stopped."""
        searched_to = None
        if got.partial:
            ahead = str(cursor_id(got.edge))
            searched_to = id_ms(cursor_id(got.edge)) * 1000
        else:
            ahead = str(lines[-1].id) if lines and more else None
        behind = str(lines[0].id) if lines else None
        if upward == (lq.order == "asc"):
            return Page(lines, ahead, behind, got.partial, searched_to)
        lines.reverse()
        return Page(lines, behind, ahead, got.partial, searched_to)

    def read(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool, n: int,
             enough: int | None = None, reserve: int = 0,
             sink: Callable[[list[dict]], None] | None = None, fields: bool = False) -> Read:
        """The first ``n`` rows with ids in [lo, hi] matching ``c`` in the direction read
        (Reads.read)."""
        return self.reads.read(ix, c, lo, hi, upward, n, enough, reserve, sink, fields)

    def select(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
               n: int, reserve: int = 0) -> list[dict]:
        """Rows with ids in [lo, hi] matching ``c``, the first ``n`` in the direction read
        (Reads.select)."""
        return self.reads.select(ix, c, lo, hi, upward, n, reserve)

    def select_range(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
                     n: int, cover: bool = True, columns: tuple[str, ...] = LINE_COLUMNS
                     ) -> list[dict]:
        """One query: rows with ids in [lo, hi] matching ``c``, the first ``n`` read, with
        ``columns`` (Reads.select_range)."""
        return self.reads.select_range(ix, c, lo, hi, upward, n, cover=cover, columns=columns)

    def row_lines(self, rows: list[dict], c: Compiled | None = None) -> list[Line]:
        """Rows as lines; with ``c``, their terms highlighted (each term over all at once)."""
        if c is None or not c.terms:
            return [_line(row, None) for row in rows]
        found = pieces_many([row["logline"] for row in rows], c.terms)
        return [_line(row, hl) for row, hl in zip(rows, found, strict=True)]

    def lines_by_ids(self, ix: IndexConfig, c: Compiled, ids: list[int]) -> list[Line]:
        """The lines among ``ids`` that match ``c``, oldest first (one query: at most
        MAX_LIMIT ids)."""
        ids = sorted(set(ids))[:MAX_LIMIT]
        if ids:
            c = self.lookups.for_range(ix, c, ids[0], ids[-1])
        rows = self.reads.select_ids(ix, c, ids)
        return self.row_lines(passing(c, rows) if c.checks else rows, c)

    def line(self, ix: IndexConfig, doc_id: int) -> Line | None:
        rows = self.reads.select_range(ix, Compiled(), doc_id, doc_id, True, 1)
        return self.row_lines(rows)[0] if rows else None

    def context(self, ix: IndexConfig, doc_id: int, before: int, after: int,
                same: tuple[str, ...] = ()) -> Context | None:
        """grep -C: the anchor line and up to ``before``/``after`` lines around it (oldest
        first), optionally only lines whose fields ``same`` equal the anchor's."""
        self.start_request()
        anchor = self.line(ix, doc_id)
        if anchor is None:
            return None
        c = same_as(ix, anchor, same)
        older = (self.reads.select(ix, c, 0, doc_id - 1, False, before,
                                   reserve=1 if after else 0) if before else [])
        newer = self.reads.select(ix, c, doc_id + 1, TOP_ID, True, after) if after else []
        return Context(anchor, self.row_lines(older[::-1]), self.row_lines(newer))

    def count(self, ix: IndexConfig, from_us: int | None, to_us: int | None,
              text: str = "", known: set[str] | None = None) -> int:
        """Lines matching ``text`` in [from_us, to_us] (Counts.count)."""
        return self.counts.count(ix, from_us, to_us, text, known)

    def count_ids(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                  cap: int = MAX_COUNT) -> int:
        """Lines matching ``c`` in [lo, hi] (Counts.count_ids)."""
        return self.counts.count_ids(ix, c, lo, hi, cap)

    def count_checked(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                      cap: int) -> tuple[int, bool, bool]:
        """(count, capped, partial) of a query with patterns (Counts.count_checked)."""
        return self.counts.count_checked(ix, c, lo, hi, cap)

    def histogram(self, ix: IndexConfig, c: Compiled, from_us: int, to_us: int,
                  bucket_us: int) -> dict[int, int]:
        """Hits per bucket start (µs) in [from_us, to_us]: a new request
        (Histograms.histogram)."""
        self.start_request()
        return self.histograms.histogram(ix, c, from_us, to_us, bucket_us)
