"""Searches: a parsed query and a time range -> SphinxQL over the day indexes -> lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson

from alco.config import Config, IndexConfig
from alco.index import sphinxql
from alco.index.schema import (
    day_index,
    day_of_us,
    id_ms,
    id_range_of_us,
    make_id,
    value_text,
)
from alco.index.sphinxconf import retention_days
from alco.search import language as qlang
from alco.search.budget import MAX_QUERIES, ReadBudget
from alco.search.compile import (
    TOP_ID,
    Compiled,
    SearchError,
    compile_query,
    compile_text,
    where_ids,
)
from alco.search.counting import Counts
from alco.search.dictionary import DAY_MS, LOOKUP_ROOM, PROBES, Lookups
from alco.search.highlight import Piece, pieces_many
from alco.search.histograms import FanOut, Histograms
from alco.search.starts import Start, Starts
from alco.search.texts import Texts
from alco.search.windows import Windows, start_ms, to_minute_edge

MAX_LIMIT = 1000
SCAN_ROWS = 4000  # rows one query reads for a query with patterns (checked in Python)
FIRST_QUERY_MS = 10_000  # searchd's limit on a read's first query, whatever budget is left


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
class Read:
    """Rows of a read, in the direction read, and how far it got: every id from the start
    of the range to ``edge`` was searched; ``done`` when that is the end of the range,
    ``partial`` when the time budget stopped the read before."""

    rows: list[dict]
    edge: int
    done: bool = False
    partial: bool = False
    matched: int = 0  # rows that matched (with a sink: passed to it, not kept)


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


LINE_COLUMNS = ("id", "ts", "logline", "js", "meta")


def line_columns(c: Compiled, columns: tuple[str, ...] = LINE_COLUMNS) -> tuple[list[str], list]:
    """The SELECT list of a line (or of ``columns`` of it), ``c``'s filters, and its
    parameters."""
    return [*columns, *c.select], list(c.select_params)


def scan_columns(c: Compiled, fields: bool) -> tuple[str, ...]:
    """What a scan reads of each candidate: what its checks look at (the message, the fields
    when a check is on one or ``fields`` asks for them) besides id and time.  searchd turns
    every JSON attribute it returns into text: a scan of a pattern without a literal reads
    and drops thousands of rows for each it keeps, so it leaves them out."""
    return ("id", "ts", "logline", *(("js",) if fields or c.checks.on_fields() else ()))


def _line(row: dict, hl: list[Piece] | None) -> Line:
    meta = row.get("meta")
    marks = orjson.loads(meta) if meta else {}
    if row.get("missing_text"):
        marks["missing_text"] = True
    return Line(int(row["id"]), int(row["ts"]), row["logline"], row_fields(row), hl, marks)


def passing(c: Compiled, rows: list[dict]) -> list[dict]:
    """The rows whose message (and fields, when a check is on one) pass ``c``'s checks, each
    pattern checked over them all at once (alco.search.checks.LineChecks.passes_many)."""
    passed = c.checks.passes_many([r["logline"] for r in rows],
                                  [row_fields(r) for r in rows] if c.checks.on_fields()
                                  else None)
    return [r for r, ok in zip(rows, passed, strict=True) if ok]


def row_fields(row: dict) -> dict:
    js = row.get("js")
    return orjson.loads(js) if js else {}


class Searcher(Windows, Starts, Lookups, Counts, Histograms):
    """Runs queries of one configuration against searchd: reads of lines (here), their
    windows (alco.search.windows) and start (alco.search.starts), dictionary lookups
    (alco.search.dictionary), counts (alco.search.counting) and histograms
    (alco.search.histograms)."""

    def __init__(self, config: Config, sphinx: sphinxql.Sphinx, today: date | None = None,
                 newest: Callable[[str], float | None] | None = None,
                 fan_out: FanOut | None = None, parts: int = 1) -> None:
        self.config = config
        self.sphinx = sphinx
        self._today = today
        self._newest = newest  # index name -> timestamp (s) of its newest line, if known
        self._fan_out = fan_out  # runs fn(connection, item) for items at once
        self._parts = parts
        self.budget = ReadBudget(config.web.time_budget, MAX_QUERIES)
        self.texts = Texts(sphinx, config.sphinx.data_dir)
        self._probes_left = PROBES

    def start_request(self) -> None:
        """A new request: the whole query and time budget again (``lines``, ``context`` and
        ``histogram`` start one; a caller of ``select`` that reuses the searcher does)."""
        self.budget.restart()
        self._probes_left = PROBES

    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    def day_indexes(self, ix: IndexConfig, from_us: int | None, to_us: int | None) -> list[str]:
        """The day indexes that can hold lines of [from_us, to_us] (only those: FROM stays
        short)."""
        today = self.today()
        days = retention_days(ix, today)
        lo = day_of_us(from_us) if from_us is not None else days[0]
        hi = day_of_us(to_us) if to_us is not None else days[-1]
        chosen = [d for d in days if lo <= d <= hi]
        if hi > days[-1] and today not in chosen:
            chosen.append(today)  # lines dated after tomorrow are stored in today's index
        return [day_index(ix.name, d) for d in sorted(chosen)]

    def indexes_for_ids(self, ix: IndexConfig, lo: int, hi: int) -> list[str]:
        from_us = id_ms(lo) * 1000 if lo > 0 else None
        to_us = id_ms(hi) * 1000 + 999 if hi < TOP_ID else None
        return self.day_indexes(ix, from_us, to_us)

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
        got = self.read(ix, c, lo, hi, upward, lq.limit + 1, enough=lq.limit)
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
        windows from the end we start at (``_windows``), a second wide first, and stop when
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
        open_top = self._open_top(ix) if hi == TOP_ID and not upward else None
        scan = bool(c.checks)
        columns = scan_columns(c, fields) if scan else LINE_COLUMNS
        # lines a scan kept get their fields in one query at the end: once it keeps one, it
        # leaves that query to itself
        complete = columns != LINE_COLUMNS and sink is None
        most = max(1, self.budget.queries_left() - reserve)
        left = lambda: self.budget.queries_left() - reserve - (complete and bool(out.rows))  # noqa: E731
        # where the words are rare, the first window takes the rest of its day; else it is
        # sized by the rate the dictionary gives (alco.search.starts)
        start = Start()
        at = ((lo if lo > 0 else self._first_id(ix)) if upward
              else hi if hi < TOP_ID else make_id(start_ms(open_top), 0, 0))
        if not scan and not c.select and c.keywords and left() >= LOOKUP_ROOM:
            start = self._first_window(ix, c, at, upward, n)
        elif not c.match and left() >= LOOKUP_ROOM:
            start = self._first_lines(ix, at, upward, None if scan else n)
        # (lines in the first minute: no quiet spell to skip first)
        windows = self._windows(ix, lo, hi, upward, SCAN_ROWS if scan else n, open_top, most,
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
            if not first and (self.budget.out_of_time()
                              or (scan and left() <= 0)):
                out.partial = True
                break
            want = n - out.matched
            limit = want
            if scan:  # as many candidates as should hold what is missing, at the rate so far
                rate = kept_rows / read_rows if read_rows else 1.0
                limit = min(SCAN_ROWS, max(want, int(want * 1.25 / max(rate, 1e-4)) + 1))
            # With hour tokens every window is covered (a wide one costs what it holds, not
            # its whole day)...
            hours = self.hours(self.indexes_for_ids(ix, win_lo, win_hi))
            rare = not widened and not first and sent[0] == 0 and out.matched == 0 \
                and c.match and c.keywords and not c.select
            if first:  # (a quiet spell skipped may have moved it to another day)
                rare = start.rare and start.day == id_ms(win_hi if upward else win_lo) // DAY_MS
            elif rare:
                rare = not hours or self._rare(ix, c, *last, start)
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
            if in_store:  # a scan of every line: the store's blocks, not searchd's rows
                self.budget.spend()
                got = self.texts.scan(in_store, win_lo, win_hi, upward, limit)
            else:
                got = self.select_range(ix, c, win_lo, win_hi, upward, limit, cover=cover,
                                        open_top=open_top,
                                        min_ms=FIRST_QUERY_MS if first else 1, columns=columns)
            last = (win_lo, win_hi)
            if not first and self.budget.out_of_time():
                # searchd may have cut the query short (max_query_time): its rows need not
                # be the first ones of the window
                out.partial = True
                break
            reached = win_hi if upward else win_lo
            if len(got) >= limit:
                reached = int(got[-1]["id"])
            kept = got
            if scan:
                kept = passing(c, got)
                if in_store:
                    kept = self.texts.in_searchd(in_store, kept)
                read_rows, kept_rows = read_rows + len(got), kept_rows + len(kept)
            if len(kept) >= want:
                kept = kept[:want]
                reached = int(kept[-1]["id"])
            out.edge = reached
            out.matched += len(kept)
            if sink is not None:
                sink(kept)
            else:
                out.rows += kept
            sent = (len(got), reached)
        out.done = out.edge == (hi if upward else lo)
        if out.rows and complete:
            self._complete(ix, out.rows, ("meta",) if "js" in columns else ("js", "meta"))
        if out.partial:
            self.sphinx.note_warnings([self.budget.message()])
        return out

    def _store_scan(self, c: Compiled, fields: bool, lo: int, hi: int,
                    ix: IndexConfig) -> list[str]:
        """The day indexes of [lo, hi] when a scan of them reads the line store: every line
        is a candidate (no MATCH, no filter), no check looks at the fields, and every day
        keeps its text in the store; else nothing."""
        if c.match or c.select or fields or c.checks.on_fields():
            return []
        indexes = self.indexes_for_ids(ix, lo, hi)
        return indexes if self.texts.scannable(indexes) else []

    def select_range(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
                     n: int, cover: bool = True, open_top: tuple[int, int] | None = None,
                     min_ms: int = 1, columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """One query: rows with ids in [lo, hi] matching ``c``, the first ``n`` read (time
        tokens as alco.search.compile.where_ids says), with ``columns``."""
        indexes = self.indexes_for_ids(ix, lo, hi)
        if not indexes or lo > hi or n <= 0:
            return []
        c = self.for_indexes(c, indexes)
        columns, fill = self.texts.columns(indexes, columns)
        cols, params = line_columns(c, columns)
        where, where_params = where_ids(c, lo, hi, cover, open_top, self.hours(indexes),
                                       wide=True)
        params += where_params
        sql = (f"SELECT {', '.join(cols)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} ORDER BY id {'ASC' if upward else 'DESC'} "
               f"LIMIT {n} OPTION max_matches={max(n, 1000)}, ranker=none, "
               f"max_query_time={max(min_ms, self.budget.ms_left())}")
        rows = self._query(sql, params)
        if fill:
            self.texts.fill(ix.name, indexes, rows)
        return rows

    def _complete(self, ix: IndexConfig, rows: list[dict], missing: tuple[str, ...]) -> None:
        """Give rows a scan read without them the ``missing`` columns (their fields and
        marks): one query of at most MAX_LIMIT + 1 ids (``read`` keeps it within the query
        budget: once a scan keeps a line, it stops one query early)."""
        ids = sorted(int(r["id"]) for r in rows)
        found = {int(r["id"]): r for r in self._select_ids(ix, Compiled(), ids,
                                                            ("id", *missing))}
        for row in rows:
            more = found.get(int(row["id"]), {})
            for column in missing:
                row[column] = more.get(column)

    def _select_ids(self, ix: IndexConfig, c: Compiled, ids: list[int],
                    columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """The rows among ``ids`` (sorted; at most MAX_LIMIT + 1) that ``c``'s MATCH and
        filters pass, oldest first, with ``columns``: one query."""
        indexes = self.indexes_for_ids(ix, ids[0], ids[-1]) if ids else []
        if not indexes:
            return []
        c = self.for_indexes(c, indexes)
        columns, fill = self.texts.columns(indexes, columns)
        cols, params = line_columns(c, columns)
        where, where_params = where_ids(c, ids[0], ids[-1], cover=False)
        marks = ", ".join(["%s"] * len(ids))
        sql = (f"SELECT {', '.join(cols)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} AND id IN ({marks}) ORDER BY id ASC LIMIT {len(ids)} "
               f"OPTION max_matches={max(len(ids), 1000)}, ranker=none")
        rows = self._query(sql, [*params, *where_params, *ids])
        if fill:
            self.texts.fill(ix.name, indexes, rows)
        return rows

    def _query(self, sql: str, params: list,
               sx: sphinxql.Sphinx | None = None) -> list[dict]:
        self.budget.spend()
        try:
            return (sx or self.sphinx).query(sql, params)
        except sphinxql.SphinxQueryError as exc:
            raise SearchError(f"search failed: {exc.message}") from None

    def row_lines(self, rows: list[dict], c: Compiled | None = None) -> list[Line]:
        """Rows as lines; with ``c``, their terms highlighted (each term over all at once)."""
        if c is None or not c.terms:
            return [_line(row, None) for row in rows]
        found = pieces_many([row["logline"] for row in rows], c.terms)
        return [_line(row, hl) for row, hl in zip(rows, found, strict=True)]

    def lines_by_ids(self, ix: IndexConfig, c: Compiled, ids: list[int]) -> list[Line]:
        """The lines among ``ids`` that match ``c``, oldest first (one query: at most
        MAX_LIMIT ids)."""
        rows = self._select_ids(ix, c, sorted(set(ids))[:MAX_LIMIT])
        return self.row_lines(passing(c, rows) if c.checks else rows, c)

    def line(self, ix: IndexConfig, doc_id: int) -> Line | None:
        rows = self.select_range(ix, Compiled(), doc_id, doc_id, True, 1)
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
        older = (self.select(ix, c, 0, doc_id - 1, False, before, reserve=1 if after else 0)
                 if before else [])
        newer = self.select(ix, c, doc_id + 1, TOP_ID, True, after) if after else []
        return Context(anchor, self.row_lines(older[::-1]), self.row_lines(newer))


