"""The live tail's look-back: lines stored behind what the tail already sent.

Several writers store an index (more than one per collector, or one collector per shard
behind a head's distributed index), each in its own batches: a batch of one writer may be
stored after another writer's newer lines were sent, with ids below the tail's cursor.  Its
own writer does not know it is late (it knows only its own newest line and, a batch behind,
the index's newest as Redis had it), so the stream of late lines (alco.web.tail.LateLines)
may miss it.  Each poll therefore reads again the ids matching the query in the last
LOOKBACK_S (by the lines' time, to the millisecond) below the cursor and pushes, marked
late, those it has not sent yet.  A line further behind is pushed only if its writer reports
it late.  The writers say the time of each stored batch's oldest line (alco.catalog.stored):
a poll reads back only as far as the oldest line stored since the last one, and not at all
when nothing was stored below the cursor.  When more than LOOKBACK_ROWS lines match in that
window (a flood: the tail skips then anyway), the ones beyond are counted as skipped and the
window starts again at the cursor.
"""

from __future__ import annotations

from collections import OrderedDict

from alco.catalog.keys import LOOKBACK_S
from alco.config import IndexConfig
from alco.index.ids import id_after, make_id
from alco.search.compile import Compiled
from alco.search.reader import Line, Searcher

LOOKBACK_ROWS = 2000  # ids of that window read a poll, at most
REMEMBERED = 20_000  # ids already dealt with, kept against a second send


class Sent:
    """The ids a tail already sent, skipped or checked (its patterns left them out): the
    most recent REMEMBERED of them."""

    def __init__(self) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self._ids

    def add(self, ids: list[int]) -> None:
        for doc_id in ids:
            self._ids[doc_id] = None
        while len(self._ids) > REMEMBERED:
            self._ids.popitem(last=False)

    def between(self, lo: int, hi: int) -> int:
        """How many of the ids kept are in [lo, hi]."""
        return sum(1 for doc_id in self._ids if lo <= doc_id <= hi)


class LookBack:
    """One tail's look-back window below its cursor."""

    def __init__(self, sent: Sent, window_s: float = LOOKBACK_S,
                 rows: int = LOOKBACK_ROWS) -> None:
        self.sent = sent
        self.width_ms = int(window_s * 1000)
        self.rows = rows
        self.floor = 0  # nothing at or below this id is read again

    def start(self, searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int) -> None:
        """What the window holds when the tail starts was there before it: not sent."""
        searcher.start_request()
        self.sent.add(self._ids(searcher, ix, c, cursor))

    def skip_to(self, doc_id: int) -> None:
        """Lines at or below ``doc_id`` are sent or counted skipped (the tail's rate)."""
        self.floor = max(self.floor, doc_id)

    def poll(self, searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int,
             budget: int, oldest_ms: int | None = None) -> tuple[list[Line], int]:
        """Lines in the window not sent yet (the newest ``budget``) and how many more were
        left out (at most three queries); ``oldest_ms``: no line older than this was stored
        since the last poll (None: unknown)."""
        since = 0 if oldest_ms is None else make_id(oldest_ms, 0, 0)
        if since > cursor:
            return [], 0  # nothing stored behind the cursor
        searcher.start_request()
        ids = self._ids(searcher, ix, c, cursor, since)
        unseen = [i for i in ids if i not in self.sent]
        skipped = 0
        if len(ids) >= self.rows:  # the window holds more: count the rest as skipped
            lo, hi = self._lo(cursor, since), ids[-1] - 1
            skipped = max(0, searcher.count_ids(ix, c, lo, hi) - self.sent.between(lo, hi))
            self.skip_to(cursor)
        wanted = unseen[:budget]
        lines = searcher.lines_by_ids(ix, c, wanted) if wanted else []
        self.sent.add(unseen)  # what the checks left out, or the rate, is not read again
        return lines, skipped + len(unseen) - len(wanted)

    def _lo(self, cursor: int, since: int = 0) -> int:
        return max(self.floor + 1, id_after(cursor, -self.width_ms), since, 1)

    def _ids(self, searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int,
             since: int = 0) -> list[int]:
        """Ids in the window (from ``since`` on) that the index finds for ``c`` (its patterns
        unchecked), newest first (one query)."""
        rows = searcher.select_range(ix, c, self._lo(cursor, since), cursor, False, self.rows,
                                     columns=("id",))
        return [int(r["id"]) for r in rows]
