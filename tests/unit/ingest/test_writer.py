"""The writer's pure parts: which stored lines are late (behind a newer one)."""

from __future__ import annotations

from alco.index.schema import make_id
from alco.ingest.writer import late_ids


def test_lines_in_order_are_not_late():
    ids = [make_id(1000 + i, 0, 0) for i in range(5)]
    assert late_ids(ids, 0, 0) == ([], ids[-1])


def test_a_line_behind_the_writers_newest_or_the_indexs_newest_is_late():
    newest = make_id(5000, 0, 0)
    old, new = make_id(4000, 0, 0), make_id(6000, 0, 0)
    assert late_ids([old, new], newest, 0) == ([old], new)  # behind this writer's newest
    assert late_ids([new, old], 0, 0) == ([old], new)  # behind a line of the same batch
    other_writer = make_id(4500, 1, 0)
    assert late_ids([other_writer], 0, 5000)[0] == [other_writer]  # behind another writer's
    assert late_ids([make_id(5000, 1, 3)], 0, 5000)[0] == []  # the same ms is not late
    assert late_ids([], newest, 0) == ([], newest)
