"""Document ids: unique per writer slot, time-ordered, never reused after a restart (in each
form of alco.index.ids: before the cutover to dense ids, after it, and narrow ids after
theirs)."""

from __future__ import annotations

import pytest

from alco.index.ids import (
    counter_of,
    day_start_ms,
    dense_from_ms,
    max_counter,
    narrow_forms,
    slot_bits_from,
    slot_of,
)
from alco.index.schema import (
    Common,
    DayLayout,
    IdAllocator,
    apart,
    id_ms,
    id_range_of_us,
    make_id,
    tag_token,
    value_hash,
)

OLD = dense_from_ms() - 86_400_000 * 30 + 123
DENSE = dense_from_ms() + 123
NARROW = day_start_ms(narrow_forms()[0][0]) + 86_400_000 * 30 + 123


@pytest.fixture(params=[OLD, DENSE, NARROW], ids=["old-form", "dense", "narrow"])
def MS(request) -> int:
    return request.param


class FakeIndex:
    """Stands for the ids already stored in Sphinx (what DayStore._highest_counters reads)."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.ids: set[int] = set()
        self.top: dict[int, int] = {}  # this slot's highest counter per millisecond
        self.lookups = 0

    def lookup(self, ms_values: set[int]) -> dict[int, int]:
        self.lookups += 1
        return {ms: self.top[ms] for ms in ms_values if ms in self.top}

    def store(self, ids: list[int]) -> None:
        assert not self.ids & set(ids), "an id was reused"
        self.ids.update(ids)
        for doc_id in ids:
            if slot_of(doc_id) == self.slot:
                ms = id_ms(doc_id)
                self.top[ms] = max(self.top.get(ms, -1), counter_of(doc_id))


def test_ids_are_unique_and_ordered_by_time(MS: int) -> None:
    index = FakeIndex(3)
    alloc = IdAllocator(3)
    ms_values = [MS, MS, MS + 1, MS + 1, MS + 1, MS + 7]
    ids = alloc.allocate(ms_values, index.lookup)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [id_ms(i) for i in ids] == ms_values
    assert ids[0] == make_id(MS, 3, 0) and ids[1] == make_id(MS, 3, 1)
    later = alloc.allocate([MS], index.lookup)[0]
    assert later == make_id(MS, 3, 2)  # the counter goes on within a millisecond


def test_seventy_thousand_records_in_one_millisecond_borrow_the_next(MS: int) -> None:
    index = FakeIndex(0)
    alloc = IdAllocator(0)
    ids = alloc.allocate([MS] * 70_000, index.lookup)
    index.store(ids)
    assert len(set(ids)) == 70_000
    assert ids == sorted(ids)
    top = max_counter(MS)
    assert id_ms(ids[top]) == MS and id_ms(ids[top + 1]) == MS + 1
    assert index.lookups <= 2 + 70_000 // (top + 1) // 64  # (the next 64 ms in one lookup)
    # a record really of the next millisecond comes after the borrowed ids
    nxt = alloc.allocate([MS + 1], index.lookup)[0]
    assert nxt > ids[-1]
    index.store([nxt])


def test_a_fresh_allocator_never_reuses_a_stored_id(MS: int) -> None:
    index = FakeIndex(2)
    first = IdAllocator(2)
    index.store(first.allocate([MS] * 10 + [MS + 1] * 70_000, index.lookup))
    restarted = IdAllocator(2)  # a writer restarted: nothing in memory
    ids = restarted.allocate([MS] * 3 + [MS + 1] * 3 + [MS + 2] * 3, index.lookup)
    index.store(ids)
    assert ids == sorted(ids)


def test_slots_do_not_collide(MS: int) -> None:
    n = min(100, max_counter(MS) + 1)  # (a millisecond's ids of a slot)
    ids0 = IdAllocator(0).allocate([MS] * n, lambda ms: {})
    ids1 = IdAllocator(1).allocate([MS] * n, lambda ms: {})
    assert not set(ids0) & set(ids1)
    assert max(ids0) < min(ids1) < make_id(MS + 1, 0, 0)


def test_lookup_only_for_unseen_milliseconds_and_cache_bounded(MS: int) -> None:
    index = FakeIndex(0)
    alloc = IdAllocator(0, cache_size=10)
    alloc.allocate([MS, MS + 1], index.lookup)
    alloc.allocate([MS, MS + 1], index.lookup)
    assert index.lookups == 1
    alloc.allocate(range(MS + 100, MS + 200), index.lookup)
    assert len(alloc._next) <= 10


def test_time_range_is_an_id_range(MS: int) -> None:
    lo, hi = id_range_of_us(MS * 1000, (MS + 5) * 1000 + 999)
    assert lo == make_id(MS, 0, 0)
    assert make_id(MS + 5, (1 << slot_bits_from(MS)) - 1, max_counter(MS)) == hi


def test_slot_out_of_range():
    with pytest.raises(ValueError):
        IdAllocator(64)


def test_a_common_value_is_named_by_a_field_and_read_back_from_it():
    cv = Common.of("logger.name", "app.db")
    assert cv.attr == "v_logger_name" and cv.crc == value_hash("app.db")
    assert cv.token == tag_token("logger.name", "app.db")
    assert Common.parse(cv.field) == cv and Common.parse("idbits18") is None
    layout = DayLayout.of({("logline", "field"), ("parts", "field"), (cv.field, "field"),
                           ("v_logger_name", "uint")})
    assert layout.common == {cv} and layout.common_tokens == {cv.token}
    assert apart(5, {5}) not in (5, 0) and apart(0, ()) != 0 and apart(7, {5}) == 7
