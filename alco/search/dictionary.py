"""What a day index's dictionary says (``CALL KEYWORDS``: the lines under a word or a time
token; ``SHOW INDEX STATUS``: the lines it holds), and what the searcher keeps of it per searchd
and index for the process's life: whether a day index has hour tokens (``_HOURS``), infixes
or prefixes (``_WILD``), only lines dated in its day (``_WITHIN``), and its line count for a minute
(``_LINES``).  Every lookup a request makes counts in its query budget (alco.search.budget)."""

from __future__ import annotations

import re
import time
from typing import Protocol

from alco.config import IndexConfig
from alco.index import buckets, sphinxql
from alco.index.ids import DAY_MS, day_of_ms, day_start_ms
from alco.index.schema import (
    HOUR_MS,
    MINUTE_MS,
    DayLayout,
    day_index,
    day_of_index,
    tag_token,
    unit_token,
    value_attr,
    value_hash,
)
from alco.search import literals
from alco.search.compile import (
    Compiled,
    Pair,
)
from alco.search.context import ReadContext

LOOKUP_ROOM = 12  # dictionary lookups only while a read has this many queries left
PROBES = 2  # day indexes a request probes for hour tokens (two or three statements each)
LAYOUT_PROBES = 2  # day indexes a request asks what they were made with (one DESCRIBE each)
LINES_TTL_S = 60.0  # how long a day index's line count (SHOW INDEX STATUS) is kept
_FIELD_RE = re.compile(r"@@\w+|@\w+|@\([\w,]*\)")  # a MATCH() field limit, or @@relaxed
_WORD_RE = re.compile(r"[\w*]+")
_EXCLUDED_RE = re.compile(r"(?<![\w\\])[-!][\w*]+|(?<![\w\\])[-!]\([^)]*\)")

# (searchd host, port, day index) -> what it can look up (alco.search.literals.WILD)
_WILD: dict[tuple[str, int, str], str] = {}
# (searchd host, port, day index) -> every line has its hour tokens (schema.time_token)
_HOURS: dict[tuple[str, int, str], bool] = {}
# (searchd host, port, day index) -> (monotonic time asked, lines it held): for estimates
_LINES: dict[tuple[str, int, str], tuple[float, int]] = {}
# (searchd host, port, day index of a past day) -> every line it holds is dated in its day
_WITHIN: dict[tuple[str, int, str], bool] = {}


class Layouts(Protocol):
    """What day indexes were made with (alco.search.texts.Texts)."""

    def layout(self, index: str) -> DayLayout: ...

    def known_layout(self, index: str) -> DayLayout | None: ...

    def lacking(self, index: str, tagged: frozenset[str], texted: frozenset[str]
                ) -> frozenset[str]: ...

    def has_value_hash(self, index: str, column: str) -> bool: ...


