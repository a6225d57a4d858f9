"""How a read starts, from one dictionary lookup (``Start``): how wide its first window is,
whether its words are rare in their day (read it at once), whether it starts in a burst (a part
of alco.search.reader.Searcher)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from alco.config import IndexConfig
from alco.index.schema import MINUTE_MS, id_ms, unit_token
from alco.search.compile import Compiled
from alco.search.context import ReadContext
from alco.search.dictionary import (
    DAY_MS,
    LOOKUP_ROOM,
    Lookups,
    day_name,
    keyword_docs_each,
    keyword_rows,
    needed_words,
)

FIRST_WINDOW_MS = 1_000
RARE_LINES = 20_000  # a word in at most this many lines of a day: read its day at once
TOKENS_PER_WORD = 2  # time tokens for windows of at most this many lines per word's line
FIRST_MARGIN = 1.5  # a first window sized by the rate is this much wider than it says
FIRST_MAX_MS = 6 * 3_600_000  # the widest first window the dictionary's rate may size
DENSE_MINUTE = 40_000  # a read without words matches by id range alone from a minute this full


@dataclass(frozen=True)
class Start:
    """How a read starts, from the dictionary (Starts.first_window): its first window's
    width (ms), the day looked up (days since the epoch), whether its words are rare there
    (read it at once), whether the minute it starts in has lines; the lines of its rarest word
    in that day and the day's lines per ms, which say whether a window is cheaper with time
    tokens (``tokens``); for a read without words, whether it starts in a minute of more than
    DENSE_MINUTE lines (``dense``: no time tokens, Starts.first_lines)."""

    width: int = FIRST_WINDOW_MS
    day: int | None = None
    rare: bool = False
    busy: bool = False
    word_lines: int | None = None
    lines_per_ms: float = 0.0
    dense: bool = False
    # (day index, minutes, their lines) that first_lines looked up: the rest of the start's
    # ten minutes, which Windows would look up first
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


def rest_of(unit: int, parts: int, skip: int, upward: bool) -> range:
    """The units from ``unit`` (past it by ``skip``) to the end of its group of ``parts``
    (a minute's ten minutes, ten minutes' hour) in the direction read."""
    first = unit // parts * parts
    return range(unit + skip, first + parts) if upward else range(unit - skip, first - 1, -1)


class Starts:
    """The start of a read (a part of alco.search.reader.Searcher): one dictionary lookup on
    the shared ``ctx``, what a day index can do from ``lookups``."""

    def __init__(self, ctx: ReadContext, lookups: Lookups) -> None:
        self.ctx = ctx
        self.lookups = lookups

    def rare(self, ix: IndexConfig, c: Compiled, lo: int, hi: int, start: Start) -> bool:
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
        name = day_name(ix, day)
        if not words or self.ctx.budget.queries_left() < LOOKUP_ROOM \
                or not self.lookups.hours([name]):
            return True
        self.ctx.budget.spend()
        return min(keyword_rows(self.ctx.sphinx, words, name).values(), default=0) <= RARE_LINES

    def first_window(self, ix: IndexConfig, c: Compiled, at: int, upward: bool,
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
        name = day_name(ix, at_ms // DAY_MS)
        if not words or not self.lookups.hours([name]):
            return Start()
        step = 1 if upward else -1
        minute = at_ms // MINUTE_MS
        tokens = [unit_token(MINUTE_MS, minute), unit_token(MINUTE_MS, minute + step)]
        self.ctx.budget.spend()
        docs = keyword_rows(self.ctx.sphinx, [*words, *tokens], name)
        counted = [v for k, v in docs.items() if k not in tokens]
        day = at_ms // DAY_MS
        busy = docs.get(tokens[0], 0) > 0
        if not counted:
            return Start(day=day, busy=busy)  # (only stopwords)
        word_lines = min(counted)
        rare = word_lines <= RARE_LINES
        day_lines = self.lookups.day_lines(name)
        if day_lines <= 0:
            return Start(day=day, rare=rare, busy=busy)
        day_ms = day * DAY_MS
        # the lines of the day so far, per ms (today's are not all there yet)
        day_rate = day_lines / max(1, min(time.time_ns() // 1_000_000, day_ms + DAY_MS) - day_ms)
        if rare:
            # (with the counts: a window past the rest of the day, in the days before, takes
            # time tokens only where it holds few lines for its words', ``tokens``: measured
            # at 10M, a page of `timeout process:1010` over 28 hours of two days 45 ms with
            # 29 hour tokens, 9 by the id range alone)
            return Start(day=day, rare=True, busy=busy, word_lines=word_lines,
                         lines_per_ms=day_rate)
        near = sum(docs.get(t, 0) for t in tokens)
        if not near:
            return Start(day=day, busy=busy, word_lines=word_lines, lines_per_ms=day_rate)
        # the minutes' span from at: the rest of at's minute and the next one
        span_ms = ((minute + 1) * MINUTE_MS - at_ms if upward
                   else at_ms - minute * MINUTE_MS + 1) + MINUTE_MS
        per_ms = min(word_lines, day_lines) / day_lines * near / span_ms
        width = int(n * FIRST_MARGIN / per_ms) + 1
        return Start(min(max(width, FIRST_WINDOW_MS), FIRST_MAX_MS), day, busy=busy,
                     word_lines=word_lines, lines_per_ms=day_rate)

    def first_lines(self, ix: IndexConfig, at: int, upward: bool, n: int | None) -> Start:
        """How a read without words starts (Start), from one dictionary lookup of the lines
        of the minute it starts in and the next (and the rest of its ten minutes, which
        ``Windows`` then takes from Start.minutes instead of asking again).  A window
        matched through time tokens costs its minutes' lines whatever part of them it takes
        (the far edge's minute token is decoded whole); in a burst a minute holds hundreds
        of thousands.  The id range alone costs the lines of the window (searchd skips the
        disk chunks' blocks by id) and a walk of the RAM chunk (bounded by rt_mem_limit:
        about 4 ms at 256M).  So a read that
        starts in a minute of more than DENSE_MINUTE lines matches by id range, its first
        window as wide as should hold ``n`` lines and a half more (None: a scan, whose
        windows are sized as it reads)."""
        name = day_name(ix, id_ms(at) // DAY_MS)
        if not self.lookups.hours([name]):
            return Start()
        minute = id_ms(at) // MINUTE_MS
        # the rest of its ten minutes, as Windows looks them up first (it takes
        # them from here), and at least the next minute
        units = rest_of(minute, 10, 0, upward)
        minutes = [*units, *([minute + (1 if upward else -1)] if len(units) == 1 else [])]
        self.ctx.budget.spend()
        counts = keyword_docs_each(self.ctx.sphinx,
                                   [unit_token(MINUTE_MS, m) for m in minutes], name)
        known = (name, tuple(units), tuple(counts[:len(units)]))
        near, busy = max(counts[:2]), counts[0] > 0
        if near <= DENSE_MINUTE:
            return Start(busy=busy, minutes=known)
        if n is None:
            return Start(busy=busy, dense=True, minutes=known)
        width = int(n * FIRST_MARGIN * MINUTE_MS / near) + 1
        return Start(min(width, FIRST_MAX_MS), busy=busy, dense=True, minutes=known)
