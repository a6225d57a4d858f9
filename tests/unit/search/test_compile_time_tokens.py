"""Time tokens: every line names its minute, ten minutes and hour; a full-text query over an id
range also matches the tokens that cover it (Sphinx then skips to them)."""

from __future__ import annotations

import time

import pytest

from alco.index.schema import id_ms, make_id, time_cover, time_token
from alco.search.compile import COVER_MAX_MS, COVER_MAX_TOKENS, TOP_ID, Compiled, where_ids

MINUTE = 60_000
T0 = 1_795_999_980_000  # 2026-11-29T21:33:00Z, the start of a minute


def test_a_line_carries_its_minute_ten_minutes_and_hour():
    m = T0 // MINUTE
    assert time_token(T0) == time_token(T0 + 59_999) == f"z1m{m} z10m{m // 10} z1h{m // 60}"
    assert time_token(T0 - 1).split()[0] == f"z1m{m - 1}"


def _minutes(tokens: list[str]) -> set[int]:
    """The minutes the tokens stand for."""
    out: set[int] = set()
    for t in tokens:
        for prefix, size in (("z1m", 1), ("z10m", 10), ("z1h", 60)):
            if t.startswith(prefix):
                k = int(t[len(prefix):])
                out |= set(range(k * size, k * size + size))
    return out


@pytest.mark.parametrize("lo_min, hi_min", [
    (0, 0), (0, 59), (0, 60), (7, 7), (7, 9), (7, 10), (9, 71), (59, 61), (13, 24 * 60 + 47),
    (60, 119), (3, 3 * 24 * 60 - 2),
])
def test_hour_tokens_cover_exactly_the_minutes_touched_in_few_tokens(lo_min, hi_min):
    base = T0 // MINUTE // 60 * 60  # an hour's first minute
    lo, hi = (base + lo_min) * MINUTE + 17, (base + hi_min) * MINUTE + 59_000
    tokens = time_cover(lo, hi, hours=True)
    assert _minutes(tokens) == set(range(base + lo_min, base + hi_min + 1))
    assert len(tokens) == len(set(tokens)) <= 9 + 5 + (hi_min - lo_min) // 60 + 5 + 9
    assert time_cover(lo, hi) == [f"z1m{m}" for m in range(base + lo_min, base + hi_min + 1)]


def test_with_hour_tokens_a_window_of_a_day_is_covered_and_a_wider_one_is_not():
    lo, hi = make_id(T0, 0, 0), make_id(T0 + 86_400_000, 0, 0)
    x = Compiled(match="x", keywords=True)
    day = where_ids(x, lo, hi, hours=True, wide=True)
    tokens = day[1][0].removeprefix("x @tags (").removesuffix(")").split(" | ")
    assert len(tokens) <= COVER_MAX_TOKENS and any(t.startswith("z1h") for t in tokens)
    wide = make_id(T0 + 3 * 86_400_000, 0, 0)
    assert where_ids(x, lo, wide, hours=True, wide=True)[1][0] == "x"
    # a count, or a scan, covers an hour at most: beyond, the id range alone costs less
    assert where_ids(x, lo, hi, hours=True)[1][0] == "x"
    assert where_ids(Compiled(), lo, hi, hours=True, wide=True)[1] == [lo, hi]
    hour = make_id(T0 + 3_599_999, 0, 0)
    assert where_ids(x, lo, hour, hours=True)[1][0].startswith("x @tags (")
    # without hour tokens (day indexes written before them) only narrow ranges are covered
    assert where_ids(Compiled(match="x"), lo, make_id(T0 + 3_600_000, 0, 0))[1][0] == "x"


def test_the_cover_names_every_minute_touched():
    m = T0 // MINUTE
    assert time_cover(T0, T0 + 59_999) == [f"z1m{m}"]
    assert time_cover(T0 - 1, T0 + 60_000) == [f"z1m{m - 1}", f"z1m{m}", f"z1m{m + 1}"]


