"""Where a line's text comes from: the line store, or searchd for days made before it.

Day indexes made with the line store (alco.linestore) hold the line as a full-text field
only; those made before keep it in their ``logline`` string attribute until they age out, and
a shard of a distributed index keeps it there too.  A read asks searchd for ``logline`` only
when every day index it reads has the attribute; otherwise it reads ids and fills in the
text: from the store, and for rows the store does not hold, from the attribute of the day
indexes that have it (one query more, on the days a layout changed).  A row found in neither
gets an empty text and the mark ``missing_text`` (a read never hides a line it found).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from alco.index import sphinxql
from alco.index.schema import DayLayout
from alco.linestore.reading import LineReader
from alco.search.dictionary import server_of

_HAS_ATTR: dict[tuple[str, int, str], bool] = {}  # (searchd, day index) -> has ``logline``


@functools.lru_cache(maxsize=8)
def line_reader(data_dir: str) -> LineReader:
    """The process's reader of the line store under ``data_dir`` (its caches are shared)."""
    return LineReader(Path(data_dir))


def has_text_attr(sx: sphinxql.Sphinx, index: str) -> bool:
    """Whether day index ``index`` keeps the line text as its ``logline`` attribute
    (DESCRIBE; kept for the process's life: an index keeps the schema it was made with).  An
    index that cannot say (distributed: its agents are shards, which keep it) is taken to."""
    key = (*server_of(sx), index)
    if key not in _HAS_ATTR:
        try:
            columns = sphinxql.describe(sx, index)
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                return True  # not known now: not kept (the query itself will say)
            columns = set()
        _HAS_ATTR[key] = DayLayout.of(columns).keeps_text
    return _HAS_ATTR[key]


class Texts:
    """The text of the rows of one searcher's reads."""

    def __init__(self, sx: sphinxql.Sphinx, data_dir: str) -> None:
        self.sx = sx
        self.data_dir = data_dir

    def columns(self, indexes: list[str], columns: tuple[str, ...]) -> tuple[tuple[str, ...],
                                                                           bool]:
        """What to SELECT of ``columns`` from ``indexes``, and whether the text is to be
        filled in after (``fill``)."""
        if "logline" not in columns or all(has_text_attr(self.sx, i) for i in indexes):
            return columns, False
        return tuple(c for c in columns if c != "logline"), True

    def fill(self, name: str, indexes: list[str], rows: list[dict]) -> None:
        """Give ``rows`` (of ALCO index ``name``, read from ``indexes``) their ``logline``."""
        if not rows:
            return
        ids = [int(r["id"]) for r in rows]
        found = line_reader(self.data_dir).messages(name, ids, indexes)
        rest = [i for i in ids if i not in found]
        old = [i for i in indexes if has_text_attr(self.sx, i)]
        if rest and old:
            found.update((int(r["id"]), r["logline"])
                         for r in self._by_ids(old, rest, "id, logline"))
        for row in rows:
            text = found.get(int(row["id"]))
            row["logline"] = "" if text is None else text
            if text is None:
                row["missing_text"] = True

    def scannable(self, indexes: list[str]) -> bool:
        """Whether a scan of ``indexes`` can read the line store instead of searchd's rows:
        every one of them keeps its text there."""
        reader = line_reader(self.data_dir)
        return bool(indexes) and all(not has_text_attr(self.sx, i) and reader.has_day(i)
                                     for i in indexes)

    def scan_matching(self, indexes: list[str], lo: int, hi: int, upward: bool, n: int,
                      keep: Callable[[list[str]], list[bool]]
                      ) -> tuple[list[dict], int, int | None]:
        """The rows (id, ts, logline) among the first ``n`` lines of ``indexes`` with ids in
        [lo, hi] in the direction read whose messages ``keep`` keeps, from the line store
        (alco.linestore.reading.LineReader.scan_matching); with how many lines were read and,
        when ``n`` were, the last one's id."""
        lines, read, last = line_reader(self.data_dir).scan_matching(indexes, lo, hi, upward,
                                                                     n, keep)
        return [{"id": i, "ts": t, "logline": m} for i, t, m in lines], read, last

    def in_searchd(self, indexes: list[str], rows: list[dict]) -> list[dict]:
        """The rows searchd has: a scan of the store also meets lines of a batch whose rows
        never reached searchd (a crash between the two; stored again under other ids)."""
        if not rows:
            return rows
        have = {int(r["id"]) for r in self._by_ids(indexes, [int(r["id"]) for r in rows], "id")}
        return [r for r in rows if int(r["id"]) in have]

    def _by_ids(self, indexes: list[str], ids: list[int], columns: str) -> list[dict]:
        """``columns`` of the rows of ``indexes`` among ``ids`` (one query)."""
        marks = ", ".join(["%s"] * len(ids))
        return self.sx.query(
            f"SELECT {columns} FROM {', '.join(map(sphinxql.ident, indexes))} "
            f"WHERE id IN ({marks}) LIMIT {len(ids)} OPTION max_matches={max(len(ids), 1000)}",
            ids)
