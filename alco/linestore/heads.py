"""A day file's block heads in memory: which blocks may hold an id, found by bisect.

A page of scattered hits, or the lines around one of one host and process, looks up each
line's blocks on its own (ids far apart: alco.linestore.reading).  One SQLite lookup of the
blocks index costs ~18 µs an id (the statement, its rows made into tuples); the same from
these arrays ~3 µs, and a day of 10M lines (~160,000 blocks) keeps 3.7 MB of them.

Reading a day's heads costs ~0.9 µs a block (a 25M-line day: ~0.35 s), so no read pays for it
at once: a reader starts reading a day's heads once its SQLite lookups there (one a run of
ids close together) number LOAD_SHARE of the day's blocks (what the heads would have saved by
then is what they cost), reads them CHUNK at a time, one chunk a lookup at most (~15 ms), and
uses them once they are whole; meanwhile, and for the days it does not keep (HEAD_DAYS),
SQLite answers.  Once whole, the heads of blocks added since are read by rowid before each
lookup (a day file only grows).
"""

from __future__ import annotations

import bisect
from array import array
from operator import itemgetter

from alco.linestore.blocks import span_end
from alco.linestore.daydb import DayFile

HEAD_DAYS = 8  # days whose heads a reader keeps in memory (3.7 MB a day of 10M lines)
CHUNK = 16_384  # heads read at a time (~15 ms)
LOAD_SHARE = 1 / 16  # lookups in a day by SQLite, per block of it, before its heads are read

_ROWID, _MIN, _LAST = itemgetter(0), itemgetter(1), itemgetter(2)


class Heads:
    """(rowid, min_id, max_id) of every block of a day file, in the order of their last id
    (a block's last id is its own: ids are unique)."""

    __slots__ = ("_rowids", "_first", "_last", "_seen", "_whole", "_taken")

    def __init__(self) -> None:
        self._rowids, self._first, self._last = array("q"), array("q"), array("q")
        self._seen: int | None = None  # every block up to this rowid is here
        self._whole = False
        self._taken: set[int] = set()  # rowids past _seen read by a chunk

    def __len__(self) -> int:
        return len(self._last)

    @property
    def whole(self) -> bool:
        return self._whole

    def load(self, db: DayFile) -> bool:
        """Read the next CHUNK heads of ``db`` in the order of their last id; whether the
        heads are whole now (then ``refresh`` keeps them so)."""
        if self._whole:
            return True
        if self._seen is None:
            self._seen = db.last_rowid()
        rows = db.heads_past(self._last[-1] if self._last else -1, CHUNK)
        self._append(rows)
        self._taken.update(r for r in map(_ROWID, rows) if r > self._seen)
        if len(rows) == CHUNK:
            return False
        # blocks added while the chunks were read and ending before the chunk then read are
        # in none of them: the blocks added since the first chunk are taken by rowid, but
        # those a chunk took
        self._whole = True
        rows = db.heads_after(self._seen)
        self._add([r for r in rows if r[0] not in self._taken])
        if rows:
            self._seen = rows[-1][0]
        self._taken = set()
        return True

    def refresh(self, db: DayFile) -> None:
        """Take the heads of the blocks added to ``db`` since (whole heads only)."""
        assert self._whole and self._seen is not None
        rows = db.heads_after(self._seen)
        if rows:
            self._seen = rows[-1][0]
            self._add(rows)

    def _add(self, rows: list[tuple[int, int, int]]) -> None:
        if not rows:
            return
        rows = sorted(rows, key=_LAST)
        last = self._last
        if not last or rows[0][2] >= last[-1]:
            self._append(rows)
            return
        # (a block ending before the last one here: a writer's block that stayed open while
        # others ended, or a late line's; most are near the end, where the arrays move little)
        for rowid, lo, hi in rows:
            at = bisect.bisect_right(last, hi)
            self._rowids.insert(at, rowid)
            self._first.insert(at, lo)
            last.insert(at, hi)

    def _append(self, rows: list[tuple[int, int, int]]) -> None:
        self._rowids.extend(map(_ROWID, rows))
        self._first.extend(map(_MIN, rows))
        self._last.extend(map(_LAST, rows))

    def heads_first(self, lo: int, hi: int, extra: int,
                    expect: int = 0) -> list[tuple[int, int, int]]:
        """``DayFile.heads_first(lo, hi, extra)`` from memory (whole heads only).  The walk is
        daydb's ``_holding`` written out over the arrays: fed a generator of tuples, that one
        took 3.8 ms for 950 scattered ids against 2.3 (tests hold the two to the same
        answer)."""
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
