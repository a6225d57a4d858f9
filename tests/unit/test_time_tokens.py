"""Time tokens: every line names its hour, ten minutes and minute; a narrow id range is
matched through the fewest tokens whose lines are exactly those of its minutes."""

from __future__ import annotations

import random

import pytest

from alco.index.schema import make_id, time_cover, time_tokens
from alco.index.search import COVER_MAX_MS, TOP_ID, Compiled, where_ids

MINUTE = 60_000
T0 = 1_795_999_980_000  # 2026-11-29T21:33:00Z, the start of a minute


def minutes_of(tokens: list[str]) -> list[int]:
    """The minutes (since the epoch) whose lines carry one of ``tokens``."""
    out = []
    for token in tokens:
        unit, n = (int(part) for part in token[1:].split("m"))
        out += range(n * unit, (n + 1) * unit)
    return sorted(out)


def test_a_line_carries_its_hour_ten_minutes_and_minute():
    minute = (T0 + 59_999) // MINUTE
    assert time_tokens(T0 + 59_999).split() == [
        f"z60m{minute // 60}", f"z10m{minute // 10}", f"z1m{minute}"]


def test_a_minute_is_one_token_and_an_hour_inside_the_range_is_one_token():
    assert time_cover(T0, T0 + 59_999) == [f"z1m{T0 // MINUTE}"]
    hour = -(-T0 // 3_600_000)
    start = hour * 3_600_000
    assert time_cover(start, start + 3_600_000 - 1) == [f"z60m{hour}"]


def test_the_cover_is_exact_and_small():
    rnd = random.Random(7)
    for _ in range(3000):
        lo = T0 + rnd.randrange(0, 10 * 86_400_000)
        hi = lo + rnd.randrange(0, 3 * 3_600_000)
        tokens = time_cover(lo, hi)
        assert minutes_of(tokens) == list(range(lo // MINUTE, hi // MINUTE + 1))
        assert len(tokens) <= 9 + 5 + 3 + 5 + 9  # minutes, tens, hours, tens, minutes


def test_a_narrow_id_range_matches_its_time_tokens():
    lo, hi = make_id(T0, 0, 0), make_id(T0 + 90_000, 63, 65535)
    where, params = where_ids(Compiled(match="@logline (orders)"), lo, hi)
    assert where == "MATCH(%s) AND id >= %s AND id <= %s"
    m = T0 // MINUTE
    assert params == [f"@logline (orders) @tags (z1m{m} | z1m{m + 1})", lo, hi]
    where, params = where_ids(Compiled(), lo, hi)
    assert params[0] == f"@tags (z1m{m} | z1m{m + 1})"


@pytest.mark.parametrize("lo, hi", [
    (0, make_id(T0, 0, 0)),
    (make_id(T0, 0, 0), TOP_ID),
    (make_id(T0, 0, 0), make_id(T0 + COVER_MAX_MS + 1, 0, 0)),
])
def test_open_or_wide_ranges_use_the_id_range_alone(lo, hi):
    where, params = where_ids(Compiled(), lo, hi)
    assert where == "id >= %s AND id <= %s"
    assert params == [lo, hi]
