"""Reading widening id windows: disjoint, complete, starting at the end read first."""

from __future__ import annotations

import datetime

import pytest

from alco.config import IndexConfig, parse
from alco.index.schema import MS_SHIFT, make_id
from alco.index.search import TOP_ID, Searcher

DAY = datetime.date(2026, 11, 24)
T0 = int(datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.UTC).timestamp() * 1000)


def windows(lo: int, hi: int, upward: bool) -> list[tuple[int, int]]:
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=None, today=DAY)  # type: ignore
    return list(searcher._windows(IndexConfig(), lo, hi, upward))


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
    if lo > 0 and hi - lo > (3_600_000 << MS_SHIFT):
        assert first[1] - first[0] <= (60_000 << MS_SHIFT)  # a small first window


def test_newest_first_without_an_end_starts_near_now():
    ws = windows(make_id(T0 - 86_400_000, 0, 0), TOP_ID, upward=False)
    assert ws[0][1] == TOP_ID  # lines dated in the future are read too
    assert len(ws) == 5
