"""Document ids: unique per writer slot, time-ordered, never reused after a restart."""

from __future__ import annotations

import pytest

from alco.index.schema import (
    MAX_COUNTER,
    MS_SHIFT,
    IdAllocator,
    id_ms,
    id_range_of_us,
    make_id,
)

MS = 1_764_000_000_123


class FakeIndex:
    """Stands for the ids already stored in Sphinx (what DayStore._highest_counters reads)."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.ids: set[int] = set()
        self.lookups = 0

    def lookup(self, ms_values: set[int]) -> dict[int, int]:
        self.lookups += 1
        top: dict[int, int] = {}
        for doc_id in self.ids:
            ms, counter = id_ms(doc_id), doc_id & MAX_COUNTER
            if ms in ms_values and (doc_id >> 16) & 63 == self.slot:
                top[ms] = max(top.get(ms, -1), counter)
        return top

    def store(self, ids: list[int]) -> None:
        assert not self.ids & set(ids), "an id was reused"
        self.ids.update(ids)


def test_ids_are_unique_and_ordered_by_time():
    index = FakeIndex(3)
    alloc = IdAllocator(3)
    ms_values = [MS, MS, MS + 1, MS + 1, MS + 1, MS + 7]
    ids = alloc.allocate(ms_values, index.lookup)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [id_ms(i) for i in ids] == ms_values
    assert ids[0] == make_id(MS, 3, 0) and ids[1] == make_id(MS, 3, 1)
    later = alloc.allocate([MS], index.lookup)[0]
    assert later == make_id(MS, 3, 2)  # the counter goes on within a millisecond


def test_seventy_thousand_records_in_one_millisecond_borrow_the_next():
    index = FakeIndex(0)
    alloc = IdAllocator(0)
    ids = alloc.allocate([MS] * 70_000, index.lookup)
    index.store(ids)
    assert len(set(ids)) == 70_000
    assert ids == sorted(ids)
    assert id_ms(ids[MAX_COUNTER]) == MS and id_ms(ids[MAX_COUNTER + 1]) == MS + 1
    # a record really of the next millisecond comes after the borrowed ids
    nxt = alloc.allocate([MS + 1], index.lookup)[0]
    assert nxt > ids[-1]
    index.store([nxt])


def test_a_fresh_allocator_never_reuses_a_stored_id():
    index = FakeIndex(5)
    first = IdAllocator(5)
    index.store(first.allocate([MS] * 10 + [MS + 1] * 70_000, index.lookup))
    restarted = IdAllocator(5)  # a writer restarted: nothing in memory
    ids = restarted.allocate([MS] * 3 + [MS + 1] * 3 + [MS + 2] * 3, index.lookup)
    index.store(ids)
    assert ids == sorted(ids)


def test_slots_do_not_collide():
    ids0 = IdAllocator(0).allocate([MS] * 100, lambda ms: {})
    ids1 = IdAllocator(1).allocate([MS] * 100, lambda ms: {})
    assert not set(ids0) & set(ids1)
    assert max(ids0) < min(ids1) < make_id(MS + 1, 0, 0)


def test_lookup_only_for_unseen_milliseconds_and_cache_bounded():
    index = FakeIndex(0)
    alloc = IdAllocator(0, cache_size=10)
    alloc.allocate([MS, MS + 1], index.lookup)
    alloc.allocate([MS, MS + 1], index.lookup)
    assert index.lookups == 1
    alloc.allocate(range(MS + 100, MS + 200), index.lookup)
    assert len(alloc._next) <= 10


def test_time_range_is_an_id_range():
    lo, hi = id_range_of_us(MS * 1000, (MS + 5) * 1000 + 999)
    assert lo == MS << MS_SHIFT
    assert make_id(MS + 5, 63, MAX_COUNTER) == hi


def test_slot_out_of_range():
    with pytest.raises(ValueError):
        IdAllocator(64)
