"""A new day's common values: the ``filtered`` values on a large share of an index's lines,
which its day index keeps no tag token of.

A value on most lines (levelname ``INFO``, a deployment's one ``project``, its two
``application``s) costs a doclist entry on each of them (~4 B a line) and finds nothing its
value hash (``v_<column>``, which every line of a day made for the line store has for facets)
does not find about as fast.  So when a day enters searchd's config (alco.index.bucketsizes),
the values of the index's busiest day searchd holds that are on at least ``[sphinx]
common_share`` of its lines become the new day's common values: each named in its schema by
an empty field (``schema.Common``), left out of its lines' tags by the writer
(``rowmemo.RowMemo``), and found by ``v_<column> = <crc>`` by the reader
(alco.search.compile).  A value's text comes from the catalog in Redis (the hash is all
searchd groups by); a value the catalog does not hold, or whose CRC another value there
shares, stays a tag token.
"""

from __future__ import annotations

from collections.abc import Callable

from alco.index import sphinxql
from alco.index.schema import Common, value_attr, value_hash

MAX_PER_COLUMN = 8  # common values a column may have on one day


def decide(sx: sphinxql.Sphinx, busiest: str, columns: tuple[str, ...], share: float,
           values: Callable[[str], list[str] | None]) -> list[Common] | None:
    """The common values of ``columns`` on day index ``busiest`` (its lines counted by their
    value hashes, one GROUP BY a column): those on at least ``share`` of its lines whose text
    ``values`` (the catalog's values of a column) names; None when the catalog cannot say."""
    total = int(sphinxql.index_status(sx, busiest).get("indexed_documents") or 0)
    if share <= 0 or total <= 0:
        return []
    out: list[Common] = []
    for col in columns:
        try:
            rows = sx.query(f"SELECT {sphinxql.ident(value_attr(col))} AS v, COUNT(*) AS n "
                            f"FROM {sphinxql.ident(busiest)} GROUP BY v ORDER BY n DESC "
                            f"LIMIT {MAX_PER_COLUMN} OPTION max_matches=1000, ranker=none", [])
        except sphinxql.SphinxQueryError:  # (a day made without the column's hash)
            continue
        frequent = {int(r["v"]) for r in rows if int(r["v"]) and int(r["n"]) >= share * total}
        if not frequent:
            continue
        texts = values(col)
        if texts is None:
            return None
        by_crc: dict[int, str | None] = {}
        for text in texts:
            crc = value_hash(text)
            if crc in frequent:
                by_crc[crc] = text if by_crc.get(crc, text) == text else None
        out += [Common.of(col, text) for text in by_crc.values() if text is not None]
    return sorted(out)
