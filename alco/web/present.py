"""How the API shows what a search found: JSON of lines, pages and contexts, and a line's
matches as HTML (the text escaped, matches in ``<mark>`` elements)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from alco.search.highlight import Piece
from alco.search.reader import Context, Line, Page


def iso_us(ts_us: int) -> str:
    """A time in microseconds since the epoch as ISO 8601 (UTC)."""
    return datetime.fromtimestamp(ts_us / 1_000_000, UTC).isoformat()


def highlight_html(pieces: list[Piece]) -> str:
    """A line's text as HTML: escaped, each match in a ``<mark class="tN">`` element (N: the
    query term it matched, in the order typed)."""
    out = []
    for text, term in pieces:
        escaped = html.escape(text, quote=False)
        out.append(escaped if term is None else f'<mark class="t{term}">{escaped}</mark>')
    return "".join(out)


def line_json(line: Line) -> dict:
    """A line as the API sends it (the id as a string: JavaScript numbers lose 64-bit ids)."""
    return {
        "id": str(line.id),
        "ts": iso_us(line.ts_us),
        "message": line.message,
        "fields": line.fields,
        "highlight": None if line.matched is None else highlight_html(line.matched),
        **({"marks": line.marks} if line.marks else {}),  # ALCO's own, apart from the fields
    }


def page_json(page: Page) -> dict:
    body = {"lines": [line_json(ln) for ln in page.lines], "next": page.next,
            "prev": page.prev}
    if page.searched_to_us is not None:  # a partial read: how far it got
        body["searched_to"] = iso_us(page.searched_to_us)
    return body


def context_json(context: Context) -> dict:
    return {"line": line_json(context.line),
            "before": [line_json(ln) for ln in context.before],
            "after": [line_json(ln) for ln in context.after]}
