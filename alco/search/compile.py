"""A query as SphinxQL pieces: the MATCH() text, filters on the JSON attribute, and the WHERE
clause over an id range (with the time tokens that cover it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from alco.config import IndexConfig
from alco.errors import BadInput
from alco.index.schema import IndexSchema, field_column, id_ms, tag_token, time_cover
from alco.search import language as qlang

JSON_NAME_MAX = 128
INT_RE = re.compile(r"-?\d{1,18}")
FLOAT_RE = re.compile(r"-?\d{1,18}\.\d{1,18}")
TOP_ID = (1 << 63) - 1
COVER_MAX_MS = 120_000  # id ranges up to this wide also MATCH their time tokens


class SearchError(BadInput):
    """A search that cannot run as asked (a query that does not parse, a bad limit); a
    mistake in the query text carries its ``position`` in ``detail``."""


@dataclass
class Compiled:
    """SphinxQL pieces of a query: the MATCH() text, other WHERE terms and the SELECT
    expressions they filter on."""

    match: str = ""
    keywords: bool = True  # False: the MATCH() text has no keyword and matches no line
    where: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    select_params: list = field(default_factory=list)
    snippet: str = ""


def _json_paths(name: str) -> list[tuple[str, list[str]]]:
    """SphinxQL expressions (names as parameters) for field ``name`` in the JSON attribute:
    the key exactly as sent and, for a dotted name, the nested path (``a.b`` -> ``a`` -> ``b``)."""
    paths = [("js[%s]", [name])]
    parts = name.split(".")
    if len(parts) > 1 and all(parts):
        paths.append(("js" + "[%s]" * len(parts), parts))
    return paths


def _json_terms(name: str, value: str) -> tuple[list[str], list]:
    """SELECT terms (summed) true when JSON field ``name`` equals ``value`` as text or number
    (for a list: contains it)."""
    terms: list[str] = []
    params: list = []
    for path, names in _json_paths(name):
        terms.append(f"IN({path}, %s)")
        params += [*names, value]
        if INT_RE.fullmatch(value):
            terms.append(f"IN({path}, %s)")
            params += [*names, int(value)]
        elif FLOAT_RE.fullmatch(value):
            terms.append(f"{path} = %s")
            params += [*names, float(value)]
        elif value == "true":
            terms.append(f"{path} = 1")
            params += names
    return terms, params


def compile_query(ix: IndexConfig, parsed: qlang.Query) -> Compiled:
    """Filters on ``filtered`` columns go to tag tokens, ``indexed`` ones to their own
    full-text field, the rest to the JSON attribute (a scan: slow on big days)."""
    schema = IndexSchema.of(ix)
    text_fields = {c: field_column(c) for c in schema.indexed}
    try:
        match = qlang.match_expression(parsed, schema.filtered, text_fields, tag_token)
    except qlang.QueryError as exc:
        raise SearchError(f"{exc} (at position {exc.position})",
                          position=exc.position) from None
    c = Compiled(match=match,
                 keywords=qlang.has_positive(parsed, schema.filtered, text_fields))
    for n, flt in enumerate(qlang.json_filters(parsed, schema.filtered, text_fields)):
        if not flt.field or len(flt.field) > JSON_NAME_MAX or not flt.field.isprintable():
            raise SearchError(f"cannot filter on field {flt.field!r}")
        terms: list[str] = []
        for value in flt.values:
            more, params = _json_terms(flt.field, value)
            terms += more
            c.select_params += params
        c.select.append(f"{' + '.join(terms)} AS _f{n}")
        c.where.append(f"_f{n} {'=' if flt.negate else '>'} 0")
    words = [qlang.escape_match(w) for w in parsed.words]
    words += ['"' + qlang.escape_match(p) + '"' for p in parsed.phrases]
    c.snippet = " ".join(words)
    return c


def compile_text(ix: IndexConfig, text: str, known: set[str] | None) -> Compiled:
    try:
        parsed = qlang.parse(text, known)
    except qlang.QueryError as exc:
        raise SearchError(f"{exc} (at position {exc.position})",
                          position=exc.position) from None
    return compile_query(ix, parsed)


def where_ids(c: Compiled, lo: int, hi: int, cover: bool = True,
              open_top: tuple[int, int] | None = None) -> tuple[str, list]:
    """The WHERE clause of ``c`` over ids [lo, hi], and its parameters.

    A range of up to COVER_MAX_MS also matches the time tokens of its minutes (see
    alco.index.schema): Sphinx then skips through a query's matches to them instead of
    decoding all of them, and looks up the lines of a scan instead of walking the id range
    (measured on 10M lines: 2-6x faster for a word on every third line, 1-3x for a scan of a
    second; for rare words the id range alone is cheaper: alco.search.reader.Searcher.select).

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
        narrow = all(b - a <= COVER_MAX_MS for a, b in spans)  # else no tokens to compute
        tokens = sorted({t for a, b in spans if a <= b and narrow for t in time_cover(a, b)})
        if tokens:
            match = f"{match} @tags ({' | '.join(tokens)})".lstrip()
    terms = (["MATCH(%s)"] if match else []) + [*c.where, "id >= %s", "id <= %s"]
    params = ([match] if match else []) + [lo, hi]
    return " AND ".join(terms), params
