"""Histograms from kept per-minute counts: which minutes of a range come from them, and that
those and the ranges left to searchd tile the range exactly."""

from __future__ import annotations

import random
from array import array

from alco.index.schema import make_id
from alco.search.histcache import (
    DAY_MINUTES,
    MINUTE_MS,
    DayPart,
    MinuteCounts,
    add_minutes,
    plan,
    sealed_minute,
)

DAY0 = 29_442_240  # 2025-12-23 00:00 UTC, in minutes
DAYS = [(f"logs_{i}", DAY0 + i * DAY_MINUTES) for i in range(4)]
SEALED = DAY0 + 3 * DAY_MINUTES + 16 * 60  # the 4th day's 16:00


def ids_of_minutes(first: int, end: int) -> tuple[int, int]:
    return make_id(first * MINUTE_MS, 0, 0), make_id(end * MINUTE_MS, 0, 0) - 1


def test_a_day_is_kept_for_a_part_of_at_least_a_quarter_of_its_sealed_hours():
    # at 16:00 (16 sealed hours), three hours of today are counted by searchd; five are kept
    for hours, kept in ((3, False), (5, True)):
        lo, hi = ids_of_minutes(SEALED - hours * 60, SEALED)
        assert bool(plan(lo, hi, DAYS, SEALED)[0]) is kept


def test_whole_past_days_come_from_kept_counts_and_the_edges_from_searchd():
    lo = make_id((DAY0 + 30) * MINUTE_MS + 5, 0, 0)  # 00:30:00.005 of the first day
    hi = make_id((SEALED + 45) * MINUTE_MS, 0, 0)  # 16:45 of the 4th day
    parts, live = plan(lo, hi, DAYS, SEALED)
    assert [(p.index, p.first, p.end, p.sealed) for p in parts] == [
        ("logs_0", DAY0 + 31, DAY0 + DAY_MINUTES, DAY0 + DAY_MINUTES),
        ("logs_1", DAY0 + DAY_MINUTES, DAY0 + 2 * DAY_MINUTES, DAY0 + 2 * DAY_MINUTES),
        ("logs_2", DAY0 + 2 * DAY_MINUTES, DAY0 + 3 * DAY_MINUTES, DAY0 + 3 * DAY_MINUTES),
        ("logs_3", DAY0 + 3 * DAY_MINUTES, SEALED, SEALED),
    ]
    # the partial first minute, and the hour that is not sealed yet
    assert live == [(lo, make_id((DAY0 + 31) * MINUTE_MS, 0, 0) - 1),
                    (make_id(SEALED * MINUTE_MS, 0, 0), hi)]


def test_a_day_the_range_covers_for_less_than_two_hours_is_counted_by_searchd():
    lo, hi = ids_of_minutes(DAY0 + DAY_MINUTES - 100, DAY0 + DAY_MINUTES + 400)
    parts, live = plan(lo, hi, DAYS, SEALED)
    assert [p.index for p in parts] == ["logs_1"]
    assert live == [(lo, make_id((DAY0 + DAY_MINUTES) * MINUTE_MS, 0, 0) - 1)]


def test_parts_and_ranges_left_tile_any_range_exactly():
    rng = random.Random(7)
    span = (make_id(DAY0 * MINUTE_MS, 0, 0), make_id((DAY0 + 4 * DAY_MINUTES) * MINUTE_MS, 0, 0))
    for _ in range(2000):
        lo, hi = sorted(rng.randrange(*span) for _ in range(2))
        parts, live = plan(lo, hi, DAYS, SEALED)
        pieces = sorted([ids_of_minutes(p.first, p.end) for p in parts] + live)
        assert pieces[0][0] == lo and pieces[-1][1] == hi
        assert all(a[1] + 1 == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
        assert len(parts) <= 8
        for p in parts:
            assert p.end - p.first >= max(120, (p.sealed - p.day) // 4)
            assert p.day <= p.first < p.end <= p.sealed
            assert p.sealed <= min(p.day + DAY_MINUTES, SEALED)


def test_kept_minutes_add_up_into_buckets():
    part = DayPart("logs_0", DAY0, DAY0 + DAY_MINUTES, DAY0 + 58, DAY0 + 125)
    minutes = array("q", [1] * DAY_MINUTES)
    counts = {(DAY0 + 60) * MINUTE_MS * 1000: 5}
    add_minutes(counts, minutes, part, 3_600_000_000)
    assert counts == {DAY0 * MINUTE_MS * 1000: 2, (DAY0 + 60) * MINUTE_MS * 1000: 65,
                      (DAY0 + 120) * MINUTE_MS * 1000: 5}


def test_counts_are_kept_while_their_lines_are_unchanged_and_the_oldest_go_first():
    kept = MinuteCounts(entries=2)
    a, b, c = (array("q", [i]) for i in range(3))
    kept.put("a", 10, a)
    kept.put("b", 10, b)
    assert kept.get("a", 10) is a and kept.get("a", 11) is None  # a late line: not these
    kept.put("c", 10, c)  # "b" was used least recently
    assert kept.get("b", 10) is None and kept.get("a", 10) is a and kept.get("c", 10) is c


def test_an_hour_is_sealed_two_minutes_after_it_ends():
    hour = DAY0 * MINUTE_MS + 5 * 3_600_000
    assert sealed_minute(hour + 119_999) == DAY0 + 4 * 60
    assert sealed_minute(hour + 120_000) == DAY0 + 5 * 60
