"""A writer's batch of field values for Redis, taken in one pass (``add_many``), is what
``add`` of each line leaves pending (no Redis needed: nothing is flushed)."""

from __future__ import annotations

import random

from alco.catalog.values import ValuesStore

VALUES = ["web-1", "web-2", "é", "x" * 300, 1, 0, True, False, 1.0, 2.5, None, {"a": 1},
          [1], "1", "true"]
PLAIN = ["web-1", "web-2", "é", "x" * 300, 1, 0, None, "1"]


def pending(store: ValuesStore) -> tuple:
    return (store.pending_values, list(store.pending_columns.items()), store.pending_newest,
            store.pending_oldest)


def test_add_many_leaves_what_add_leaves():
    rng = random.Random(4)
    filtered = ("host", "levelname", "process")
    one, many = (ValuesStore("redis://127.0.0.1:1/0", "t", "logs", filtered) for _ in "ab")
    for batch in range(12):
        lines = []
        for _ in range(rng.randint(1, 80)):
            kinds = VALUES if batch % 3 else PLAIN
            fields = {c: rng.choice(kinds) for c in filtered if rng.random() < 0.8}
            fields[f"extra{rng.randint(0, 9)}"] = 1
            lines.append((fields, rng.uniform(1.7e9, 1.7e9 + 100)))
        if batch == 5:  # (a time of 0: no oldest time yet, to add)
            lines[len(lines) // 2] = (lines[len(lines) // 2][0], 0.0)
        if batch % 2:  # (lines in the order of their times, and not)
            lines.sort(key=lambda line: line[1])
        for fields, ts in lines:
            one.add(fields, ts)
        many.add_many(lines)
        assert pending(many) == pending(one)
        if batch % 4 == 3:  # (as a flush that went through leaves them)
            one.sent()
            many.sent()
