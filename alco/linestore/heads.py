"""A day file's block heads in memory: which blocks may hold an id, found by bisect.

A page of scattered hits or the lines around one of one host and process looks up each line's
blocks on its own (ids far apart: alco.linestore.reading).  One SQLite lookup of the blocks
index an id costs ~18 µs (the statement, its rows made into tuples); the same from these arrays
~3 µs, and a day of 10M lines (~160,000 blocks) keeps 3.7 MB of them.  A reader keeps the heads
of HEAD_DAYS days and reads those of blocks added since it last looked (by rowid: a day file
only grows, rows are never deleted) before each lookup.
"""

from __future__ import annotations

import bisect
from array import array
from operator import itemgetter

from alco.linestore.blocks import span_end
from alco.linestore.daydb import DayFile

HEAD_DAYS = 8  # days whose heads a reader keeps in memory (3.7 MB a day of 10M lines)

_LAST = itemgetter(2)


class Heads:
    """(rowid, min_id, max_id) of every block of a day file, in the order of their last id
    (ties in no given order, as the index gives them)."""

    __slots__ = ("_rowids", "_first", "_last", "_seen")

    def __init__(self) -> None:
        self._rowids, self._first, self._last = array("q"), array("q"), array("q")
        self._seen = 0  # the last rowid read

    def __len__(self) -> int:
        return len(self._last)

    def refresh(self, db: DayFile) -> None:
        """Take the heads of the blocks ``db`` holds that these do not yet."""
        if not self._seen:
            rows = db.heads_by_last()
            if rows:
                self._seen = max(map(itemgetter(0), rows))
            self._append(rows)
            return
        rows = db.heads_after(self._seen)
        if not rows:
            return
        self._seen = rows[-1][0]
        rows.sort(key=_LAST)
        last = self._last
        if not last or rows[0][2] >= last[-1]:
            self._append(rows)
            return
        # (a block ending before the last one read: a writer's block that stayed open while
        # others ended, or a late line's; near the end, so the arrays move little)
        for rowid, lo, hi in rows:
            at = bisect.bisect_right(last, hi)
            self._rowids.insert(at, rowid)
            self._first.insert(at, lo)
            last.insert(at, hi)

    def _append(self, rows: list[tuple[int, int, int]]) -> None:
        self._rowids.extend(map(itemgetter(0), rows))
        self._first.extend(map(itemgetter(1), rows))
        self._last.extend(map(_LAST, rows))

    def first(self, lo: int, hi: int, extra: int) -> list[tuple[int, int, int]]:
        """The heads of the blocks that may hold ids in [lo, hi], in the order of their last
        id, as far as the first ``extra`` blocks ending past ``hi``: where the blocks holding
        [lo, hi] are unless a writer's block stays open while others end ``extra``
        (``DayFile.heads`` finds it: a block may end up to SPAN_MS past ``hi``, and thousands
        of blocks may end in that span)."""
        last, first, rowids = self._last, self._first, self._rowids
        out: list[tuple[int, int, int]] = []
        past, end, n = 0, span_end(hi), len(last)
        at = bisect.bisect_left(last, lo)
        while at < n:
            ends = last[at]
            if ends >= end:
                break
            if ends > hi:
                past += 1
                if past > extra:
                    break
            starts = first[at]
            if starts <= hi:
                out.append((rowids[at], starts, ends))
            at += 1
        return out

    def of_ids(self, ids: list[int], extra: int) -> dict[int, list[tuple[int, int, int]]]:
        """``first(x, x, extra)`` for each id ``x`` of ``ids``."""
        return {x: self.first(x, x, extra) for x in ids}
