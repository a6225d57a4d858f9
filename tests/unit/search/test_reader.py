"""Reading widening id windows: disjoint, complete, starting at the end read first."""

from __future__ import annotations

import datetime
import time

import pytest

from alco.config import IndexConfig, parse
from alco.index.ids import id_after, id_ms
from alco.index.schema import make_id
from alco.search.compile import TOP_ID
from alco.search.reader import Searcher

DAY = datetime.date(2026, 11, 24)
T0 = int(datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.UTC).timestamp() * 1000)


def windows(lo: int, hi: int, upward: bool) -> list[tuple[int, int]]:
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY)  # type: ignore
    return list(searcher.windows.windows(IndexConfig(), lo, hi, upward))


@pytest.mark.parametrize("upward", [True, False])
@pytest.mark.parametrize(("lo", "hi"), [
    (make_id(T0 - 86_400_000, 0, 0), make_id(T0, 0, 0)),
    (make_id(T0, 0, 0), make_id(T0 + 30_000, 0, 0)),
    (make_id(T0, 0, 5), make_id(T0, 0, 5)),
    (0, make_id(T0, 0, 0)),
])
def test_windows_cover_the_range_once_from_the_end_read_first(lo, hi, upward):
    ws = windows(lo, hi, upward)
    assert all(a <= b for a, b in ws)
    ordered = sorted(ws)
    assert ordered[0][0] == lo and ordered[-1][1] == hi
    assert all(prev[1] + 1 == nxt[0] for prev, nxt in zip(ordered, ordered[1:], strict=False))
    assert ws == (ordered if upward else ordered[::-1])
    first = ws[0]
    if lo > 0 and id_ms(hi) - id_ms(lo) > 3_600_000:
        assert id_ms(first[1]) - id_ms(first[0]) <= 60_000  # a small first window


def test_newest_first_without_an_end_starts_near_now():
    ws = windows(make_id(T0 - 86_400_000, 0, 0), TOP_ID, upward=False)
    assert ws[0][1] == TOP_ID  # lines dated in the future are read too
    widths = [(id_ms(b + 1) - id_ms(a)) // 1000 for a, b in ws[1:-1]]
    assert widths == [8 ** k for k in range(1, len(ws) - 1)]  # 8 s, 64 s, ..., the rest
    assert len(ws) <= 9  # eightfold from a second: 30 days in 9 windows


def test_each_window_is_sized_by_the_hits_seen_so_far():
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY)  # type: ignore
    gen = searcher.windows.windows(
        IndexConfig(), make_id(T0 - 86_400_000, 0, 0), make_id(T0, 0, 0), False, 101)
    widths = []
    window = next(gen)
    for found in (40, 40, 0):
        widths.append(id_ms(window[1] + 1) - id_ms(window[0]))
        window = gen.send(found)
    widths.append(id_ms(window[1] + 1) - id_ms(window[0]))
    # 1 s gave 40 of 101: 61 more at 40/s, and a quarter more: 1.9 s, but a window is at
    # least twice as wide as the one before until twice as many hits were seen as are missing
    # (80 of 101: then as wide as the last at least), and eightfold after an empty one
    assert widths == [1000, 2000, 2000, 16000]
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY)  # type: ignore
    gen = searcher.windows.windows(
        IndexConfig(), make_id(T0 - 86_400_000, 0, 0), make_id(T0, 0, 0), True, 101)
    first = next(gen)
    second = gen.send(0)
    assert id_ms(second[1] + 1) - id_ms(second[0]) == 8 * (id_ms(first[1] + 1) - id_ms(first[0]))


def test_newest_first_starts_at_the_newest_line_known_and_still_reads_up_to_the_top():
    hour_ago_ms = time.time_ns() // 1_000_000 - 3_600_000
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY,  # type: ignore
                        newest=lambda name: hour_ago_ms / 1000)
    first = next(searcher.windows.windows(IndexConfig(), 0, TOP_ID, False, 100,
                                          searcher.ctx.open_top(IndexConfig())))
    assert first == (make_id(hour_ago_ms + 1 - 1000, 0, 0) + 1, TOP_ID)
    unknown = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY,  # type: ignore
                       newest=lambda name: None)
    lo, hi = next(unknown.windows.windows(IndexConfig(), 0, TOP_ID, False, 100,
                                          unknown.ctx.open_top(IndexConfig())))
    assert hi == TOP_ID and abs(id_ms(lo) - (time.time_ns() // 1_000_000 - 1000)) < 5000


def test_a_histogram_range_is_cut_in_equal_parts_up_to_the_newest_line():
    from alco.search.histograms import split_range

    lo, end, hi = make_id(T0 - 3_600_000, 0, 0), make_id(T0, 0, 0), TOP_ID
    parts = split_range(lo, end, hi, 2)
    assert parts[0][0] == lo and parts[-1][1] == hi
    assert parts[0][1] + 1 == parts[1][0] == lo + (end - lo) // 2
    assert split_range(lo, id_after(lo, 60_000), hi, 2) == [(lo, hi)]  # too narrow
    assert split_range(0, end, hi, 2) == [(0, hi)]  # an open start: nothing to cut
