"""Where a query's terms match a line's text: pieces of the text, each with its term's colour.

Words and phrases match as Sphinx matched them (whole keywords, any case), patterns exactly
where they match (alco.search.patterns).  Overlapping matches: the one that starts first
wins, the longer one when they start together.
"""

from __future__ import annotations

from alco.search.checks import Term

Piece = tuple[str, int | None]  # a part of a line's text, and the term it matched (if any)
MAX_SPANS = 1000  # highlights in one line: the rest of a long line is shown plain


def pieces(text: str, terms: list[Term]) -> list[Piece]:
    """``text`` in pieces, each match with its term's number."""
    return _cut(text, [(start, end, term.n) for term in terms
                       for start, end in term.check.spans(text)[:MAX_SPANS]])


def pieces_many(texts: list[str], terms: list[Term]) -> list[list[Piece]]:
    """``pieces`` of each text, each term matched over them all at once (a page's lines)."""
    found: list[list[tuple[int, int, int]]] = [[] for _ in texts]
    for term in terms:
        for i, spans in enumerate(term.check.spans_many(texts)):
            found[i] += [(start, end, term.n) for start, end in spans[:MAX_SPANS]]
    return [_cut(text, spans) for text, spans in zip(texts, found, strict=True)]


def _cut(text: str, spans: list[tuple[int, int, int]]) -> list[Piece]:
    spans.sort(key=lambda s: (s[0], s[0] - s[1]))
    out: list[Piece] = []
    at = 0
    for start, end, n in spans[:MAX_SPANS]:
        if start < at:
            continue
        if start > at:
            out.append((text[at:start], None))
        out.append((text[start:end], n))
        at = end
    if at < len(text):
        out.append((text[at:], None))
    return out
