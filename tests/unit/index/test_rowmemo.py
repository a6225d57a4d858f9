"""A writer's remembered tags, value hashes and time tokens are those made line by line."""

from __future__ import annotations

import random

from alco.index import rowmemo
from alco.index.rowmemo import RowMemo
from alco.index.schema import IndexSchema, field_hash, tag_token, time_token

VALUES = ["web-1", "web-2", "", "é", "x" * 300, 1, 0, 2 ** 40, True, False, 1.0, 2.5, None,
          {"a": 1}, [1, 2], "1", "true"]


def tags_of(schema: IndexSchema, fields: dict) -> str:
    """A line's tag tokens, made line by line (what the writer made before RowMemo)."""
    return " ".join(tag_token(c, fields[c]) for c in schema.filtered
                    if c in fields and not isinstance(fields[c], dict | list))


def test_tags_and_hashes_are_the_schemas_for_every_type_of_value(monkeypatch):
    monkeypatch.setattr(rowmemo, "MAX_MEMO", 5)  # (forgetting on the way)
    schema = IndexSchema("logs", ("host", "levelname", "process"), (), ())
    memo = RowMemo(schema)
    rng = random.Random(3)
    for _ in range(20):
        lines = []
        for _ in range(rng.randint(1, 60)):
            fields = {c: rng.choice(VALUES) for c in schema.filtered if rng.random() < 0.8}
            fields["other"] = rng.choice(VALUES)
            lines.append(fields)
        tags, hashes = memo.tags_and_hashes(lines)
        assert tags == [tags_of(schema, f) for f in lines]
        assert hashes == [tuple(field_hash(f.get(c)) for c in schema.filtered) for f in lines]
        assert memo.tags_of(lines) == tags and memo.hashes_of(lines) == hashes


def test_no_filtered_columns():
    memo = RowMemo(IndexSchema("logs", (), (), ()))
    assert memo.tags_and_hashes([{"a": 1}, {}]) == (["", ""], [(), ()])


def test_time_tokens_are_those_of_the_minute():
    memo = RowMemo(IndexSchema("logs", (), (), ()))
    for ms in [0, 59_999, 60_000, 599_999, 600_000, 3_599_999, 3_600_000,
               1_796_000_000_123, 1_796_000_059_999]:
        assert memo.time_token(ms) == time_token(ms)
        assert memo.time_token(ms + 1) == time_token(ms + 1)
