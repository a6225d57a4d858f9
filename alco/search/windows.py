"""How a read goes through a range: windows of ids from the end it starts at, the first sized by
the dictionary (alco.search.starts), the next by the rate of hits so far (``next_width``);
quiet spells skipped by the time tokens' line counts (a part of alco.search.reader.Searcher)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

from alco.config import IndexConfig
from alco.index.ids import DAY_MS, id_after
from alco.index.schema import (
    HOUR_MS,
    MINUTE_MS,
    TEN_MINUTES_MS,
    id_ms,
    make_id,
    time_cover,
    unit_token,
)
from alco.search.budget import MAX_QUERIES
from alco.search.compile import COVER_MAX_TOKENS, TOP_ID
from alco.search.context import ReadContext
from alco.search.dictionary import LOOKUP_ROOM, Lookups, day_name, keyword_docs_each
from alco.search.starts import FIRST_WINDOW_MS, rest_of

GROWTH_EMPTY = 8  # the next window after one without hits is this many times as wide
GROWTH_MIN, GROWTH_MAX = 2, 32  # after one with hits: sized by their rate, within these
GAP_MS = 600_000  # an empty window this wide is checked for lines (a quiet spell to skip)
MAX_SKIPS = 2  # quiet spells a read skips after an empty window
SKIP_DAYS = MAX_QUERIES - LOOKUP_ROOM  # day indexes a read looks through for lines at most
FUTURE_MS = 60_000  # reading upwards, a window reaching this far past now takes all the rest


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




class Windows:
    """The windows of a read (a part of alco.search.reader.Searcher): quiet spells looked up
    on the shared ``ctx``, in the day indexes ``lookups`` says have hour tokens."""

    def __init__(self, ctx: ReadContext, lookups: Lookups) -> None:
        self.ctx = ctx
        self.lookups = lookups

    def windows(self, ix: IndexConfig, lo: int, hi: int, upward: bool, n: int = 1,
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
            start = lo if lo > 0 else self.ctx.first_id(ix)
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
            stop = self.ctx.first_id(ix)
        width, seen_ms, hits, made, skips = first_ms, 0, 0, 0, 0
        found: int | None = None
        while (cur <= hi) if upward else (cur >= lo):
            edge = id_after(start, step * (seen_ms + width)) - step
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
        name = day_name(ix, at_ms // DAY_MS)
        if left() < LOOKUP_ROOM or not self.lookups.hours([name]):
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
        self.ctx.budget.spend()
        counts = keyword_docs_each(self.ctx.sphinx, [unit_token(size, k) for k in units], name)
        return next(((k, size, name) for k, n in zip(units, counts, strict=True) if n), None)

    def _no_lines(self, ix: IndexConfig, lo: int, hi: int) -> bool:
        """Whether ids [lo, hi] hold no line at all, from the dictionary's counts of the
        time tokens covering them (one lookup a day index; False when not known)."""
        lo_ms, hi_ms = id_ms(lo), id_ms(hi)
        if hi_ms - lo_ms > 2 * DAY_MS:
            return False
        for day in range(lo_ms // DAY_MS, hi_ms // DAY_MS + 1):
            name = day_name(ix, day)
            tokens = time_cover(max(lo_ms, day * DAY_MS), min(hi_ms, day * DAY_MS + DAY_MS - 1),
                                hours=True)
            if len(tokens) > COVER_MAX_TOKENS or not self.lookups.hours([name]):
                return False
            self.ctx.budget.spend()
            if any(keyword_docs_each(self.ctx.sphinx, tokens, name)):
                return False
        return True

    def _first_hour(self, ix: IndexConfig, hour: int, last: int, upward: bool,
                    left: Callable[[], int]) -> tuple[int, str] | None:
        """The first hour from ``hour`` to ``last`` holding lines, and its day index."""
        step = 1 if upward else -1
        day = hour // 24
        for _ in range(SKIP_DAYS):
            name = day_name(ix, day)
            if name not in self.ctx.indexes_for_ids(ix, make_id(day * DAY_MS, 0, 0),
                                                    make_id(day * DAY_MS + DAY_MS, 0, 0) - 1) \
                    or not self.lookups.hours([name]) \
                    or left() < LOOKUP_ROOM:
                return None
            self.ctx.budget.spend()
            counts = keyword_docs_each(self.ctx.sphinx, [
                unit_token(HOUR_MS, h) for h in range(day * 24, day * 24 + 24)], name)
            while hour // 24 == day:
                if counts[hour - day * 24]:
                    return hour, name
                if hour == last:
                    return None
                hour += step
            day += step
        return None
