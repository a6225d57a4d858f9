"""Searches: a parsed query and a time range -> SphinxQL over the day indexes -> lines."""

from __future__ import annotations

import re
import time
from array import array
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

from alco.config import Config, IndexConfig
from alco.index import sphinxql
from alco.index.schema import (
    HOUR_MS,
    MINUTE_MS,
    MS_SHIFT,
    TEN_MINUTES_MS,
    day_index,
    day_of_index,
    day_of_us,
    id_ms,
    id_range_of_us,
    make_id,
    time_cover,
    unit_token,
    value_text,
)
from alco.index.sphinxconf import retention_days
from alco.search import histcache
from alco.search import language as qlang
from alco.search.budget import MAX_QUERIES, ReadBudget
from alco.search.compile import (
    COVER_HOUR_MS,
    COVER_MAX_TOKENS,
    TOP_ID,
    Compiled,
    SearchError,
    compile_query,
    compile_text,
    where_ids,
)
from alco.search.highlight import Piece, pieces, pieces_many

MAX_LIMIT = 1000
SCAN_ROWS = 4000  # rows one query reads for a query with patterns (checked in Python)
DAY_MS = 86_400_000
FIRST_WINDOW_MS = 1_000
GROWTH_EMPTY = 8  # the next window after one without hits is this many times as wide
GROWTH_MIN, GROWTH_MAX = 2, 32  # after one with hits: sized by their rate, within these
FIRST_QUERY_MS = 10_000  # searchd's limit on a read's first query, whatever budget is left
MAX_COUNT = 100_000  # matches a count of a query with patterns reads at most
MAX_FILLS = 4  # days a histogram computes the kept per-minute counts of (alco.search.histcache)
LOOKUP_ROOM = 12  # dictionary lookups only while a read has this many queries left
PROBES = 2  # day indexes a request probes for hour tokens (two or three statements each)
RARE_LINES = 20_000  # a word in at most this many lines of a day: read its day at once
TOKENS_PER_WORD = 2  # time tokens for windows of at most this many lines per word's line
FIRST_MARGIN = 1.5  # a first window sized by the rate is this much wider than it says
FIRST_MAX_MS = 6 * 3_600_000  # the widest first window the dictionary's rate may size
DENSE_MINUTE = 40_000  # a read without words matches by id range alone from a minute this full
LINES_TTL_S = 60.0  # how long a day index's line count (SHOW INDEX STATUS) is kept
_FIELD_RE = re.compile(r"@\w+")  # a MATCH() field limit
_WORD_RE = re.compile(r"[\w*]+")
_EXCLUDED_RE = re.compile(r"(?<![\w\\])[-!][\w*]+|(?<![\w\\])[-!]\([^)]*\)")
GAP_MS = 600_000  # an empty window this wide is checked for lines (a quiet spell to skip)
MAX_SKIPS = 2  # quiet spells a read skips after an empty window
SKIP_DAYS = MAX_QUERIES - LOOKUP_ROOM  # day indexes a read looks through for lines at most
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
FUTURE_MS = 60_000  # reading upwards, a window reaching this far past now takes all the rest


_INFIX: dict[str, bool] = {}  # day index -> has infixes (alco.search.literals)
# (searchd host, port, day index) -> every line has its hour tokens (schema.time_token)
_HOURS: dict[tuple[str, int, str], bool] = {}
# (searchd host, port, day index) -> (monotonic time asked, lines it held): for estimates
_LINES: dict[tuple[str, int, str], tuple[float, int]] = {}
# (searchd host, port, day index of a past day) -> every line it holds is dated in its day
_WITHIN: dict[tuple[str, int, str], bool] = {}

FanOut = Callable[[Callable[[sphinxql.Sphinx, Any], Any], list], list]


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