def test_a_full_text_query_over_a_narrow_id_range_matches_its_time_tokens():
    lo, hi = make_id(T0, 0, 0), make_id(T0 + 90_001, 0, 0) - 1
    where, params = where_ids(Compiled(match="@logline (orders)"), lo, hi)
    assert where == "MATCH(%s) AND id >= %s AND id <= %s"
    m = T0 // MINUTE
    assert params == [f"@logline (orders) @tags (z1m{m} | z1m{m + 1})", lo, hi]
    assert where_ids(Compiled(match="@logline (orders)"), lo, hi, cover=False)[1][0] \
        == "@logline (orders)"


@pytest.mark.parametrize("lo, hi", [
    (0, make_id(T0, 0, 0)),
    (make_id(T0, 0, 0), TOP_ID),
    (make_id(T0, 0, 0), make_id(T0 + COVER_MAX_MS + 1, 0, 0)),
])
def test_open_or_wide_ranges_and_scans_use_the_id_range_alone(lo, hi):
    assert where_ids(Compiled(match="x"), lo, hi) == ("MATCH(%s) AND id >= %s AND id <= %s",
                                                      ["x", lo, hi])
    assert where_ids(Compiled(), lo, hi) == ("id >= %s AND id <= %s", [lo, hi])


def test_a_scan_of_a_narrow_range_is_a_lookup_of_its_minutes():
    lo, hi = make_id(T0, 0, 0), make_id(T0 + 1000, 0, 0)
    assert where_ids(Compiled(), lo, hi) == ("MATCH(%s) AND id >= %s AND id <= %s",
                                             [f"@tags (z1m{T0 // MINUTE})", lo, hi])


def test_a_range_open_upwards_is_covered_up_to_the_newest_line_and_around_now():
    lo = make_id(T0 - 1000, 0, 0)
    now = T0 + 3_600_000
    where, params = where_ids(Compiled(match="x"), lo, TOP_ID, open_top=(T0, now))
    m, n = T0 // MINUTE, now // MINUTE
    assert params[0] == "x @tags (" + " | ".join(
        f"z1m{k}" for k in (m - 1, m, m + 1, n - 1, n, n + 1)) + ")"
    assert params[1:] == [lo, TOP_ID]
    assert where_ids(Compiled(match="x"), lo, TOP_ID)[1][0] == "x"  # newest line unknown


def test_a_window_above_the_newest_line_and_now_is_not_covered():
    lo = make_id(T0 + 600_000, 0, 0)
    assert where_ids(Compiled(match="x"), lo, TOP_ID, open_top=(T0, T0))[1][0] == "x"


class Recorder:
    """Stands for searchd: keeps the statements' parameters, finds one row per query."""

    def __init__(self) -> None:
        self.params: list[list] = []

    def query(self, sql: str, params: list) -> list[dict]:
        if sql.startswith("DESCRIBE"):  # the probe for the text's place: not counted
            return [{"Field": "logline", "Type": "string"}]
        if not sql.startswith("SELECT"):  # whether a day has hour tokens: not known
            return []
        self.params.append(list(params))
        return [{"id": params[-1], "ts": 0, "logline": "", "js": "{}"}]


def test_only_a_newest_first_read_covers_a_range_open_upwards():
    from alco.config import IndexConfig, parse
    from alco.search.reader import Searcher

    config = parse({}, "<test>", env={})
    now_ms = time.time_ns() // 1_000_000
    lo = make_id(now_ms - 10 * 3_600_000, 0, 0)
    # where a read upwards from lo opens its last window, read once without any report
    rec = Recorder()
    Searcher(config, rec).select(IndexConfig(), Compiled(match="x"), lo, TOP_ID,  # type: ignore
                                 True, 50)
    open_lo = next(params[-2] for params in rec.params if params[-1] == TOP_ID)
    # a report that would let tokens cover that window, and one of a line just now
    for upward, newest_ms in ((True, id_ms(open_lo)), (False, now_ms)):
        rec = Recorder()
        searcher = Searcher(config, rec,  # type: ignore[arg-type]
                            newest=lambda name, ms=newest_ms: ms / 1000)
        searcher.select(IndexConfig(), Compiled(match="x"), lo, TOP_ID, upward, 50)
        opened = next(params for params in rec.params if params[-1] == TOP_ID)
        assert ("@tags" in opened[0]) is (not upward)
