"""A query as SphinxQL pieces: the MATCH() text, filters on the JSON attribute, and the WHERE
clause over an id range (with the time tokens that cover it).  A filter on a value common on a
day (alco.index.commonvalues: no tag token there) is a filter on its value hash instead
(``Compiled.attrs``), on every day of the range read."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from alco.config import IndexConfig
from alco.errors import BadInput
from alco.index import buckets
from alco.index.ids import TOP_ID  # noqa: F401  (the readers' name for it)
from alco.index.schema import (
    HOUR_MS,
    PARTS_FIELD,
    IndexSchema,
    field_column,
    id_ms,
    tag_token,
    time_cover,
    value_attr,
    value_hash,
)
from alco.search import language as qlang
from alco.search import literals
from alco.search.checks import AnyOf, FieldCheck, FieldEquals, LineChecks, Term
from alco.search.patterns import MAX_PATTERN, Check, Pattern, PatternError, check_of

JSON_NAME_MAX = 128
COVER_MAX_MS = 120_000  # id ranges up to this wide also MATCH their minutes' tokens
COVER_MAX_TOKENS = 64  # with hour tokens: ranges covered by at most this many tokens
COVER_HOUR_MS = HOUR_MS  # with hour tokens: the widest range a count or a scan covers
# the tokens a range's two ends may need besides its whole hours: at most 9 minutes and 5
# ten-minute tokens at either end (alco.index.schema.time_cover)
EDGE_TOKENS = 2 * (9 + 5)


class SearchError(BadInput):
    """A search that cannot run as asked (a query that does not parse, a bad limit); a
    mistake in the query text carries its ``position`` in ``detail``."""


@dataclass
class Compiled:
    """SphinxQL pieces of a query: the MATCH() text, other WHERE terms and the SELECT
    expressions they filter on."""

    match: str = ""
    keywords: bool = True  # False: the MATCH() text has no keyword and matches no line
    checks: LineChecks = field(default_factory=LineChecks)  # patterns: checked line by line
    terms: list[Term] = field(default_factory=list)  # what to highlight, in colour order
    # what day indexes it was compiled for: their wildcards (alco.search.literals.WILD) and
    # the rule of their ids (alco.index.buckets)
    wild: str = literals.INFIX
    rule: int = buckets.RULE
    wild_matters: bool = False  # it has patterns, which narrow by the day's wildcards
    rule_matters: bool = False  # it has a word that only rule 1 takes for an id
    # the query as other day indexes run it (``variant``): without infixes (prefixes only,
    # ``infixes = false``; neither, made before wildcards were configured), ids by rule 1
    # (made before rule 2); compiled the first time such a day is read (most deployments
    # have none); None: the same query for every kind
    recompile: Callable[[str, int, frozenset[str], frozenset[Pair]], Compiled] | None = field(
        default=None, compare=False, repr=False)
    _variants: dict[tuple[str, int, frozenset[str], frozenset[Pair]], Compiled] = field(
        default_factory=dict, init=False, compare=False, repr=False)
    # the ``filtered`` and ``indexed`` columns it filters on through the index, and those it
    # checks against the fields as sent instead (``lacking``: a day index made before the
    # column had that role has no tag tokens or field of it)
    tagged: frozenset[str] = frozenset()
    texted: frozenset[str] = frozenset()
    lacking: frozenset[str] = frozenset()
    # the (column, value) of its filters on ``tagged`` columns; those a day read has as a
    # common value (``common``, no tag token there) are filtered on by their value hash,
    # ``attrs`` the WHERE terms of it (``v_host IN (...)``)
    tag_values: frozenset[Pair] = frozenset()
    common: frozenset[Pair] = frozenset()
    attrs: tuple[str, ...] = ()

    def variant(self, wild: str, rule: int, lacking: frozenset[str] | None = None,
                common: frozenset[Pair] | None = None) -> Compiled:
        """The query as day indexes of kind ``wild`` whose ids follow ``rule`` run it,
        checking the columns ``lacking`` against the fields as sent and filtering on the
        values ``common`` by their value hash."""
        lacking = self.lacking if lacking is None else lacking
        common = self.common if common is None else common
        key = (wild, rule, lacking, common)
        if self.recompile is None or key == (self.wild, self.rule, self.lacking, self.common):
            return self
        if key not in self._variants:
            self._variants[key] = self.recompile(*key)
        return self._variants[key]


Pair = tuple[str, str]  # a filter's column and one of its values


def _check(m: qlang.Matcher) -> Check:
    try:
        return check_of(Pattern(m.kind, m.source, m.ignore_case, m.word))
    except PatternError as exc:
        at = m.position + exc.offset
        raise SearchError(f"{exc.message} (at position {at})", position=at) from None


def _narrowing(parsed: qlang.Query, wild: str) -> str:
    """MATCH() text the positive patterns on the message need (alco.search.literals)."""
    clauses: list[literals.Clause] = []
    for m in parsed.matchers:
        if m.negate or m.field is not None:
            continue
        if m.kind == "text":
            clauses += literals.text_clauses(m.source, m.word, wild)
        else:
            clauses += literals.regex_clauses(m.source, m.word, wild)
    return literals.match_text(list(dict.fromkeys(clauses)))


def _terms(parsed: qlang.Query, checks: dict[int, Check]) -> list[Term]:
    """The highlighted terms, numbered in the order typed."""
    terms: list[Term] = []
    for n, (kind, i) in enumerate(parsed.order):
        if kind == "matcher":
            terms.append(Term(n, checks[i]))
            continue
        text = parsed.words[i] if kind == "word" else parsed.phrases[i]
        check = _words_check(text)
        if check is not None:
            terms.append(Term(n, check))
    return terms


def _words_check(text: str) -> Check | None:
    """A word or phrase as Sphinx matches it, checked in Python; None when it has no
    keyword or is too long to check (it is then only searched, not highlighted)."""
    if not qlang.has_keyword((text,)):
        return None
    try:
        return check_of(Pattern("words", text))
    except PatternError:
        return None


def _scan_only(parsed: qlang.Query,
               context: tuple[str, ...]) -> tuple[qlang.Query, list[FieldCheck]]:
    """A query MATCH() cannot narrow (nothing positive for it) but patterns can check: its
    negative words go to checks and its filters to the JSON attribute."""
    checks = []
    for word in parsed.not_words:
        check = _words_check(word)
        if check is None and qlang.has_keyword((word,)):
            raise SearchError(f"a word of at most {MAX_PATTERN} characters, please")
        if check is not None:
            checks.append(FieldCheck(check, True, None, context))
    return qlang.Query(filters=parsed.filters), checks


def _json_positive(parsed: qlang.Query, tag_fields: frozenset[str],
                   text_fields: dict[str, str]) -> bool:
    """Whether a filter on the JSON attribute is positive (``run:run1``): a positive term
    when nothing else is (``run:run1 -host:web-3 -timeout`` is a scan, not an error)."""
    return any(not f.negate for f in qlang.json_filters(parsed, tag_fields, text_fields))


def _id_checks(parsed: qlang.Query, context: tuple[str, ...], text_fields: dict[str, str],
               rule: int) -> tuple[qlang.Query, list[FieldCheck]]:
    """The words, phrases and values of ``indexed`` columns holding ids (by ``rule``), which
    day indexes with buckets find as their buckets (alco.index.buckets), checked line by line
    (a bucket holds other ids too); negated ones only checked (a bucket cannot rule a line
    out)."""
    out = [FieldCheck(_id_check(w), False, None, context)
           for w in parsed.words + parsed.phrases if buckets.query_texts(w, rule)]
    kept = []
    for w in parsed.not_words:
        if not buckets.query_texts(w, rule):
            kept.append(w)
        else:
            out.append(FieldCheck(_id_check(w), True, None, context))
    filters = []
    for f in parsed.filters:
        if f.field in text_fields and any(buckets.query_texts(v, rule)
                                          for v in f.values):
            out.append(FieldCheck(AnyOf([_id_check(v) for v in f.values]), f.negate, f.field))
            if f.negate:
                continue
        filters.append(f)
    return dataclasses.replace(parsed, not_words=tuple(kept), filters=tuple(filters)), out


def _id_check(text: str) -> Check:
    check = _words_check(text)
    if check is None:
        raise SearchError(f"a word of at most {MAX_PATTERN} characters, please")
    return check


def _by_hash(parsed: qlang.Query, tag_fields: frozenset[str], common: frozenset[Pair],
             negative: bool = False) -> tuple[qlang.Query, list[qlang.FieldFilter]]:
    """The filters on ``tag_fields`` with a value in ``common`` (with ``negative``, every
    negated one too) apart from the rest: those filtered on by their value hash."""
    apart, kept = [], []
    for f in parsed.filters:
        by_hash = f.field in tag_fields and (
            any((f.field, v) in common for v in f.values) or (negative and f.negate))
        (apart if by_hash else kept).append(f)
    return dataclasses.replace(parsed, filters=tuple(kept)), apart


def _attr_terms(filters: list[qlang.FieldFilter]) -> tuple[str, ...]:
    """WHERE terms of filters on value hashes (``v_host IN (...)``; a line without the
    column has 0)."""
    return tuple(f"{value_attr(f.field)} {'NOT IN' if f.negate else 'IN'} "
                 f"({', '.join(str(h) for h in sorted({value_hash(v) for v in f.values}))})"
                 for f in filters)


def _compile(ix: IndexConfig, parsed: qlang.Query, wild: str, rule: int,
             checks: dict[int, Check], lacking: frozenset[str] = frozenset(),
             common: frozenset[Pair] = frozenset()) -> Compiled:
    schema = IndexSchema.of(ix)
    text_fields = {c: field_column(c) for c in schema.indexed if c not in lacking}
    narrow = _narrowing(parsed, wild)
    line_checks = [FieldCheck(checks[i], m.negate, m.field)
                   for i, m in enumerate(parsed.matchers)]
    routed, id_checks = _id_checks(parsed, schema.context, text_fields, rule)
    line_checks += id_checks
    tag_fields: frozenset[str] | set[str] = frozenset(schema.filtered) - lacking
    routed, hashed = _by_hash(routed, frozenset(tag_fields), common)
    if any(not f.negate for f in hashed) and not narrow \
            and not qlang.has_positive(routed, tag_fields, text_fields):
        # (nothing positive left for MATCH(): the negated filters on values by their hash
        # too, negated words checked line by line)
        routed, more_hashed = _by_hash(routed, frozenset(tag_fields), common, negative=True)
        hashed += more_hashed
        if routed.not_words or routed.filters:
            routed, more = _scan_only(routed, schema.context)
            line_checks += more
            tag_fields, text_fields = frozenset(), {}
    elif (parsed.matchers or _json_positive(parsed, schema.filtered, text_fields)) \
            and not narrow and not qlang.has_positive(parsed, schema.filtered, text_fields):
        routed, more = _scan_only(routed, schema.context)
        line_checks += more
        tag_fields, text_fields = frozenset(), {}
    try:
        match = qlang.match_expression(routed, tag_fields, text_fields, tag_token, narrow, rule)
    except qlang.QueryError as exc:
        raise SearchError(f"{exc} (at position {exc.position})",
                          position=exc.position) from None
    if f"@{PARTS_FIELD}" in match and not match.startswith("@@relaxed"):
        match = "@@relaxed " + match  # (day indexes made before the parts field)
    for flt in qlang.json_filters(routed, tag_fields, text_fields):
        if not flt.field or len(flt.field) > JSON_NAME_MAX or not flt.field.isprintable():
            raise SearchError(f"cannot filter on field {flt.field!r}")
        # (checked against the fields as sent: searchd keeps them only on days made before
        # the line store kept them)
        line_checks.append(FieldEquals(flt.field, flt.values, flt.negate))
    c = Compiled(match=match, checks=LineChecks(line_checks),
                 keywords=bool(narrow) or qlang.has_positive(routed, tag_fields, text_fields),
                 attrs=_attr_terms(hashed))
    c.terms = _terms(parsed, checks)
    return c


def compile_query(ix: IndexConfig, parsed: qlang.Query) -> Compiled:
    """Filters on ``filtered`` columns go to tag tokens, ``indexed`` ones to their own
    full-text field, the rest to the JSON attribute (a scan: slow on big days).  Patterns
    narrow through the index where they have literals and are checked line by line."""
    checks = {i: _check(m) for i, m in enumerate(parsed.matchers)}

    texts = [*parsed.words, *parsed.phrases, *parsed.not_words,
             *(v for f in parsed.filters for v in f.values)]
    rule_matters = any(buckets.query_texts(t, 1) != buckets.query_texts(t, buckets.RULE)
                       for t in texts)

    schema = IndexSchema.of(ix)
    filtered_on = {f.field for f in parsed.filters}
    tagged = frozenset(filtered_on & set(schema.filtered))
    texted = frozenset(filtered_on & set(schema.indexed))

    tag_values = frozenset((f.field, v) for f in parsed.filters if f.field in tagged
                           for v in f.values)

    def make(wild: str, rule: int, lacking: frozenset[str] = frozenset(),
             common: frozenset[Pair] = frozenset()) -> Compiled:
        c = _compile(ix, parsed, wild, rule, checks, lacking, common)
        c.wild, c.rule, c.wild_matters, c.rule_matters = wild, rule, bool(checks), rule_matters
        c.tagged, c.texted, c.lacking = tagged, texted, lacking
        c.tag_values, c.common = tag_values, common
        if checks or rule_matters or tagged or texted:
            c.recompile = make
        return c

    return make(literals.INFIX, buckets.RULE)


def compile_text(ix: IndexConfig, text: str, known: set[str] | None) -> Compiled:
    try:
        parsed = qlang.parse(text, known)
    except qlang.QueryError as exc:
        raise SearchError(f"{exc} (at position {exc.position})",
                          position=exc.position) from None
    return compile_query(ix, parsed)


def where_ids(c: Compiled, lo: int, hi: int, cover: bool = True,
              open_top: tuple[int, int] | None = None,
              hours: bool = False, wide: bool = False) -> tuple[str, list]:
    """The WHERE clause of ``c`` over ids [lo, hi], and its parameters.

    The range also matches the time tokens that cover it (see alco.index.schema).  Sphinx
    then skips through a query's matches to them instead of decoding all of them, and looks up
    the lines of a scan instead of walking the id range.  The tokens' own lists cost about as
    much per line as a word's per match (measured at 10M lines: a day of every line through
    24 hour tokens 258 ms, by the id range alone 42 ms; a word on every third line 152 against
    81 ms): they pay off when the range holds a small part of a day's matches.  So they cover
    a range of up to COVER_MAX_MS; with ``hours`` (every day index searched has hour and
    ten-minute tokens) up to COVER_HOUR_MS, and with ``wide`` too (a window of a read, which
    stops at its LIMIT, of a full-text query) any range COVER_MAX_TOKENS cover.  For rare
    words the id range alone is cheaper: alco.search.reader.Searcher.read covers a window
    only after one with hits.

    A range open upwards is covered only with ``open_top = (newest_ms, now_ms)``: where the
    writers last reported the newest line, and now.  Its tokens are then those of [lo, newest
    + 1 min] and of [now - 1 min, now + 1 min]: a line outside both would have arrived since
    the report and be dated a minute or more away from its arrival: only newest-first reads
    pass ``open_top``, as such a line shows on the next read."""
    match = c.match
    if cover and lo > 0 and (c.keywords or not match):
        lo_ms = id_ms(lo)
        if hi < TOP_ID:
            spans = [(lo_ms, id_ms(hi))]
        elif open_top is not None:
            newest_ms, now_ms = open_top
            spans = [(lo_ms, newest_ms + 60_000), (max(lo_ms, now_ms - 60_000), now_ms + 60_000)]
        else:
            spans = []
        tokens = _cover(spans, hours, wide and bool(match and c.keywords))
        if tokens:
            match = f"{match} @tags ({' | '.join(tokens)})".lstrip()
    terms = (["MATCH(%s)"] if match else []) + ["id >= %s", "id <= %s", *c.attrs]
    params = ([match] if match else []) + [lo, hi]
    return " AND ".join(terms), params


def where_all(c: Compiled) -> tuple[str, list]:
    """The WHERE clause of ``c`` over a whole day index ("" for every line), and its
    parameters."""
    terms = (["MATCH(%s)"] if c.match else []) + list(c.attrs)
    return (f"WHERE {' AND '.join(terms)} " if terms else ""), ([c.match] if c.match else [])


def every_line(c: Compiled) -> bool:
    """Whether ``c`` matches every line (no MATCH(), no filter on a value hash), its
    patterns aside."""
    return not c.match and not c.attrs


def _cover(spans: list[tuple[int, int]], hours: bool, wide: bool) -> list[str]:
    """The time tokens of ``spans`` (ms), none when they would be too many."""
    widest = (COVER_MAX_TOKENS - EDGE_TOKENS) * HOUR_MS if hours and wide else \
        COVER_HOUR_MS if hours else COVER_MAX_MS
    if any(b - a > widest for a, b in spans):
        return []
    tokens = sorted({t for a, b in spans if a <= b for t in time_cover(a, b, hours)})
    return tokens if len(tokens) <= COVER_MAX_TOKENS else []
