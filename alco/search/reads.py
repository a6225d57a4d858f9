"""Reads of rows: a compiled query over an id range of the day indexes, in windows from the end
read first (alco.search.windows), started from the dictionary (alco.search.starts), within the
request's budget; a query with patterns reads candidates and checks them (a part of
alco.search.reader.Searcher)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from alco.config import IndexConfig
from alco.index import sphinxql
from alco.index.ids import DAY_MS
from alco.index.schema import id_ms, make_id
from alco.search.compile import TOP_ID, Compiled, every_line, where_ids
from alco.search.context import ReadContext
from alco.search.dictionary import LOOKUP_ROOM, Lookups
from alco.search.starts import Start, Starts
from alco.search.texts import Texts
from alco.search.windows import Windows, start_ms, to_minute_edge

SCAN_ROWS = 4000  # rows one query reads for a query with patterns (checked in Python)
FIRST_QUERY_MS = 10_000  # searchd's limit on a read's first query, whatever budget is left
COMMON_WIDEN = 4  # a read of a common value (no words) starts as if for this many more lines


@dataclass
class Read:
    """Rows of a read, in the direction read, and how far it got: every id from the start
    of the range to ``edge`` was searched; ``done`` when that is the end of the range,
    ``partial`` when the time budget stopped the read before."""

    rows: list[dict]
    edge: int
    done: bool = False
    partial: bool = False
    matched: int = 0  # rows that matched (with a sink: passed to it, not kept)


LINE_COLUMNS = ("id", "ts", "logline", "js", "meta")


def scan_columns(c: Compiled, fields: bool) -> tuple[str, ...]:
    """What a scan reads of each candidate: what its checks look at (the message, the fields
    when a check is on one or ``fields`` asks for them) besides id and time.  searchd turns
    every JSON attribute it returns into text: a scan of a pattern without a literal reads
    and drops thousands of rows for each it keeps, so it leaves them out."""
    return ("id", "ts", "logline", *(("js",) if fields or c.checks.on_fields() else ()))


def passing(c: Compiled, rows: list[dict]) -> list[dict]:
    """The rows whose message (and fields, when a check is on one) pass ``c``'s checks, each
    pattern checked over them all at once (alco.search.checks.LineChecks.passes_many)."""
    passed = c.checks.passes_many([r["logline"] for r in rows],
                                  [row_fields(r) for r in rows] if c.checks.on_fields()
                                  else None)
    return [r for r, ok in zip(rows, passed, strict=True) if ok]


def row_fields(row: dict) -> dict:
    """A row's fields: from its ``js`` attribute, or filled in from the line store."""
    js = row.get("js")
    if isinstance(js, dict):
        return js
    return orjson.loads(js) if js else {}


