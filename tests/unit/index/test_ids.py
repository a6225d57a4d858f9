"""The time -> id map of alco.index.ids: its three forms, one order, and its SphinxQL twins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from alco.index import ids

DENSE_DAY, NARROW_DAY = date(2030, 1, 2), date(2030, 1, 5)
CUT = ids.day_start_ms(DENSE_DAY)  # C1
CUT2 = ids.day_start_ms(NARROW_DAY)  # C2


@pytest.fixture(autouse=True)
def forms() -> Iterator[None]:
    """Dense ids from DENSE_DAY, narrow ones (2-bit slots) from NARROW_DAY."""
    before = (ids.dense_from_day(), ids.narrow_forms())
    ids.set_forms(DENSE_DAY, [(NARROW_DAY, 2)])
    yield
    ids.set_forms(*before)


def slots_at(ms: int) -> tuple[int, ...]:
    return (0, 1, 3) if ms >= CUT2 else (0, 1, 63)


def test_ids_keep_one_order_across_both_cutovers():
    keys = [(ms, slot, counter) for at in (CUT, CUT2) for ms in range(at - 3, at + 3)
            for slot in slots_at(ms) for counter in (0, 1, ids.max_counter(ms))]
    made = [ids.make_id(*k) for k in keys]
    assert made == sorted(made) and len(set(made)) == len(made)
    for (ms, slot, counter), doc_id in zip(keys, made, strict=True):
        assert (ids.id_ms(doc_id), ids.slot_of(doc_id), ids.counter_of(doc_id)) \
            == (ms, slot, counter)
    # continuous: the last id of a form and the first of the next are neighbours
    assert ids.make_id(CUT - 1, 63, ids.OLD_MAX_COUNTER) + 1 == ids.make_id(CUT, 0, 0)
    assert ids.make_id(CUT2 - 1, 63, 63) + 1 == ids.make_id(CUT2, 0, 0)
    assert [ids.max_counter(m) for m in (CUT - 1, CUT, CUT2)] == [65_535, 63, 63]
    assert [ids.slot_bits_from(m) for m in (CUT - 1, CUT, CUT2)] == [6, 6, 2]


def test_a_counter_or_slot_past_a_forms_is_refused():
    """(it would name another slot's or millisecond's id: a loader that counts on its own
    must take the next millisecond, as IdAllocator does; a deployment of more writer slots
    than the narrow form has must say so, [sphinx] slot_bits)"""
    for ms, top in ((CUT - 1, ids.OLD_MAX_COUNTER), (CUT, 63), (CUT2, 63)):
        assert ids.counter_of(ids.make_id(ms, 2, top)) == top
        with pytest.raises(ValueError):
            ids.make_id(ms, 2, top + 1)
    assert ids.slot_of(ids.make_id(CUT2 - 1, 63, 0)) == 63
    with pytest.raises(ValueError, match="slot_bits"):
        ids.make_id(CUT2, 4, 0)


def test_each_form_is_closer_in_time():
    def step(ms: int) -> int:
        return ids.make_id(ms + 1, 0, 0) - ids.make_id(ms, 0, 0)
    assert (step(CUT - 1000), step(CUT + 1000), step(CUT2 + 1000)) == (1 << 22, 1 << 12, 1 << 8)


@pytest.mark.parametrize("at", [CUT - 5000, CUT - 1, CUT, CUT + 5000, CUT2 - 1, CUT2,
                                CUT2 + 5000])
def test_steps_in_time_through_the_map(at):
    doc_id = ids.make_id(at, 1, 7)
    for ms in (-3000, -1, 0, 1, 3000):
        moved = ids.id_after(doc_id, ms)
        assert ids.id_ms(moved) == at + ms
        assert ids.ms_span(doc_id, abs(ms)) == ids.make_id(at + abs(ms), 0, 0) \
            - ids.make_id(at, 0, 0)
    assert ids.first_ms_from(ids.make_id(at, 0, 0)) == at
    assert ids.first_ms_from(doc_id) == at + 1


def test_sql_follows_the_range_it_is_for():
    old_hi, dense_hi = ids.make_id(CUT, 0, 0) - 1, ids.make_id(CUT2, 0, 0) - 1
    assert "IF" not in ids.ms_sql(0, old_hi) and str(1 << 22) in ids.ms_sql(0, old_hi)
    assert "IF" not in ids.ms_sql(old_hi + 1, dense_hi) \
        and str(1 << 12) in ids.ms_sql(old_hi + 1, dense_hi)
    assert "IF" not in ids.ms_sql(dense_hi + 1) and str(1 << 8) in ids.ms_sql(dense_hi + 1)
    assert ids.ms_sql(0, old_hi + 1).startswith("IF(id < ")
    assert ids.ms_sql().count("IF(") == 2
    assert ids.slot_sql(old_hi + 1, dense_hi).startswith("(id DIV 64) MOD 64")
    assert ids.slot_sql(dense_hi + 1) == "(id DIV 64) MOD 4"


def test_sql_says_what_the_map_says():
    """The expressions evaluated as searchd would (integer DIV and MOD, IF) over ids of each
    form."""
    def evaluate(expr: str, doc_id: int) -> int:
        py = expr.replace("DIV", "//").replace("MOD", "%").replace("id", str(doc_id))
        return eval(py, {"IF": lambda c, a, b: a if c else b})  # noqa: S307
    for ms in (CUT - 7, CUT + 7, CUT2 - 7, CUT2 + 7, CUT2 + ids.DAY_MS):
        for slot in slots_at(ms):
            doc_id = ids.make_id(ms, slot, 5)
            assert evaluate(ids.ms_sql(), doc_id) == ms
            assert evaluate(ids.slot_sql(), doc_id) == slot


def test_an_id_of_another_map_is_told():
    """A day past a cutover written by code from before it: an old-form id past the dense
    cutover, a dense-form id a day past the narrow one, each read as far later than it is."""
    day_end = CUT + ids.DAY_MS
    for ms in (CUT + 10 * 60_000, CUT + ids.DAY_MS - 1):
        assert ids.misread_after(ms << 22 | 3 << 16, day_end)
        assert not ids.misread_after(ids.make_id(ms, 3, 63), day_end)
    assert not ids.misread_after(ids.make_id(CUT - 1, 3, 0), CUT)
    ms = CUT2 + ids.DAY_MS + 3_600_000
    dense_form = ids.make_id(CUT2 - 1, 0, 0) + ((ms - CUT2 + 1) << 12) | 5 << 6
    assert ids.misread_after(dense_form, CUT2 + 2 * ids.DAY_MS)
    assert not ids.misread_after(ids.make_id(ms, 3, 0), CUT2 + 2 * ids.DAY_MS)


def test_the_cutovers_are_the_deployments():
    """(a deployment that needs more writer slots later gives them from a day no line has
    reached: the days before keep the slots they were written with)"""
    days = [(date(2031, 2, 1), 0), (date(2031, 3, 1), 3)]
    ids.set_forms(date(2031, 1, 1), days)
    assert (ids.dense_from_day(), ids.narrow_forms()) == (date(2031, 1, 1), tuple(days))
    one, two = (ids.day_start_ms(d) for d, _ in days)
    assert ids.make_id(one + 1, 0, 1) - ids.make_id(one, 0, 0) == (1 << 6) + 1
    assert ids.make_id(two + 1, 0, 0) - ids.make_id(two, 0, 0) == 1 << 9
    made = [ids.make_id(one - 1, 63, 63), ids.make_id(one, 0, 0), ids.make_id(two - 1, 0, 63),
            ids.make_id(two, 0, 0), ids.make_id(two, 7, 63)]
    assert made == sorted(made) and ids.slot_of(made[-1]) == 7
    assert [ids.id_ms(i) for i in made] == [one - 1, one, two - 1, two, two]
    ids.set_forms(date(2031, 1, 1), [])  # (no narrow ids)
    assert ids.narrow_forms() == () and ids.slot_bits_from(two) == 6
    with pytest.raises(ValueError):
        ids.set_forms(date(2031, 1, 1), [(date(2030, 1, 1), 2)])
    with pytest.raises(ValueError):
        ids.set_forms(date(2031, 1, 1), [(date(2031, 2, 1), 7)])


def test_the_dense_cutover_alone_keeps_the_narrow_one_after_it():
    ids.set_dense_from(date(2030, 3, 1))
    assert (ids.dense_from_day(), ids.narrow_forms()) == (date(2030, 3, 1),
                                                           ((date(2030, 3, 1), 2),))
    ids.set_dense_from(date(2029, 3, 1))
    assert ids.narrow_forms() == ((date(2030, 3, 1), 2),)
