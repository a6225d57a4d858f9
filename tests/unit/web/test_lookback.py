"""The live tail's look-back (alco.web.lookback): lines stored below the cursor after it
passed them are sent once; what it cannot send is counted as skipped, never lost silently."""

from __future__ import annotations

from types import SimpleNamespace

from alco.index.schema import make_id
from alco.search.compile import Compiled
from alco.web.lookback import LookBack, Sent

NOW_MS = 1_800_000_000_000


class Stored:
    """What the index holds: ids, as a searcher reads them (every line matches)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def start_request(self) -> None:
        pass

    def select_range(self, ix, c, lo, hi, upward, n, columns=()):
        inside = sorted((i for i in self.ids if lo <= i <= hi), reverse=not upward)
        return [{"id": i} for i in inside[:n]]

    def count_ids(self, ix, c, lo, hi):
        return sum(1 for i in self.ids if lo <= i <= hi)

    def lines_by_ids(self, ix, c, ids):
        return [SimpleNamespace(id=i) for i in sorted(ids)]


def ids_at(*ms: int, slot: int = 0) -> list[int]:
    return [make_id(NOW_MS + m, slot, 0) for m in ms]


def test_a_line_stored_behind_the_cursor_is_sent_once():
    stored = Stored(ids_at(0, 10, 20))
    back = LookBack(Sent(), window_s=1.0)
    cursor = stored.ids[-1]
    back.start(stored, None, Compiled(), cursor)  # there before the tail: not sent
    assert back.poll(stored, None, Compiled(), cursor, 100) == ([], 0)
    stored.ids += ids_at(15, slot=2)  # another shard's writer, a batch behind
    lines, skipped = back.poll(stored, None, Compiled(), cursor, 100)
    assert [ln.id for ln in lines] == ids_at(15, slot=2) and skipped == 0
    assert back.poll(stored, None, Compiled(), cursor, 100) == ([], 0)


def test_beyond_the_rate_or_the_window_rows_lines_are_counted_skipped():
    stored = Stored(ids_at(0))
    cursor = stored.ids[0]
    back = LookBack(Sent(), window_s=1.0, rows=5)
    back.start(stored, None, Compiled(), cursor)
    stored.ids += ids_at(*range(-20, 0), slot=2)  # 20 lines behind the cursor
    lines, skipped = back.poll(stored, None, Compiled(), cursor, 3)
    assert len(lines) == 3 and skipped == 17  # 3 sent, the rest counted
    assert back.poll(stored, None, Compiled(), cursor, 3) == ([], 0)  # never counted twice


def test_it_reads_back_only_as_far_as_the_oldest_line_stored_since_the_last_poll():
    stored = Stored(ids_at(0, 10, 20))
    cursor = stored.ids[-1]
    back = LookBack(Sent(), window_s=1.0)
    back.start(stored, None, Compiled(), cursor)
    stored.ids += ids_at(5, 15, slot=2)
    stored.select_range = None  # a query now would fail
    assert back.poll(stored, None, Compiled(), cursor, 100, NOW_MS + 21) == ([], 0)
    del stored.select_range
    lines, _ = back.poll(stored, None, Compiled(), cursor, 100, NOW_MS + 12)
    assert [ln.id for ln in lines] == ids_at(15, slot=2)  # 5 is older than it was told