class Reads:
    """Reads of rows (a part of alco.search.reader.Searcher): on the shared ``ctx``, with what
    ``lookups`` knows of the day indexes, each read started by ``starts`` and cut in windows by
    ``windows``; ``texts`` fills in the messages a day keeps in the line store."""

    def __init__(self, ctx: ReadContext, lookups: Lookups, starts: Starts, windows: Windows,
                 texts: Texts) -> None:
        self.ctx = ctx
        self.lookups = lookups
        self.starts = starts
        self.windows = windows
        self.texts = texts

    def select(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
               n: int, reserve: int = 0) -> list[dict]:
        """Rows with ids in [lo, hi] matching ``c``, the first ``n`` in the direction read
        (fewer when the time budget ran out: see ``read``)."""
        return self.read(ix, c, lo, hi, upward, n, reserve=reserve).rows

    def read(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool, n: int,
             enough: int | None = None, reserve: int = 0,
             sink: Callable[[list[dict]], None] | None = None, fields: bool = False) -> Read:
        """The first ``n`` rows with ids in [lo, hi] matching ``c`` in the direction read,
        stopping once ``enough`` (default ``n``) are found.

        Sphinx collects every match of a query before it sorts, so a query costs as much as
        its id range holds matches, however small its LIMIT.  Ids are ordered by time: read
        windows from the end we start at (Windows.windows), a second wide first, and stop when
        the page is full.  The request's query budget, less ``reserve`` queries its caller
        still needs, bounds the windows; its time budget may stop the read (``partial``).

        A query with patterns reads SCAN_ROWS candidates a query (what the index narrowed,
        or every line) and keeps those that pass its checks; a window with more candidates
        goes on from the last one read.  With a ``sink``, the rows that match are passed to
        it instead of kept: with patterns they hold id, ts, the message and (with ``fields``)
        the fields; the rows kept are whole lines."""
        out = Read([], lo - 1 if upward else hi + 1)
        if lo > hi:
            out.done = True
            return out
        enough = n if enough is None else min(enough, n)
        # Only a newest-first read trusts the writers' report of the newest line: one reading
        # upwards from a cursor (the live tail, the page's newer lines) must not step over a
        # late line.
        open_top = self.ctx.open_top(ix) if hi == TOP_ID and not upward else None
        c = self.lookups.for_range(ix, c, lo, hi)
        scan = bool(c.checks)
        columns = scan_columns(c, fields) if scan else LINE_COLUMNS
        # lines a scan kept get their fields in one query at the end: once it keeps one, it
        # leaves that query to itself
        complete = columns != LINE_COLUMNS and sink is None
        most = max(1, self.ctx.budget.queries_left() - reserve)
        left = lambda: self.ctx.budget.queries_left() - reserve - (complete and bool(out.rows))  # noqa: E731
        # where the words are rare, the first window takes the rest of its day; else it is
        # sized by the rate the dictionary gives (alco.search.starts)
        start = Start()
        at = ((lo if lo > 0 else self.ctx.first_id(ix)) if upward
              else hi if hi < TOP_ID else make_id(start_ms(open_top), 0, 0))
        if not scan and c.keywords and left() >= LOOKUP_ROOM:
            start = self.starts.first_window(ix, c, at, upward, n)
        elif not c.match and left() >= LOOKUP_ROOM:
            # (a filter on a common value's hash: on a tenth of the lines or more)
            start = self.starts.first_lines(ix, at, upward, None if scan else
                                            n * COMMON_WIDEN if c.attrs else n)
        # (lines in the first minute: no quiet spell to skip first)
        windows = self.windows.windows(ix, lo, hi, upward, SCAN_ROWS if scan else n, open_top, most,
                                scan, left, start.width, skip=not start.busy,
                                known=start.minutes)
        sent: tuple[int, int] | None = None
        read_rows = kept_rows = 0  # with patterns: the candidates read, and those that passed
        widened = False  # whether a window took the rest of its day (once a read)
        last = (lo, hi)  # the window read last
        while out.matched < enough:
            try:
                win_lo, win_hi = windows.send(sent)
            except StopIteration:
                break
            # the first query of a read always runs (whatever budget is left), so that
            # following the cursors always gets on
            first = sent is None
            if not first and (self.ctx.budget.out_of_time()
                              or (scan and left() <= 0)):
                out.partial = True
                break
            want = n - out.matched
            limit = min(want, SCAN_ROWS)  # (a read of every match, counted by a sink: a
            # window's rows a query at a time)
            if scan:  # as many candidates as should hold what is missing, at the rate so far
                rate = kept_rows / read_rows if read_rows else 1.0
                limit = min(SCAN_ROWS, max(want, int(want * 1.25 / max(rate, 1e-4)) + 1))
            # With hour tokens every window is covered (a wide one costs what it holds, not
            # its whole day)...
            hours = self.lookups.hours(self.ctx.indexes_for_ids(ix, win_lo, win_hi))
            rare = not widened and not first and sent[0] == 0 and out.matched == 0 \
                and c.match and c.keywords
            if first:  # (a quiet spell skipped may have moved it to another day)
                rare = start.rare and start.day == id_ms(win_hi if upward else win_lo) // DAY_MS
            elif rare:
                rare = not hours or self.starts.rare(ix, c, *last, start)
            if rare:
                # ... but a query whose words are rare in its day (the dictionary says) takes
                # the rest of that day at once (at first, or after an empty first window,
                # when the lookup was not made): a window without
                # time tokens decodes the day's few matches, whatever its width (not with
                # filters on the JSON attribute, compared for every match).
                widened = hours = True
                day_ms = id_ms(win_hi if upward else win_lo) // DAY_MS * DAY_MS
                if upward:
                    win_hi = min(hi, max(win_hi, make_id(day_ms + DAY_MS, 0, 0) - 1))
                else:
                    win_lo = max(lo, min(win_lo, make_id(day_ms, 0, 0)))
            # time tokens pay off for frequent matches, not after a window without any, nor
            # for a window holding many more lines than its words are in (Start.tokens)
            cover = (hours and not widened) or (sent[0] != 0 if sent else not widened)
            cover = cover and start.tokens(win_lo, win_hi)
            if cover:  # the far edge's minute token is decoded whole: read the minute whole
                win_lo, win_hi = to_minute_edge(win_lo, win_hi, lo, hi, upward)
            in_store = scan and self._store_scan(c, fields, win_lo, win_hi, ix)
            n_read, last_read = 0, None  # a scan of the store: lines read, the last one's id
            if in_store:  # a scan of every line: the store's blocks, checked as read
                self.ctx.budget.spend()
                got, n_read, last_read = self.texts.scan_matching(
                    in_store, win_lo, win_hi, upward, limit, c.checks.passes_many,
                    "js" in columns)
            else:
                got = self.select_range(ix, c, win_lo, win_hi, upward, limit, cover=cover,
                                        open_top=open_top,
                                        min_ms=FIRST_QUERY_MS if first else 1, columns=columns)
            last = (win_lo, win_hi)
            if not first and self.ctx.budget.out_of_time():
                # searchd may have cut the query short (max_query_time): its rows need not
                # be the first ones of the window
                out.partial = True
                break
            reached = win_hi if upward else win_lo
            if in_store:
                reached = reached if last_read is None else last_read
            else:
                n_read = len(got)
                if n_read >= limit:
                    reached = int(got[-1]["id"])
            kept = got
            if scan:
                # (the store's lines passed their checks as they were read)
                kept = self.texts.in_searchd(in_store, got) if in_store else passing(c, got)
                read_rows, kept_rows = read_rows + n_read, kept_rows + len(kept)
            if len(kept) >= want:
                kept = kept[:want]
                reached = int(kept[-1]["id"])
            out.edge = reached
            out.matched += len(kept)
            if sink is not None:
                sink(kept)
            else:
                out.rows += kept
            sent = (n_read, reached)
        out.done = out.edge == (hi if upward else lo)
        if out.rows and complete:
            self._complete(ix, out.rows, ("meta",) if "js" in columns else ("js", "meta"))
        if out.partial:
            self.ctx.sphinx.note_warnings([self.ctx.budget.message()])
        return out

    def _store_scan(self, c: Compiled, fields: bool, lo: int, hi: int,
                    ix: IndexConfig) -> list[str]:
        """The day indexes of [lo, hi] when a scan of them reads the line store: every line
        is a candidate (no MATCH, no filter), and every day keeps its text in the store (and
        its fields, when the checks look at them or the caller wants them); else nothing."""
        if not every_line(c):
            return []
        indexes = self.ctx.indexes_for_ids(ix, lo, hi)
        with_fields = fields or c.checks.on_fields()
        return indexes if self.texts.scannable(indexes, with_fields) else []

    def select_range(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
                     n: int, cover: bool = True, open_top: tuple[int, int] | None = None,
                     min_ms: int = 1, columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """One query: rows with ids in [lo, hi] matching ``c``, the first ``n`` read (time
        tokens as alco.search.compile.where_ids says), with ``columns``."""
        indexes = self.ctx.indexes_for_ids(ix, lo, hi)
        if not indexes or lo > hi or n <= 0:
            return []
        c = self.lookups.for_indexes(c, indexes)
        columns, fill = self.texts.columns(indexes, columns)
        where, params = where_ids(c, lo, hi, cover, open_top, self.lookups.hours(indexes),
                                  wide=True)
        sql = (f"SELECT {', '.join(columns)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} ORDER BY id {'ASC' if upward else 'DESC'} "
               f"LIMIT {n} OPTION max_matches={max(n, 1000)}, ranker=none, "
               f"max_query_time={max(min_ms, self.ctx.budget.ms_left())}")
        rows = self.ctx.query(sql, params)
        self.texts.fill(ix.name, indexes, rows, fill)
        return rows

    def _complete(self, ix: IndexConfig, rows: list[dict], missing: tuple[str, ...]) -> None:
        """Give rows a scan read without them the ``missing`` columns (their fields and
        marks): one query of at most MAX_LIMIT + 1 ids (alco.search.reader; ``read`` keeps it
        within the query budget: once a scan keeps a line, it stops one query early)."""
        ids = sorted(int(r["id"]) for r in rows)
        indexes = self.ctx.indexes_for_ids(ix, ids[0], ids[-1])
        columns, fill = self.texts.columns(indexes, ("id", *missing))
        if columns == ("id",):  # (all of them in the line store: no query of searchd)
            self.texts.fill(ix.name, indexes, rows, fill)
            return
        found = {int(r["id"]): r for r in self.select_ids(ix, Compiled(), ids,
                                                           ("id", *missing))}
        for row in rows:
            more = found.get(int(row["id"]), {})
            for column in missing:
                row[column] = more.get(column)

    def select_ids(self, ix: IndexConfig, c: Compiled, ids: list[int],
                   columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """The rows among ``ids`` (sorted; at most MAX_LIMIT + 1) that ``c``'s MATCH and
        filters pass, oldest first, with ``columns``: one query."""
        indexes = self.ctx.indexes_for_ids(ix, ids[0], ids[-1]) if ids else []
        if not indexes:
            return []
        c = self.lookups.for_indexes(c, indexes)
        columns, fill = self.texts.columns(indexes, columns)
        where, params = where_ids(c, ids[0], ids[-1], cover=False)
        marks = ", ".join(["%s"] * len(ids))
        sql = (f"SELECT {', '.join(columns)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} AND id IN ({marks}) ORDER BY id ASC LIMIT {len(ids)} "
               f"OPTION max_matches={max(len(ids), 1000)}, ranker=none")
        rows = self.ctx.query(sql, [*params, *ids])
        self.texts.fill(ix.name, indexes, rows, fill)
        return rows
