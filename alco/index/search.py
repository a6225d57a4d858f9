"""Searches: a parsed query and a time range -> SphinxQL over the day indexes -> lines."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson

from alco.config import Config, IndexConfig
from alco.index import query as qlang
from alco.index import sphinxql
from alco.index.schema import (
    IndexSchema,
    day_index,
    day_of_us,
    field_column,
    id_range_of_us,
    tag_token,
)
from alco.index.sphinxconf import retention_days

MAX_LIMIT = 1000
HL_OPEN, HL_CLOSE = "\x01", "\x02"
JSON_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SearchError(ValueError):
    """Bad user input: becomes a 400 with this message."""


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
    highlight: str | None

    def as_json(self) -> dict:
        return {
            "id": str(self.id),
            "ts": datetime.fromtimestamp(self.ts_us / 1_000_000, UTC).isoformat(),
            "message": self.message,
            "fields": self.fields,
            "highlight": self.highlight,
        }


@dataclass
class Page:
    lines: list[Line]
    next: str | None
    prev: str | None

    def as_json(self) -> dict:
        return {"lines": [ln.as_json() for ln in self.lines], "next": self.next,
                "prev": self.prev}


def highlight_html(snippet: str) -> str:
    """Escape a snippet for HTML, turning the match markers into <mark> elements."""
    text = html.escape(snippet, quote=False)
    return text.replace(HL_OPEN, "<mark>").replace(HL_CLOSE, "</mark>")


@dataclass
class Compiled:
    where: list[str]
    params: list
    select: list[str]
    select_params: list
    snippet: str


class Searcher:
    """Runs line queries of one configuration against searchd."""

    def __init__(self, config: Config, sphinx: sphinxql.Sphinx,
                 today: date | None = None) -> None:
        self.config = config
        self.sphinx = sphinx
        self._today = today

    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    def day_indexes(self, ix: IndexConfig, from_us: int | None, to_us: int | None) -> list[str]:
        days = retention_days(ix, self.today())
        lo = day_of_us(from_us) if from_us is not None else days[0]
        hi = day_of_us(to_us) if to_us is not None else days[-1]
        return [day_index(ix.name, d) for d in days if lo <= d <= hi]

    def compile(self, ix: IndexConfig, text: str, known: set[str] | None) -> Compiled:
        try:
            parsed = qlang.parse(text, known)
        except qlang.QueryError as exc:
            raise SearchError(f"{exc} (at position {exc.position})") from None
        schema = IndexSchema.of(ix)
        text_fields = {c: field_column(c) for c in schema.indexed}
        match = qlang.match_expression(parsed, schema.filtered, text_fields, tag_token)
        c = Compiled([], [], [], [], "")
        if match:
            c.where.append("MATCH(%s)")
            c.params.append(match)
        for n, flt in enumerate(qlang.json_filters(parsed, schema.filtered, text_fields)):
            if not JSON_NAME_RE.match(flt.field):
                raise SearchError(f"cannot filter on field {flt.field!r}")
            alias = f"_f{n}"
            terms = []
            for value in flt.values:
                terms.append(f"IN(js.{flt.field}, %s)")
                c.select_params.append(value)
                if re.fullmatch(r"-?\d{1,18}", value):
                    terms.append(f"IN(js.{flt.field}, {int(value)})")
            c.select.append(f"{' + '.join(terms)} AS {alias}")
            c.where.append(f"{alias} {'=' if flt.negate else '>'} 0")
        words = [*parsed.words, *(f'"{p}"' for p in parsed.phrases)]
        c.snippet = " ".join(qlang.escape_match(w) if not w.startswith('"') else
                             '"' + qlang.escape_match(w[1:-1]) + '"' for w in words)
        return c

    def lines(self, ix: IndexConfig, lq: LineQuery, known: set[str] | None = None) -> Page:
        if not 1 <= lq.limit <= MAX_LIMIT:
            raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
        if lq.order not in ("asc", "desc"):
            raise SearchError("order must be asc or desc")
        c = self.compile(ix, lq.q, known)
        indexes = self.day_indexes(ix, lq.from_us, lq.to_us)
        if not indexes:
            return Page([], None, None)
        lo, hi = id_range_of_us(lq.from_us, lq.to_us)
        if lq.after is not None:
            lo = max(lo, lq.after + 1)
        if lq.before is not None:
            hi = min(hi, lq.before - 1)
        # Which end of the range to read from: after a cursor "after", or oldest-first without
        # a cursor, read upwards; otherwise read downwards from the newest.
        upward = lq.after is not None or (lq.before is None and lq.order == "asc")
        rows = self._select(indexes, c, lo, hi, upward, lq.limit + 1)
        more = len(rows) > lq.limit
        rows = rows[: lq.limit]
        lines = [self._line(r, bool(c.snippet)) for r in rows]
        return self._page(lines, more, upward, lq)

    def _page(self, lines: list[Line], more: bool, upward: bool, lq: LineQuery) -> Page:
        """Order the lines for display; ``next`` continues in the page's order, ``prev`` goes
        the other way.  A direction we did not read is assumed to hold more lines."""
        if not lines:
            return Page([], None, None)
        display_up = lq.order == "asc"
        if upward != display_up:
            lines.reverse()
        next_known = upward == display_up
        nxt = str(lines[-1].id) if (more or not next_known) else None
        prv = str(lines[0].id) if (more or next_known) else None
        return Page(lines, nxt, prv)

    def _select(self, indexes: list[str], c: Compiled, lo: int, hi: int, upward: bool,
                n: int) -> list[dict]:
        cols = ["id", "ts", "logline", "js", *c.select]
        params = list(c.select_params)
        if c.snippet:
            cols.append("SNIPPET(logline, %s, %s, %s, 'limit=0') AS hl")
            params += [c.snippet, "before_match=" + HL_OPEN, "after_match=" + HL_CLOSE]
        where = [*c.where, "id >= %s", "id <= %s"]
        params += [*c.params, lo, hi]
        sql = (f"SELECT {', '.join(cols)} FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {' AND '.join(where)} ORDER BY id {'ASC' if upward else 'DESC'} "
               f"LIMIT {n} OPTION max_matches={max(n, 1000)}")
        try:
            return self.sphinx.query(sql, params)
        except sphinxql.ProgrammingError as exc:
            raise SearchError(f"search failed: {exc.args[-1]}") from None

    def _line(self, row: dict, highlighted: bool) -> Line:
        js = row["js"]
        fields = orjson.loads(js) if js else {}
        hl = highlight_html(row["hl"]) if highlighted and row.get("hl") is not None else None
        return Line(int(row["id"]), int(row["ts"]), row["logline"], fields, hl)

    def count(self, ix: IndexConfig, from_us: int | None, to_us: int | None,
              text: str = "", known: set[str] | None = None) -> int:
        c = self.compile(ix, text, known)
        indexes = self.day_indexes(ix, from_us, to_us)
        if not indexes:
            return 0
        lo, hi = id_range_of_us(from_us, to_us)
        sql = (f"SELECT COUNT(*) AS n{''.join(', ' + s for s in c.select)} "
               f"FROM {', '.join(map(sphinxql.ident, indexes))} "
               f"WHERE {' AND '.join([*c.where, 'id >= %s', 'id <= %s'])}")
        try:
            rows = self.sphinx.query(sql, [*c.select_params, *c.params, lo, hi])
        except sphinxql.ProgrammingError as exc:
            raise SearchError(f"search failed: {exc.args[-1]}") from None
        return int(rows[0]["n"]) if rows else 0
