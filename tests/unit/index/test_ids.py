"""The time -> id map of alco.index.ids: both forms, one order, and its SphinxQL twins."""

from __future__ import annotations

from datetime import date

import pytest

from alco.index import ids

CUT = ids.dense_from_ms()


def test_ids_keep_one_order_across_the_cutover():
    keys = [(ms, slot, counter) for ms in range(CUT - 3, CUT + 3)
            for slot in (0, 1, 63) for counter in (0, 1, 63)]
    made = [ids.make_id(*k) for k in keys]
    assert made == sorted(made) and len(set(made)) == len(made)
    for (ms, slot, counter), doc_id in zip(keys, made, strict=True):
        assert (ids.id_ms(doc_id), ids.slot_of(doc_id), ids.counter_of(doc_id)) \
            == (ms, slot, counter)
    assert ids.make_id(CUT - 1, 63, ids.OLD_MAX_COUNTER) + 1 == ids.make_id(CUT, 0, 0)
    assert ids.max_counter(CUT - 1) == 65_535 and ids.max_counter(CUT) == 63


def test_a_counter_past_a_milliseconds_is_refused():
    """(it would name another slot's or millisecond's id: a loader that counts on its own
    must take the next millisecond, as IdAllocator does)"""
    for ms, top in ((CUT - 1, ids.OLD_MAX_COUNTER), (CUT, ids.DENSE_MAX_COUNTER)):
        assert ids.counter_of(ids.make_id(ms, 2, top)) == top
        with pytest.raises(ValueError):
            ids.make_id(ms, 2, top + 1)


def test_dense_ids_are_closer_in_time():
    old = ids.make_id(CUT - 1000, 0, 0) - ids.make_id(CUT - 1001, 0, 0)
    dense = ids.make_id(CUT + 1001, 0, 0) - ids.make_id(CUT + 1000, 0, 0)
    assert (old, dense) == (1 << 22, 1 << 12)


@pytest.mark.parametrize("at", [CUT - 5000, CUT - 1, CUT, CUT + 5000])
def test_steps_in_time_through_the_map(at):
    doc_id = ids.make_id(at, 5, 7)
    for ms in (-3000, -1, 0, 1, 3000):
        moved = ids.id_after(doc_id, ms)
        assert ids.id_ms(moved) == at + ms
        assert ids.ms_span(doc_id, abs(ms)) == ids.make_id(at + abs(ms), 0, 0) \
            - ids.make_id(at, 0, 0)
    assert ids.first_ms_from(ids.make_id(at, 0, 0)) == at
    assert ids.first_ms_from(doc_id) == at + 1


def test_sql_follows_the_range_it_is_for():
    old_hi = ids.make_id(CUT, 0, 0) - 1
    assert "IF" not in ids.ms_sql(0, old_hi) and str(1 << 22) in ids.ms_sql(0, old_hi)
    assert "IF" not in ids.ms_sql(old_hi + 1) and str(1 << 12) in ids.ms_sql(old_hi + 1)
    assert ids.ms_sql(0, old_hi + 1).startswith("IF(id < ")
    assert ids.slot_sql(old_hi + 1).startswith("(id DIV 64)")


def test_an_old_form_id_past_the_cutover_is_told():
    day_end = CUT + ids.DAY_MS
    for ms in (CUT + 10 * 60_000, CUT + ids.DAY_MS - 1):
        assert ids.old_form_after(ms << 22 | 3 << 16, day_end)
        assert not ids.old_form_after(ids.make_id(ms, 3, 63), day_end)
    assert not ids.old_form_after(ids.make_id(CUT - 1, 3, 0), CUT)


def test_the_cutover_is_the_deployments():
    before = ids.dense_from_day()
    try:
        ids.set_dense_from(date(2030, 1, 2))
        assert ids.dense_from_day() == date(2030, 1, 2)
        ms = ids.day_start_ms(date(2030, 1, 2))
        assert ids.make_id(ms - 1, 0, 0) == (ms - 1) << 22
        assert ids.make_id(ms + 1, 0, 0) == (ms << 22) + (1 << 12)
    finally:
        ids.set_dense_from(before)
    assert ids.dense_from_ms() == CUT