@dataclass(frozen=True)
class Start:
    """How a read starts, from the dictionary (Searcher._first_window): its first window's
    width (ms), the day looked up (days since the epoch), whether its words are rare there
    (read it at once), whether the minute it starts in has lines; the lines of its rarest word
    in that day and the day's lines per ms, which say whether a window is cheaper with time
    tokens (``tokens``); for a read without words, whether it starts in a minute of more than
    DENSE_MINUTE lines (``dense``: no time tokens, Searcher._first_lines)."""

    width: int = FIRST_WINDOW_MS
    day: int | None = None
    rare: bool = False
    busy: bool = False
    word_lines: int | None = None
    lines_per_ms: float = 0.0
    dense: bool = False
    # (day index, minutes, their lines) that _first_lines looked up: the rest of the start's
    # ten minutes, which _skip_empty would look up first
    minutes: tuple[str, tuple[int, ...], tuple[int, ...]] | None = None

    def tokens(self, lo: int, hi: int) -> bool:
        """Whether ids [lo, hi] are better matched with the time tokens covering them.
        The tokens' lists cost about what the lines they hold cost; without them searchd
        decodes the words' lines of the whole day: measured at 10M lines, with tokens is
        cheaper while a window holds at most about twice as many lines as the query's rarest
        word is in over the day (not known: with tokens), and never for a ``dense`` read."""
        if self.dense:
            return False
        if self.word_lines is None:
            return True
        top = min(id_ms(hi), time.time_ns() // 1_000_000)
        lines = max(0, top - id_ms(lo)) * self.lines_per_ms
        return lines <= TOKENS_PER_WORD * self.word_lines


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


def start_ms(open_top: tuple[int, int] | None) -> int:
    """Where reading newest-first starts: now, or the newest line the writers reported when
    it is older (the first window still reaches up to the top of the id range, so a line
    stored since, or dated in the future, is read too)."""
    if open_top is None:
        return time.time_ns() // 1_000_000
    newest_ms, now_ms = open_top
    return min(now_ms, newest_ms + 1)


def next_width(width: int, seen_ms: int, hits: int, missing: int, found: int | None,
               scan: bool = False) -> int:
    """The next window's width (ms): eightfold after a window without hits (``found``),
    whatever was found before; else what should hold the ``missing`` rows at the rate of hits
    seen so far (and a quarter more), from two to 32 times as wide as the last window, or
    from one time once twice as many hits were seen as are missing (the rate is known well).
    A window collects every match it holds, so one wider than the rate says it needs costs
    what it overshoots; windows that do not grow are bounded by the query budget, whose last
    window takes all that is left."""
    if not found:
        return width * GROWTH_EMPTY
    wanted = seen_ms * max(missing, 1) * 5 // (max(hits, 1) * 4) + 1
    if scan or hits >= 2 * missing:  # the rate is known well: as wide as holds the rest
        return min(max(wanted, width), width * GROWTH_MAX)
    return min(max(wanted, width * GROWTH_MIN), width * GROWTH_MAX)


def to_minute_edge(win_lo: int, win_hi: int, lo: int, hi: int, upward: bool) -> tuple[int, int]:
    """A window matched through its time tokens, widened at its far end to the edge of that
    end's minute (within [lo, hi], never past the present): searchd decodes the minute's
    token whole whatever part of it the window takes, so the rest of the minute costs
    nothing, and a page the window nearly held needs no second query for it."""
    if upward:
        end_ms = (id_ms(win_hi) // MINUTE_MS + 1) * MINUTE_MS
        if end_ms <= time.time_ns() // 1_000_000:
            win_hi = max(win_hi, min(hi, make_id(end_ms, 0, 0) - 1))
    else:
        win_lo = min(win_lo, max(lo, make_id(id_ms(win_lo) // MINUTE_MS * MINUTE_MS, 0, 0)))
    return win_lo, win_hi


def rest_of(unit: int, parts: int, skip: int, upward: bool) -> range:
    """The units from ``unit`` (past it by ``skip``) to the end of its group of ``parts``
    (a minute's ten minutes, ten minutes' hour) in the direction read."""
    first = unit // parts * parts
    return range(unit + skip, first + parts) if upward else range(unit - skip, first - 1, -1)


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
    return Line(int(row["id"]), int(row["ts"]), row["logline"], row_fields(row), hl, marks)


def row_fields(row: dict) -> dict:
    js = row.get("js")
    return orjson.loads(js) if js else {}


class Searcher:
    """Runs queries of one configuration against searchd."""

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
        on_fields = c.checks.on_fields()
        columns = scan_columns(c, fields) if scan else LINE_COLUMNS
        # lines a scan kept get their fields in one query at the end: once it keeps one, it
        # leaves that query to itself
        complete = columns != LINE_COLUMNS and sink is None
        most = max(1, self.budget.queries_left() - reserve)
        left = lambda: self.budget.queries_left() - reserve - (complete and bool(out.rows))  # noqa: E731
        # where the words are rare, the first window takes the rest of its day; else it is
        # sized by the rate the dictionary gives (alco.search.reader.Searcher._first_window)
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
            got = self.select_range(ix, c, win_lo, win_hi, upward, limit, cover=cover,
                                    open_top=open_top, min_ms=FIRST_QUERY_MS if first else 1,
                                    columns=columns)
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
                passed = c.checks.passes_many(
                    [r["logline"] for r in got], [row_fields(r) for r in got] if on_fields
                    else None)
                kept = [r for r, ok in zip(got, passed, strict=True) if ok]
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
            self._complete(ix, out.rows)
        if out.partial:
            self.sphinx.note_warnings([self.budget.message()])
        return out

    def _windows(self, ix: IndexConfig, lo: int, hi: int, upward: bool, n: int = 1,
                 open_top: tuple[int, int] | None = None, most: int = MAX_QUERIES,
                 scan: bool = False, left: Callable[[], int] | None = None,
                 first_ms: int = FIRST_WINDOW_MS, skip: bool = True,
                 known: tuple[str, tuple[int, ...], tuple[int, ...]] | None = None
                 ) -> Generator[tuple[int, int], int | tuple[int, int] | None, None]:
        """At most ``most`` disjoint id ranges covering [lo, hi], from the end read first.

        ``send()`` the number of rows the last window gave, or (rows, the id read up to) when
        it was not read to its end: the next one starts after that id and is sized by
        ``next_width`` (at least twice as wide; eightfold after an empty one; with
        ``scan``, as wide as should hold ``n`` rows).  The last
        window takes all that is left: the ``most``-th one, and the one that reaches past
        where lines can be (a minute from now upwards, the first retained day downwards), and
        the one ``left()`` says is the last query the budget allows.
        Newest-first from the top, the first window starts at ``start_ms(open_top)``; a read
        from a cursor or a range's end starts past the hours without any line next to it
        (``_skip_empty``, in day indexes with hour tokens)."""
        step = 1 if upward else -1
        if upward:
            start = lo if lo > 0 else self._first_id(ix)
            cur = lo
            if left is not None and skip:  # (a read's windows)
                nxt = self._skip_empty(ix, start, hi, True, left, known)
                if nxt != start:  # no line before: the first window starts there
                    start = cur = nxt
            stop = make_id(time.time_ns() // 1_000_000 + FUTURE_MS, 0, 0)
        else:
            start = hi if hi < TOP_ID else make_id(start_ms(open_top), 0, 0)
            cur = hi
            if hi < TOP_ID and left is not None and skip:
                nxt = self._skip_empty(ix, start, lo, False, left, known)
                if nxt != start:
                    start = cur = nxt
            stop = self._first_id(ix)
        width, seen_ms, hits, made, skips = first_ms, 0, 0, 0, 0
        found: int | None = None
        while (cur <= hi) if upward else (cur >= lo):
            edge = start + step * (seen_ms + width << MS_SHIFT) - step
            if made >= most - 1 or (edge - stop) * step >= 0 \
                    or (left is not None and left() <= 1):
                edge = hi if upward else lo
            edge = min(hi, edge) if upward else max(lo, edge)
            if (edge - cur) * step >= 0:
                sent = yield (cur, edge) if upward else (edge, cur)
                found, reached = sent if isinstance(sent, tuple) else (sent, edge)
                made += 1
                window = (cur, reached) if upward else (reached, cur)
                cur = reached + step
                hits += found or 0
                if not found and width >= GAP_MS and skips < MAX_SKIPS and left is not None \
                        and left() >= LOOKUP_ROOM and self._no_lines(ix, *window):
                    # a quiet spell, not a rare match: go on from the next minute with lines
                    skips += 1
                    nxt = self._skip_empty(ix, cur, hi if upward else lo, upward, left)
                    if nxt != cur:
                        start = cur = nxt
                        width, seen_ms, hits, found = FIRST_WINDOW_MS, 0, 0, None
                        continue
            seen_ms += width
            width = next_width(width, seen_ms, hits, n if scan else n - hits, found, scan)

    def _skip_empty(self, ix: IndexConfig, at: int, bound: int, upward: bool,
                    left: Callable[[], int],
                    known: tuple[str, tuple[int, ...], tuple[int, ...]] | None = None) -> int:
        """Where to start reading from ``at`` towards ``bound``: the start (or end) of the
        first minute holding lines, from the dictionary's counts of the time tokens (one
        ``CALL KEYWORDS`` each): the rest of ``at``'s ten minutes first, then the rest of its
        hour, then the next hours (a lookup a day index, SKIP_DAYS at most), each found one
        narrowed down to its minute; only while the read's budget has LOOKUP_ROOM queries
        left.  Lines are never deleted, so a token the dictionary counts no line under has
        none.  ``at`` itself when its own minute has lines, or none were found (a line dated
        beyond tomorrow is stored in today's index, under an hour no day's tokens name).
        ``known``: the lines of minutes already looked up (Start.minutes), not asked again."""
        at_ms = id_ms(at)
        name = _day_name(ix, at_ms // DAY_MS)
        if left() < LOOKUP_ROOM or not self.hours([name]):
            return at
        # the rest of at's ten minutes (from its minute), then of its hour (from the next
        # ten minutes): the first unit with lines
        found = None
        for size, parts, skip in ((MINUTE_MS, 10, 0), (TEN_MINUTES_MS, 6, 1)):
            units = rest_of(at_ms // size, parts, skip, upward)
            if size == MINUTE_MS and known is not None and known[0] == name \
                    and known[1] == tuple(units):
                found = next(((k, size, name) for k, n in zip(units, known[2], strict=True)
                              if n), None)
            else:
                found = self._first_with_lines(name, size, units, left)
            if found is not None or left() < LOOKUP_ROOM:
                break
        if found is None:  # the next hours, day by day
            hour = at_ms // HOUR_MS + (1 if upward else -1)
            last = id_ms(min(max(bound, 0), TOP_ID)) // HOUR_MS
            if (last - hour) * (1 if upward else -1) < 0:
                return at
            found_hour = self._first_hour(ix, hour, last, upward, left)
            if found_hour is None:
                return at
            found = (found_hour[0], HOUR_MS, found_hour[1])
        pos, size, name = found
        while size > MINUTE_MS and left() >= LOOKUP_ROOM:  # down to its first minute
            sub = TEN_MINUTES_MS if size == HOUR_MS else MINUTE_MS
            parts = size // sub
            slots = range(pos * parts, pos * parts + parts)
            narrower = self._first_with_lines(name, sub, slots if upward else slots[::-1], left)
            if narrower is None:
                break
            pos, size, name = narrower
        if pos == at_ms // size:
            return at
        return make_id(pos * size, 0, 0) if upward else make_id((pos + 1) * size, 0, 0) - 1

    def _first_with_lines(self, name: str, size: int, units: range,
                          left: Callable[[], int]) -> tuple[int, int, str] | None:
        """The first of ``units`` (of ``size`` ms: a minute, ten minutes or an hour) holding
        lines of day index ``name``: (unit, size, name), or None (one lookup)."""
        if not units or left() < LOOKUP_ROOM:
            return None
        self.budget.spend()
        counts = _keyword_docs_each(self.sphinx, [unit_token(size, k) for k in units], name)
        return next(((k, size, name) for k, n in zip(units, counts, strict=True) if n), None)

    def _rare(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, start: Start) -> bool:
        """Whether the rarest word of ``c`` is in at most RARE_LINES lines of the day of ids
        [lo, hi] (one dictionary lookup, none when the read's ``start`` looked that day up;
        True when it cannot be known: patterns' pieces of words, no budget left).  An upper
        bound of what a query ANDing its words matches; a query with alternatives or
        exclusions may be taken for rarer than it is (then its read is as before hour tokens:
        correct, only slower)."""
        day = id_ms(lo if lo > 0 else hi) // DAY_MS
        if start.word_lines is not None and start.day == day:
            return start.word_lines <= RARE_LINES
        words = needed_words(c.match)
        name = _day_name(ix, day)
        if not words or self.budget.queries_left() < LOOKUP_ROOM or not self.hours([name]):
            return True
        self.budget.spend()
        return min(_keyword_rows(self.sphinx, words, name).values(), default=0) <= RARE_LINES

    def _first_window(self, ix: IndexConfig, c: Compiled, at: int, upward: bool,
                      n: int) -> Start:
        """How a read from ``at`` starts (Start), from one dictionary lookup: the lines of
        the query's rarest word in the day and the lines of
        the minutes the first window starts in give the rate of matches near ``at`` (an upper
        bound: the words ANDed, spread over the day as the lines are).  The window is as wide
        as should hold ``n`` of them and a half more (a word's share of the lines varies; a
        window costs what it holds), and at least FIRST_WINDOW_MS (reading from now, the
        newest line may be seconds old).  A query that is not a plain AND of words, a day
        without hour tokens, quiet minutes: not rare, FIRST_WINDOW_MS."""
        words = needed_words(c.match)
        at_ms = id_ms(at)
        name = _day_name(ix, at_ms // DAY_MS)
        if not words or not self.hours([name]):
            return Start()
        step = 1 if upward else -1
        minute = at_ms // MINUTE_MS
        tokens = [unit_token(MINUTE_MS, minute), unit_token(MINUTE_MS, minute + step)]
        self.budget.spend()
        docs = _keyword_rows(self.sphinx, [*words, *tokens], name)
        counted = [v for k, v in docs.items() if k not in tokens]
        day = at_ms // DAY_MS
        busy = docs.get(tokens[0], 0) > 0
        if not counted:
            return Start(day=day, busy=busy)  # (only stopwords)
        word_lines = min(counted)
        if word_lines <= RARE_LINES:
            return Start(day=day, rare=True, busy=busy)
        near = sum(docs.get(t, 0) for t in tokens)
        day_lines = self._day_lines_count(name)
        if day_lines <= 0:
            return Start(day=day, busy=busy)
        day_ms = day * DAY_MS
        # the lines of the day so far, per ms (today's are not all there yet)
        day_rate = day_lines / max(1, min(time.time_ns() // 1_000_000, day_ms + DAY_MS) - day_ms)
        if not near:
            return Start(day=day, busy=busy, word_lines=word_lines, lines_per_ms=day_rate)
        # the minutes' span from at: the rest of at's minute and the next one
        span_ms = ((minute + 1) * MINUTE_MS - at_ms if upward
                   else at_ms - minute * MINUTE_MS + 1) + MINUTE_MS
        per_ms = min(word_lines, day_lines) / day_lines * near / span_ms
        width = int(n * FIRST_MARGIN / per_ms) + 1
        return Start(min(max(width, FIRST_WINDOW_MS), FIRST_MAX_MS), day, busy=busy,
                     word_lines=word_lines, lines_per_ms=day_rate)

    def _first_lines(self, ix: IndexConfig, at: int, upward: bool, n: int | None) -> Start:
        """How a read without words starts (Start), from one dictionary lookup of the lines
        of the minute it starts in and the next (and the rest of its ten minutes, which
        ``_skip_empty`` then takes from Start.minutes instead of asking again).  A window
        matched through time tokens costs its minutes' lines whatever part of them it takes
        (the far edge's minute token is decoded whole); in a burst a minute holds hundreds
        of thousands.  The id range alone costs the lines of the window (searchd skips the
        disk chunks' blocks by id) and a walk of the RAM chunk (bounded by rt_mem_limit:
        about 4 ms at 256M).  So a read that
        starts in a minute of more than DENSE_MINUTE lines matches by id range, its first
        window as wide as should hold ``n`` lines and a half more (None: a scan, whose
        windows are sized as it reads)."""
        name = _day_name(ix, id_ms(at) // DAY_MS)
        if not self.hours([name]):
            return Start()
        minute = id_ms(at) // MINUTE_MS
        # the rest of its ten minutes, as Searcher._skip_empty looks them up first (it takes
        # them from here), and at least the next minute
        units = rest_of(minute, 10, 0, upward)
        minutes = [*units, *([minute + (1 if upward else -1)] if len(units) == 1 else [])]
        self.budget.spend()
        counts = _keyword_docs_each(self.sphinx, [unit_token(MINUTE_MS, m) for m in minutes],
                                    name)
        known = (name, tuple(units), tuple(counts[:len(units)]))
        near, busy = max(counts[:2]), counts[0] > 0
        if near <= DENSE_MINUTE:
            return Start(busy=busy, minutes=known)
        if n is None:
            return Start(busy=busy, dense=True, minutes=known)
        width = int(n * FIRST_MARGIN * MINUTE_MS / near) + 1
        return Start(min(width, FIRST_MAX_MS), busy=busy, dense=True, minutes=known)

    def _day_lines_count(self, name: str) -> int:
        """How many lines day index ``name`` holds, as asked at most LINES_TTL_S ago (an
        estimate's denominator)."""
        key = (*_server(self.sphinx), name)
        kept = _LINES.get(key)
        now = time.monotonic()
        if kept is not None and now - kept[0] < LINES_TTL_S:
            return kept[1]
        self.budget.spend()
        lines = _documents(self.sphinx, name)
        _LINES[key] = (now, lines)
        return lines

    def _no_lines(self, ix: IndexConfig, lo: int, hi: int) -> bool:
        """Whether ids [lo, hi] hold no line at all, from the dictionary's counts of the
        time tokens covering them (one lookup a day index; False when not known)."""
        lo_ms, hi_ms = id_ms(lo), id_ms(hi)
        if hi_ms - lo_ms > 2 * DAY_MS:
            return False
        for day in range(lo_ms // DAY_MS, hi_ms // DAY_MS + 1):
            name = _day_name(ix, day)
            tokens = time_cover(max(lo_ms, day * DAY_MS), min(hi_ms, day * DAY_MS + DAY_MS - 1),
                                hours=True)
            if len(tokens) > COVER_MAX_TOKENS or not self.hours([name]):
                return False
            self.budget.spend()
            if any(_keyword_docs_each(self.sphinx, tokens, name)):
                return False
        return True

    def _first_hour(self, ix: IndexConfig, hour: int, last: int, upward: bool,
                    left: Callable[[], int]) -> tuple[int, str] | None:
        """The first hour from ``hour`` to ``last`` holding lines, and its day index."""
        step = 1 if upward else -1
        day = hour // 24
        for _ in range(SKIP_DAYS):
            name = _day_name(ix, day)
            if name not in self.indexes_for_ids(ix, make_id(day * DAY_MS, 0, 0),
                                                make_id(day * DAY_MS + DAY_MS, 0, 0) - 1) \
                    or not self.hours([name]) \
                    or left() < LOOKUP_ROOM:
                return None
            self.budget.spend()
            counts = _keyword_docs_each(self.sphinx, [
                unit_token(HOUR_MS, h) for h in range(day * 24, day * 24 + 24)], name)
            while hour // 24 == day:
                if counts[hour - day * 24]:
                    return hour, name
                if hour == last:
                    return None
                hour += step
            day += step
        return None

    def _open_top(self, ix: IndexConfig) -> tuple[int, int] | None:
        """(newest line reported by the writers, now) in ms; None when Redis does not know."""
        newest = self._newest(ix.name) if self._newest else None
        if not newest:
            return None
        return int(newest * 1000), time.time_ns() // 1_000_000

    def _first_id(self, ix: IndexConfig) -> int:
        first = retention_days(ix, self.today())[0]
        return make_id(int(datetime(first.year, first.month, first.day,
                                    tzinfo=UTC).timestamp()) * 1000, 0, 0)

    def select_range(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, upward: bool,
                     n: int, cover: bool = True, open_top: tuple[int, int] | None = None,
                     min_ms: int = 1, columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """One query: rows with ids in [lo, hi] matching ``c``, the first ``n`` read (time
        tokens as alco.search.compile.where_ids says), with ``columns``."""
        indexes = self.indexes_for_ids(ix, lo, hi)
        if not indexes or lo > hi or n <= 0:
            return []
        c = self.for_indexes(c, indexes)
        cols, params = line_columns(c, columns)
        where, where_params = where_ids(c, lo, hi, cover, open_top, self.hours(indexes),
                                       wide=True)
        params += where_params
        sql = (f"SELECT {', '.join(cols)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} ORDER BY id {'ASC' if upward else 'DESC'} "
               f"LIMIT {n} OPTION max_matches={max(n, 1000)}, ranker=none, "
               f"max_query_time={max(min_ms, self.budget.ms_left())}")
        return self._query(sql, params)

    def _complete(self, ix: IndexConfig, rows: list[dict]) -> None:
        """Give rows a scan read without them their fields and marks: one query of at most
        MAX_LIMIT + 1 ids (``read`` keeps it within the query budget: once a scan keeps a
        line, it stops one query early)."""
        ids = sorted(int(r["id"]) for r in rows)
        found = {int(r["id"]): r for r in self._select_ids(ix, Compiled(), ids,
                                                            ("id", "js", "meta"))}
        for row in rows:
            more = found.get(int(row["id"]), {})
            row["js"], row["meta"] = more.get("js"), more.get("meta")

    def _select_ids(self, ix: IndexConfig, c: Compiled, ids: list[int],
                    columns: tuple[str, ...] = LINE_COLUMNS) -> list[dict]:
        """The rows among ``ids`` (sorted; at most MAX_LIMIT + 1) that ``c``'s MATCH and
        filters pass, oldest first, with ``columns``: one query."""
        indexes = self.indexes_for_ids(ix, ids[0], ids[-1]) if ids else []
        if not indexes:
            return []
        c = self.for_indexes(c, indexes)
        cols, params = line_columns(c, columns)
        where, where_params = where_ids(c, ids[0], ids[-1], cover=False)
        marks = ", ".join(["%s"] * len(ids))
        sql = (f"SELECT {', '.join(cols)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {where} AND id IN ({marks}) ORDER BY id ASC LIMIT {len(ids)} "
               f"OPTION max_matches={max(len(ids), 1000)}, ranker=none")
        return self._query(sql, [*params, *where_params, *ids])

    def _query(self, sql: str, params: list,
               sx: sphinxql.Sphinx | None = None) -> list[dict]:
        self.budget.spend()
        try:
            return (sx or self.sphinx).query(sql, params)
        except sphinxql.SphinxQueryError as exc:
            raise SearchError(f"search failed: {exc.message}") from None

    def for_indexes(self, c: Compiled, indexes: list[str]) -> Compiled:
        """``c`` as day indexes without infixes can run it (alco.search.literals)."""
        if c.plain is None:
            return c
        return c.for_infix(all(self._infix(name) for name in indexes))

    def probe(self, ix: IndexConfig) -> None:
        """Probe every retained day index of ``ix`` for hour tokens now (a request probes
        at most PROBES; the web app probes them all when it starts).  A searchd that does not
        answer leaves them to the requests."""
        for name in self.day_indexes(ix, None, None):
            self.start_request()
            try:
                self.hours([name])
                self._within_day(name)  # (answered by the probe unless it was kept before)
            except sphinxql.SPHINX_ERRORS:
                return

    def hours(self, indexes: list[str], sx: sphinxql.Sphinx | None = None) -> bool:
        """Whether every line of these day indexes has its hour and ten-minute tokens (asked
        on ``sx``, default this searcher's connection)."""
        return all(self._hours(name, sx or self.sphinx) for name in indexes)

    def _hours(self, name: str, sx: sphinxql.Sphinx) -> bool:
        """Lines written before the hour tokens have a minute token only: the hour tokens of
        the index's day find as many lines as its minute tokens only when every line has both
        (CALL KEYWORDS counts them from the dictionary).  The answer is kept for the process's
        life: every line written since has both.  A request probes at most PROBES day indexes
        (the first requests after a start read the others with minute tokens only)."""
        key = (*_server(sx), name)
        if key in _HOURS:
            return _HOURS[key]
        if self._probes_left <= 0 or self.budget.queries_left() < LOOKUP_ROOM:
            return False  # minute tokens only for this request: probed by a later one
        self._probes_left -= 1
        first = _first_minute(name)
        if first is None:
            return False
        try:
            # every line of the day under its hour: as many as the index holds (a line dated
            # past tomorrow is stored in today's index: then compare with the minutes)
            by_hour, every = self._under_hours(sx, name, first)
            if every:
                _HOURS[key] = True
            else:
                self.budget.spend()
                _HOURS[key] = by_hour == sum(_keyword_docs_each(sx, [
                    unit_token(MINUTE_MS, m) for m in range(first, first + 1440)], name))
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                return False  # not known (yet): minute tokens only, not cached
            _HOURS[key] = False  # (a distributed index over agents cannot say)
        return _HOURS[key]

    def _infix(self, name: str) -> bool:
        """Whether a day index has infixes: CALL KEYWORDS keeps ``*`` only then (an answer
        is kept for the process's life: an index's settings are fixed when it is made)."""
        if name in _INFIX:
            return _INFIX[name]
        try:
            rows = self.sphinx.query("CALL KEYWORDS(%s, %s, 0)", ["*abc*", name])
        except sphinxql.SphinxError:
            return False  # not known (yet): narrow by whole keywords, not cached
        _INFIX[name] = bool(rows) and "*" in str(rows[0].get("tokenized", ""))
        return _INFIX[name]

    def row_line(self, row: dict, c: Compiled | None = None) -> Line:
        """A row as a line; with ``c``, its terms highlighted."""
        return _line(row, pieces(row["logline"], c.terms) if c is not None and c.terms
                     else None)

    def row_lines(self, rows: list[dict], c: Compiled | None = None) -> list[Line]:
        """Rows as lines; with ``c``, their terms highlighted (each term over all at once)."""
        if c is None or not c.terms:
            return [_line(row, None) for row in rows]
        found = pieces_many([row["logline"] for row in rows], c.terms)
        return [_line(row, hl) for row, hl in zip(rows, found, strict=True)]

    def count(self, ix: IndexConfig, from_us: int | None, to_us: int | None,
              text: str = "", known: set[str] | None = None) -> int:
        lo, hi = id_range_of_us(from_us, to_us)
        return self.count_ids(ix, compile_text(ix, text, known), lo, hi)

    def count_ids(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                  cap: int = MAX_COUNT) -> int:
        """Lines matching ``c`` in [lo, hi]: exact for what the index answers alone; with
        patterns, counted by reading, at most ``cap`` + 1 (short when the budget ran out)."""
        if c.checks:
            return self.count_checked(ix, c, lo, hi, cap)[0]
        return self._count_matches(ix, c, lo, hi)

    def _count_matches(self, ix: IndexConfig, c: Compiled, lo: int, hi: int) -> int:
        """What MATCH() and the filters of ``c`` find in [lo, hi], its patterns unchecked.

        A day index holds lines dated from its day's start on (today's also those dated
        after tomorrow), so a range from that start open upwards holds every line of it, and
        so does one to its day's end when it is a past day known to hold only lines of its
        day (``_within_day``: "hit 37" of the page counts up to a hit): such day indexes are
        counted without an id range, by the matches searchd reports
        (``total_found`` of a one-row search).  A COUNT(*), or any filter, fetches every
        match's attributes: measured at 10M lines, a word in 768,000 lines of a day 20 ms
        that way against 60-65 ms (a word in 110,000 lines: 4 ms against 26-31).  Not for
        every line (no words): a search without MATCH() walks the attributes either way, and
        COUNT(*) was faster (10M lines: 78 ms against 98)."""
        indexes = self.indexes_for_ids(ix, lo, hi)
        if not indexes or lo > hi:
            return 0
        c = self.for_indexes(c, indexes)
        whole = [name for name in indexes if c.match and not c.where and not c.select
                 and (first := _first_minute(name)) is not None
                 and lo <= make_id(first * MINUTE_MS, 0, 0)
                 and (hi >= TOP_ID or (hi >= make_id(first * MINUTE_MS + DAY_MS, 0, 0) - 1
                                       and self._within_day(name)))]
        rest = [name for name in indexes if name not in whole]
        n = self._count_whole(c, whole) if whole else 0
        if n is None:  # (searchd did not report it)
            n, rest = 0, indexes
        if not rest:
            return n
        where, params = where_ids(c, lo, hi, hours=self.hours(rest))
        sql = (f"SELECT COUNT(*) AS n{''.join(', ' + s for s in c.select)} "
               f"FROM {', '.join(map(sphinxql.ident, rest))} WHERE {where} "
               f"OPTION ranker=none, max_query_time={max(1, self.budget.ms_left())}")
        rows = self._query(sql, [*c.select_params, *params])
        return n + (int(rows[0]["n"]) if rows else 0)

    def _within_day(self, name: str) -> bool:
        """Whether every line of day index ``name``, of a day before today, is dated in its
        day: the day's hour tokens count as many lines as the index holds (two queries, only
        while LOOKUP_ROOM are left; kept for the process's life: a past day's index takes
        late lines of its day only, as lines dated after tomorrow go to today's).  A line
        stored twice until a merge makes the dictionary count more: then not (no harm: the
        day is counted by its id range)."""
        key = (*_server(self.sphinx), name)
        if key in _WITHIN:
            return _WITHIN[key]
        first = _first_minute(name)
        if first is None or not self._past(name) \
                or self.budget.queries_left() < LOOKUP_ROOM:
            return False
        self._under_hours(self.sphinx, name, first)
        return _WITHIN[key]

    def _past(self, name: str) -> bool:
        day = day_of_index(name)
        return day is not None and day < self.today()

    def _under_hours(self, sx: sphinxql.Sphinx, name: str, first: int) -> tuple[int, bool]:
        """The lines day index ``name`` (whose day starts at minute ``first``) has under its
        day's hour tokens, and whether that is every line it holds (two queries).  For a past
        day, that answers ``_within_day`` too (kept in ``_WITHIN``)."""
        self.budget.spend()
        by_hour = sum(_keyword_docs_each(sx, [
            unit_token(HOUR_MS, h) for h in range(first // 60, first // 60 + 24)], name))
        self.budget.spend()
        every = by_hour == _documents(sx, name)
        if self._past(name):
            _WITHIN[(*_server(sx), name)] = every
        return by_hour, every

    def _count_whole(self, c: Compiled, indexes: list[str]) -> int | None:
        """Every line of ``indexes`` matching ``c`` (no filters): the total searchd found
        for a search of one row (its SHOW META), None when it does not say."""
        sql = (f"SELECT id FROM {', '.join(map(sphinxql.ident, indexes))} WHERE MATCH(%s) "
               f"LIMIT 1 OPTION ranker=none, max_query_time={max(1, self.budget.ms_left())}")
        self._query(sql, [c.match])
        self.budget.spend()
        found = self.sphinx.meta().get("total_found")
        return int(found) if found is not None and found.isdigit() else None

    def count_checked(self, ix: IndexConfig, c: Compiled, lo: int, hi: int,
                      cap: int) -> tuple[int, bool, bool]:
        """(count, capped, partial) of a query with patterns: read newest first, at most
        ``cap`` + 1 matches, within the request's budget."""
        got = self.read(ix, c, lo, hi, False, cap + 1, sink=lambda rows: None)
        return min(got.matched, cap), got.matched > cap, got.partial

    def lines_by_ids(self, ix: IndexConfig, c: Compiled, ids: list[int]) -> list[Line]:
        """The lines among ``ids`` that match ``c``, oldest first (one query: at most
        MAX_LIMIT ids)."""
        rows = self._select_ids(ix, c, sorted(set(ids))[:MAX_LIMIT])
        return self.row_lines([r for r in rows
                               if c.checks.passes(r["logline"], row_fields(r))], c)

    def line(self, ix: IndexConfig, doc_id: int) -> Line | None:
        rows = self.select_range(ix, Compiled(), doc_id, doc_id, True, 1)
        return self.row_line(rows[0]) if rows else None

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
        return Context(anchor, [self.row_line(r) for r in reversed(older)],
                       [self.row_line(r) for r in newer])

    def histogram(self, ix: IndexConfig, c: Compiled, from_us: int, to_us: int,
                  bucket_us: int) -> dict[int, int]:
        """Hits per bucket start (µs) in [from_us, to_us].

        A histogram counts every match of its range.  With a fan-out (the web app's search
        threads), the range up to the newest line is cut in parts counted at once, one
        searchd thread each, and the counts added up.  Past the time budget the counts are
        short: the answer is partial (a warning says so)."""
        self.start_request()
        counts = self._histogram(ix, c, from_us, to_us, bucket_us)
        if self.budget.out_of_time():
            self.sphinx.note_warnings([self.budget.message()])
        return counts

    def _histogram(self, ix: IndexConfig, c: Compiled, from_us: int, to_us: int,
                   bucket_us: int) -> dict[int, int]:
        lo, hi = id_range_of_us(from_us, to_us)
        if lo > hi:
            return {}
        if c.checks:
            return self._histogram_read(ix, c, lo, hi, bucket_us)
        counts: dict[int, int] = {}
        live: list[tuple[int, int]] = [(lo, hi)]
        fills: list[Fill] = []
        if bucket_us % (histcache.MINUTE_MS * 1000) == 0:
            live, fills = self._histogram_kept(ix, c, lo, hi, bucket_us, counts)
        if self.parallel > 1 and len(live) == 1 and not fills:
            end = make_id(start_ms(self._open_top(ix)) + 1000, 0, 0)
            part_lo, part_hi = live[0]
            live = split_range(part_lo, min(part_hi, end), part_hi, self.parallel)
        # the kept counts to compute and the ranges to count, all at once on the search
        # threads (the day parts first: they are the long ones)
        tasks: list[Fill | tuple[int, int]] = [*fills, *live]
        results = self.each(lambda sx, task: self._histogram_part(sx, ix, c, bucket_us, task)
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
            for bucket, n in self._histogram_part(self.sphinx, ix, c, bucket_us, ids).items():
                counts[bucket] = counts.get(bucket, 0) + n
        return counts

    @property
    def parallel(self) -> int:
        """How many search threads a range may be counted on at once (1: this one only)."""
        return self._parts if self._fan_out is not None else 1

    def each(self, fn: Callable[[sphinxql.Sphinx, Any], Any], items: list) -> list:
        """fn(connection, item) for every item: at once on the fan-out's threads if any."""
        if len(items) <= 1 or self._fan_out is None:
            return [fn(self.sphinx, item) for item in items]
        return self._fan_out(fn, items)

    def _histogram_kept(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, bucket_us: int,
                        counts: dict[int, int]) -> tuple[list[tuple[int, int]], list[Fill]]:
        """Add to ``counts`` what kept per-minute counts of sealed ten minutes answer; return
        the id ranges left to count and the kept counts to compute (the units not kept yet of
        at most MAX_FILLS days a request: their day parts are not in those ranges)
        (alco.search.histcache)."""
        days = [(name, first) for name in self.indexes_for_ids(ix, lo, hi)
                if (first := _first_minute(name)) is not None]
        now_ms = time.time_ns() // 1_000_000
        planned, live = histcache.plan(lo, hi, days, histcache.sealed_minute(now_ms))
        answered: list[histcache.DayPart] = []
        fills: list[Fill] = []
        for part in planned:
            c_day = self.for_indexes(c, [part.index])
            if not self.hours([part.index]):
                continue
            key = (*_server(self.sphinx), part.index, c_day.match, c_day.keywords,
                   tuple(c_day.where), tuple(c_day.select),
                   tuple(map(str, c_day.select_params)))
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
                # of the day costs little more (Searcher._day_minutes)
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
            self.budget.spend()
            hour_lines = _keyword_docs_each(self.sphinx, [
                unit_token(HOUR_MS, first_hour + h) for h in range(histcache.HOURS)],
                part.index)
            suspect = kept.suspect(hour_lines, hours)
        if suspect:
            units = histcache.units_of(suspect)
            first_unit = part.day // histcache.UNIT_MINUTES
            self.budget.spend()
            for u, n in zip(units, _keyword_docs_each(self.sphinx, [
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
        if not (c.match or c.where or c.select or c.checks):
            every = self._day_lines(sx, part)
            if every is not None:
                return range(0, (part.sealed - part.day) // histcache.UNIT_MINUTES), every
        c = self.for_indexes(c, [part.index])
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
            terms = (["MATCH(%s)"] if c.match else []) + list(c.where)
            where = f"WHERE {' AND '.join(terms)} " if terms else ""
            params = [c.match] if c.match else []
        sql = (f"SELECT ts DIV 60000000 AS m, COUNT(*) AS n"
               f"{''.join(', ' + s for s in c.select)} "
               f"FROM {sphinxql.ident(part.index)} {where}"
               f"GROUP BY m ORDER BY m ASC LIMIT {3 * histcache.DAY_MINUTES} "
               f"OPTION max_matches={3 * histcache.DAY_MINUTES}, ranker=none, "
               f"max_query_time={max(1, self.budget.ms_left())}")
        rows = self._query(sql, [*c.select_params, *params], sx)
        if self.budget.out_of_time():
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
        self.budget.spend()
        counts = _keyword_docs_each(sx, minutes, part.index)
        self.budget.spend()
        if sum(counts) != _documents(sx, part.index):
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

        self.read(ix, c, lo, hi, False, TOP_ID, sink=add)
        return counts

    def _histogram_part(self, sx: sphinxql.Sphinx, ix: IndexConfig, c: Compiled,
                        bucket_us: int, ids: tuple[int, int]) -> dict[int, int]:
        lo, hi = ids
        indexes = self.indexes_for_ids(ix, lo, hi)
        if not indexes:
            return {}
        n = ((id_ms(hi) - id_ms(lo)) * 1000) // bucket_us + 2
        c = self.for_indexes(c, indexes)
        where, params = where_ids(c, lo, hi, hours=self.hours(indexes, sx))
        sql = (f"SELECT ts DIV {int(bucket_us)} AS bucket, COUNT(*) AS n"
               f"{''.join(', ' + s for s in c.select)} "
               f"FROM {', '.join(map(sphinxql.ident, indexes))} WHERE {where} "
               f"GROUP BY bucket ORDER BY bucket ASC LIMIT {n} "
               f"OPTION max_matches={n}, ranker=none, "
               f"max_query_time={max(1, self.budget.ms_left())}")
        rows = self._query(sql, [*c.select_params, *params], sx)
        return {int(r["bucket"]) * bucket_us: int(r["n"]) for r in rows}


def needed_words(match: str) -> list[str]:
    """The words every line matching a MATCH() text has: its words but those excluded
    (``-w``, ``!w``) and pieces of words (``*``); none when it has alternatives (``|``)."""
    if "|" in match:
        return []
    text = _EXCLUDED_RE.sub(" ", _FIELD_RE.sub(" ", match))
    return [w for w in _WORD_RE.findall(text) if "*" not in w]


def _keyword_rows(sx: sphinxql.Sphinx, words: list[str], name: str) -> dict[str, int]:
    """How many lines of index ``name`` have each keyword ``words`` make, by the keyword as
    the index normalises it (one CALL KEYWORDS, from the dictionary)."""
    rows = sx.query("CALL KEYWORDS(%s, %s, 1)", [" ".join(words), name])
    return {str(r.get("normalized") or r.get("tokenized")): int(r.get("docs") or 0)
            for r in rows}


def _keyword_docs_each(sx: sphinxql.Sphinx, words: list[str], name: str) -> list[int]:
    """How many lines of index ``name`` have each of ``words`` (time tokens: the index keeps
    them as they are)."""
    docs = _keyword_rows(sx, words, name)
    return [docs.get(w, 0) for w in words]


def _server(sx: sphinxql.Sphinx) -> tuple[str, int]:
    """Which searchd ``sx`` talks to, for what is kept per searchd (fakes have no address)."""
    return getattr(sx, "host", ""), getattr(sx, "port", 0)


def _day_name(ix: IndexConfig, day: int) -> str:
    """The day index of ``ix`` for the ``day``-th day since the epoch."""
    return day_index(ix.name, date.fromordinal(EPOCH_ORDINAL + day))


def _first_minute(index: str) -> int | None:
    """The first minute (since the epoch) of a day index's day."""
    day = day_of_index(index)
    return None if day is None else (day.toordinal() - EPOCH_ORDINAL) * 1440


def _documents(sx: sphinxql.Sphinx, name: str) -> int:
    """How many lines index ``name`` holds (SHOW INDEX STATUS)."""
    return int(sphinxql.index_status(sx, name).get("indexed_documents") or -1)


def split_range(lo: int, end: int, hi: int, parts: int) -> list[tuple[int, int]]:
    """[lo, hi] in ``parts`` disjoint ranges of equal width up to ``end`` (where the lines
    stop), the last one reaching on to ``hi``; one range when [lo, end] is too narrow."""
    if lo <= 0 or end - lo < (60_000 << MS_SHIFT) * parts:
        return [(lo, hi)]
    step = (end - lo) // parts
    cuts = [lo + i * step for i in range(parts)] + [hi + 1]
    return [(cuts[i], cuts[i + 1] - 1) for i in range(parts)]