class Lookups:
    """The dictionary lookups of alco.search.reader.Searcher (a part of it), on its shared
    ``ctx``: what a day index can do (hour tokens, wildcards, lines dated in its day only),
    its line count.  It keeps the request's probes left (``start_request``)."""

    def __init__(self, ctx: ReadContext, layouts: Layouts | None = None) -> None:
        self.ctx = ctx
        self._layouts = layouts  # what a day index was made with (alco.search.texts.Texts)
        self._probes_left = PROBES
        self._layout_probes = LAYOUT_PROBES

    def start_request(self) -> None:
        """A new request: PROBES day indexes may be probed for hour tokens again."""
        self._probes_left = PROBES
        self._layout_probes = LAYOUT_PROBES

    def probe(self, ix: IndexConfig) -> None:
        """Probe every retained day index of ``ix`` for hour tokens now (a request probes
        at most PROBES; the web app probes them all when it starts).  A searchd that does not
        answer leaves them to the requests."""
        for name in self.ctx.day_indexes(ix, None, None):
            self.ctx.budget.restart()  # (each one a request of its own)
            self.start_request()
            try:
                self.hours([name])
                self.within_day(name)  # (answered by the probe unless it was kept before)
            except sphinxql.SPHINX_ERRORS:
                return

    def hours(self, indexes: list[str], sx: sphinxql.Sphinx | None = None) -> bool:
        """Whether every line of these day indexes has its hour and ten-minute tokens (asked
        on ``sx``, default this searcher's connection)."""
        return all(self._hours(name, sx or self.ctx.sphinx) for name in indexes)

    def _hours(self, name: str, sx: sphinxql.Sphinx) -> bool:
        """Lines written before the hour tokens have a minute token only: the hour tokens of
        the index's day find as many lines as its minute tokens only when every line has both
        (CALL KEYWORDS counts them from the dictionary).  The answer is kept for the process's
        life: every line written since has both.  A request probes at most PROBES day indexes
        (the first requests after a start read the others with minute tokens only)."""
        key = (*server_of(sx), name)
        if key in _HOURS:
            return _HOURS[key]
        if self.ctx.config.sphinx.agents:
            return False  # a head's day index has no dictionary to ask: minute tokens
        if self._probes_left <= 0 or self.ctx.budget.queries_left() < LOOKUP_ROOM:
            return False  # minute tokens only for this request: probed by a later one
        self._probes_left -= 1
        first = first_minute(name)
        if first is None:
            return False
        try:
            # every line of the day under its hour: as many as the index holds (a line dated
            # past tomorrow is stored in today's index: then compare with the minutes)
            by_hour, every = self._under_hours(sx, name, first)
            if every:
                _HOURS[key] = True
            else:
                self.ctx.budget.spend()
                _HOURS[key] = by_hour == sum(keyword_docs_each(sx, [
                    unit_token(MINUTE_MS, m) for m in range(first, first + 1440)], name))
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                return False  # not known (yet): minute tokens only, not cached
            _HOURS[key] = False  # (a distributed index over agents cannot say)
        return _HOURS[key]

    def _wild(self, name: str) -> str:
        """What a day index can look up (alco.search.literals.WILD): CALL KEYWORDS keeps
        ``*`` only with infixes or prefixes, and SHOW INDEX .. SETTINGS names
        ``min_prefix_len`` when it has prefixes (Sphinx 2.2.11 does not list
        ``min_infix_len``).  An answer is kept for the process's life: an index's settings
        are fixed when it is made.  Not known: the weakest kind that fits what is known."""
        key = (*server_of(self.ctx.sphinx), name)
        if key in _WILD:
            return _WILD[key]
        try:
            rows = self.ctx.sphinx.query("CALL KEYWORDS(%s, %s, 0)", ["*abc*", name])
        except sphinxql.SphinxError:
            if self.ctx.config.sphinx.agents:  # a head's day index: its shards' say
                return self._shards_wild(name)
            return literals.WORDS  # not known (yet): narrow by whole keywords, not cached
        if not rows or "*" not in str(rows[0].get("tokenized", "")):
            _WILD[key] = literals.WORDS
            return _WILD[key]
        try:
            rows = self.ctx.sphinx.query(f"SHOW INDEX {sphinxql.ident(name)} SETTINGS", [])
        except sphinxql.SPHINX_ERRORS as exc:
            # (an infix index can run prefixes too; a distributed index cannot say)
            if not exc.transient:
                _WILD[key] = literals.PREFIX
            return literals.PREFIX
        settings = " ".join(str(r.get("Value", "")) for r in rows)
        _WILD[key] = (literals.PREFIX if "min_prefix_len" in settings
                      and "min_infix_len" not in settings else literals.INFIX)
        return _WILD[key]

    def _shards_wild(self, name: str) -> str:
        """What a head's distributed day index can look up: it has no dictionary of its own
        (CALL KEYWORDS fails), its shards were made with the ``[[index]] infixes`` all hosts
        share (docs/search.md, Several machines)."""
        ix = next((ix for ix in self.ctx.config.indexes
                   if name.rsplit("_", 1)[0] == ix.name), None)
        if ix is None:
            return literals.WORDS
        return literals.INFIX if ix.infixes else literals.PREFIX

    def for_indexes(self, c: Compiled, indexes: list[str]) -> Compiled:
        """``c`` as all of ``indexes`` can run it: narrowed by the wildcards the weakest of
        them has (alco.search.literals), ids as buckets by rule 1 when one of them was made
        with it (alco.index.buckets)."""
        if c.recompile is None:
            return c
        wild = min((self._wild(name) for name in indexes), key=literals.WILD.index,
                   default=literals.INFIX) if c.wild_matters else c.wild
        return c.variant(wild, self.rule(indexes) if c.rule_matters else c.rule,
                         *self.filters(c, indexes))

    def for_range(self, ix: IndexConfig, c: Compiled, lo: int, hi: int) -> Compiled:
        """``c`` with ids as buckets by the rule of the day indexes of ids [lo, hi] (rule 1
        when one of them was made with it): what decides which words are checked line by
        line, before a read or a count chooses how to go."""
        if not c.rule_matters and not (c.tagged or c.texted):
            return c
        indexes = self.ctx.indexes_for_ids(ix, lo, hi)
        return c.variant(c.wild, self.rule(indexes) if c.rule_matters else c.rule,
                         *self.filters(c, indexes))

    def filters(self, c: Compiled, indexes: list[str]
                ) -> tuple[frozenset[str], frozenset[Pair]]:
        """How ``indexes`` filter on the columns ``c`` filters on through the index: the
        columns one of them was made without (Texts.lacking), checked against the fields
        as sent on all of them; and the values one of them has as a common value (no tag
        token there, alco.index.commonvalues), filtered on by their value hash on all of
        them (their column checked against the fields as sent where one of them has no
        hash of it).  Like ``rule``, a request asks at most LAYOUT_PROBES day indexes it
        does not know yet; with a filter on a ``filtered`` column, every one (a day whose
        common values were not known would miss their lines)."""
        if self._layouts is None or not (c.tagged or c.texted):
            return frozenset(), frozenset()
        lacking: frozenset[str] = frozenset()
        common: set[Pair] = set()
        unhashed: set[str] = set()
        crcs: set[tuple[str, int]] = set()  # (value attribute, CRC) of the days' common values
        for name in indexes:
            if self._layouts.known_layout(name) is None and not c.tag_values:
                if self._layout_probes <= 0:
                    continue
                self._layout_probes -= 1
            lacking |= self._layouts.lacking(name, c.tagged, c.texted)
            if c.tag_values:
                layout = self._layouts.layout(name)
                tokens = layout.common_tokens
                common |= {pair for pair in c.tag_values if tag_token(*pair) in tokens}
                crcs |= {(cv.attr, cv.crc) for cv in layout.common}
                unhashed |= {col for col in c.tagged
                             if not self._layouts.has_value_hash(name, col)}
        lacking |= frozenset(col for col, _ in common if col in unhashed)
        # (a value sharing a common value's CRC has another hash on that one's days: its
        # column is checked against the fields as sent)
        lacking |= frozenset(col for col, v in c.tag_values if (col, v) not in common
                             and (value_attr(col), value_hash(v)) in crcs
                             and any(p[0] == col for p in common))
        return lacking, frozenset(pair for pair in common if pair[0] not in lacking)

    def rule(self, indexes: list[str]) -> int:
        """The rule of ids (alco.index.buckets) a query of ``indexes`` runs: 1 when one of
        them was made with rule 1 (its buckets are a superset of rule 2's) or is not known
        yet, else rule 2 (days with no buckets find ids either way).  A request asks what
        at most LAYOUT_PROBES day indexes were made with (DESCRIBE, kept for the process's
        life)."""
        if self._layouts is None:
            return buckets.RULE
        for name in indexes:
            got = self._layouts.known_layout(name)
            if got is None and self._layout_probes > 0:
                self._layout_probes -= 1
                got = self._layouts.layout(name)
            if got is None or got.id_rule == 1:
                return 1
        return buckets.RULE

    def day_lines(self, name: str) -> int:
        """How many lines day index ``name`` holds, as asked at most LINES_TTL_S ago (an
        estimate's denominator)."""
        key = (*server_of(self.ctx.sphinx), name)
        kept = _LINES.get(key)
        now = time.monotonic()
        if kept is not None and now - kept[0] < LINES_TTL_S:
            return kept[1]
        self.ctx.budget.spend()
        lines = index_lines(self.ctx.sphinx, name)
        _LINES[key] = (now, lines)
        return lines

    def within_day(self, name: str) -> bool:
        """Whether every line of day index ``name``, of a day before today, is dated in its
        day: the day's hour tokens count as many lines as the index holds (two queries, only
        while LOOKUP_ROOM are left; kept for the process's life: a past day's index takes
        late lines of its day only, as lines dated after tomorrow go to today's).  A line
        stored twice until a merge makes the dictionary count more: then not (no harm: the
        day is counted by its id range)."""
        key = (*server_of(self.ctx.sphinx), name)
        if key in _WITHIN:
            return _WITHIN[key]
        first = first_minute(name)
        if first is None or not self._past(name) or self.ctx.config.sphinx.agents \
                or self.ctx.budget.queries_left() < LOOKUP_ROOM:
            return False
        try:
            self._under_hours(self.ctx.sphinx, name, first)
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:  # (a head's distributed index has no dictionary: "no such
                return False   # index"): counted by its id range, not kept
            _WITHIN[key] = False
        return _WITHIN[key]

    def _past(self, name: str) -> bool:
        day = day_of_index(name)
        return day is not None and day < self.ctx.today()

    def _under_hours(self, sx: sphinxql.Sphinx, name: str, first: int) -> tuple[int, bool]:
        """The lines day index ``name`` (whose day starts at minute ``first``) has under its
        day's hour tokens, and whether that is every line it holds (two queries).  For a past
        day, that answers ``within_day`` too (kept in ``_WITHIN``)."""
        self.ctx.budget.spend()
        by_hour = sum(keyword_docs_each(sx, [
            unit_token(HOUR_MS, h) for h in range(first // 60, first // 60 + 24)], name))
        self.ctx.budget.spend()
        every = by_hour == index_lines(sx, name)
        if self._past(name):
            _WITHIN[(*server_of(sx), name)] = every
        return by_hour, every


def needed_words(match: str) -> list[str]:
    """The words every line matching a MATCH() text has: its words but those excluded
    (``-w``, ``!w``) and pieces of words (``*``); none when it has alternatives (``|``)."""
    if "|" in match:
        return []
    text = _EXCLUDED_RE.sub(" ", _FIELD_RE.sub(" ", match))
    return [w for w in _WORD_RE.findall(text) if "*" not in w]


def keyword_rows(sx: sphinxql.Sphinx, words: list[str], name: str) -> dict[str, int]:
    """How many lines of index ``name`` have each keyword ``words`` make, by the keyword as
    the index normalises it (one CALL KEYWORDS, from the dictionary)."""
    rows = sx.query("CALL KEYWORDS(%s, %s, 1)", [" ".join(words), name])
    return {str(r.get("normalized") or r.get("tokenized")): int(r.get("docs") or 0)
            for r in rows}


def keyword_docs_each(sx: sphinxql.Sphinx, words: list[str], name: str) -> list[int]:
    """How many lines of index ``name`` have each of ``words`` (time tokens: the index keeps
    them as they are)."""
    docs = keyword_rows(sx, words, name)
    return [docs.get(w, 0) for w in words]


def server_of(sx: sphinxql.Sphinx) -> tuple[str, int]:
    """Which searchd ``sx`` talks to, for what is kept per searchd (fakes have no address)."""
    return getattr(sx, "host", ""), getattr(sx, "port", 0)


def day_name(ix: IndexConfig, day: int) -> str:
    """The day index of ``ix`` for the ``day``-th day since the epoch."""
    return day_index(ix.name, day_of_ms(day * DAY_MS))


def first_minute(index: str) -> int | None:
    """The first minute (since the epoch) of a day index's day."""
    day = day_of_index(index)
    return None if day is None else day_start_ms(day) // 60_000


def index_lines(sx: sphinxql.Sphinx, name: str) -> int:
    """How many lines index ``name`` holds (SHOW INDEX STATUS)."""
    return int(sphinxql.index_status(sx, name).get("indexed_documents") or -1)
