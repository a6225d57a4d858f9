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
    Kept,
    MinuteCounts,
    add_minutes,
    part_units,
    plan,
    sealed_minute,
    units_of,
)

DAY0 = 29_442_240  # 2025-12-23 00:00 UTC, in minutes
DAYS = [(f"logs_{i}", DAY0 + i * DAY_MINUTES) for i in range(4)]
SEALED = DAY0 + 3 * DAY_MINUTES + 16 * 60  # the 4th day's 16:00


def ids_of_minutes(first: int, end: int) -> tuple[int, int]:
    return make_id(first * MINUTE_MS, 0, 0), make_id(end * MINUTE_MS, 0, 0) - 1


def test_a_day_is_kept_for_a_part_of_at_least_two_hours_of_its_sealed_ones():
    # at 16:00 (16 sealed hours), 119 minutes of today are counted by searchd; 120 are kept
    for minutes, kept in ((119, False), (120, True)):
        lo, hi = ids_of_minutes(SEALED - minutes, SEALED)
        assert bool(plan(lo, hi, DAYS, SEALED)[0]) is kept


def test_the_ten_minutes_a_part_needs_are_the_stale_ones_only():
    part = DayPart("logs_0", DAY0, DAY0 + 16 * 60, DAY0 + 25, DAY0 + 70)
    assert part_units(part) == range(2, 7)
    lines = [10 * u for u in range(144)]
    kept = Kept()
    assert kept.stale(lines, part_units(part)) == [2, 3, 4, 5, 6]
    minutes = array("q", [1] * DAY_MINUTES)
    kept = kept.with_units(range(3, 6), lines, minutes)
    assert kept.stale(lines, part_units(part)) == [2, 6]
    assert sum(kept.minutes) == 30 and kept.minutes[29] == 0 and kept.minutes[30] == 1
    lines[4] += 1  # a late line in 00:40-00:49
    assert kept.stale(lines, range(3, 6)) == [4]
    again = kept.with_units(range(4, 5), lines, array("q", [2] * DAY_MINUTES))
    assert sum(again.minutes) == 40 and sum(kept.minutes) == 30  # (kept is not changed)
    assert again.stale(lines, range(3, 6)) == []


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
            assert p.end - p.first >= 120 or 2 * (p.end - p.first) >= p.sealed - p.day
            assert p.day <= p.first < p.end <= p.sealed
            assert p.sealed <= min(p.day + DAY_MINUTES, SEALED)


def test_kept_minutes_add_up_into_buckets():
    part = DayPart("logs_0", DAY0, DAY0 + DAY_MINUTES, DAY0 + 58, DAY0 + 125)
    minutes = array("q", [1] * DAY_MINUTES)
    counts = {(DAY0 + 60) * MINUTE_MS * 1000: 5}
    add_minutes(counts, minutes, part, 3_600_000_000)
    assert counts == {DAY0 * MINUTE_MS * 1000: 2, (DAY0 + 60) * MINUTE_MS * 1000: 65,
                      (DAY0 + 120) * MINUTE_MS * 1000: 5}


def test_the_least_recently_used_counts_go_first():
    kept = MinuteCounts(entries=2)
    a, b, c = Kept(), Kept(), Kept()
    kept.put("a", a)
    kept.put("b", b)
    assert kept.get("a") is a
    kept.put("c", c)  # "b" was used least recently
    assert kept.get("b") is not b and kept.get("a") is a and kept.get("c") is c


def test_ten_minutes_are_sealed_two_minutes_after_they_end():
    unit = DAY0 * MINUTE_MS + 5 * 3_600_000 + 20 * MINUTE_MS  # 05:20
    assert sealed_minute(unit + 119_999) == DAY0 + 5 * 60 + 10
    assert sealed_minute(unit + 120_000) == DAY0 + 5 * 60 + 20


def test_early_in_the_day_a_part_of_half_its_sealed_minutes_is_kept():
    """At 01:52 today's 100 sealed minutes are kept whole (counting them costs what the
    part would); a part of less than half of them, and of less than two hours, is not."""
    sealed = DAY0 + 3 * DAY_MINUTES + 100
    for first, kept in ((DAY0 + 3 * DAY_MINUTES, True), (DAY0 + 3 * DAY_MINUTES + 51, False)):
        lo, hi = ids_of_minutes(first, sealed + 12)
        parts, live = plan(lo, hi, DAYS, sealed)
        assert bool(parts) is kept
        if kept:
            assert live == [ids_of_minutes(sealed, sealed + 12)]


def test_only_the_units_of_hours_whose_lines_changed_are_looked_up_again():
    """An hour whose lines are the number its kept units were last found current with needs
    no lookup of its ten-minute tokens; an hour never found current (-1) always does."""
    lines = [10] * 144
    kept = Kept().with_units(range(0, 12), lines, array("q", [1] * DAY_MINUTES))
    kept = kept.with_hours({0: 60, 1: 60})
    assert kept.suspect([60, 61] + [0] * 22, range(3)) == [1, 2]
    assert units_of([1, 2]) == list(range(6, 18))
    again = kept.with_hours({1: 61})
    assert again.suspect([60, 61] + [0] * 22, range(2)) == [] and kept.hours[1] == 60
    assert again.units == kept.units and again.minutes == kept.minutes
