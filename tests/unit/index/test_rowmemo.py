"""A writer's remembered tags, value hashes and time tokens are those made line by line."""

from __future__ import annotations

import random

from alco.index import rowmemo
from alco.index.rowmemo import RowMemo
from alco.index.schema import (
    Common,
    IndexSchema,
    apart,
    field_hash,
    tag_token,
    time_token,
    value_hash,
)
from tests.helpers import crc_twin

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


def test_a_days_common_values_have_no_tag_token_and_their_crc_is_theirs_alone():
    """On a day with common values (alco.index.commonvalues) a line of one has no tag token
    of it, and a line of another value sharing its CRC gets another hash (``apart``); the
    same memo makes other days' lines as ever."""
    schema = IndexSchema("logs", ("host", "levelname"), (), ())
    memo = RowMemo(schema)
    twin = crc_twin(value_hash("INFO"), "twin-")
    common = frozenset({Common.of("levelname", "INFO"), Common.of("host", "web-1")})
    lines = [{"host": "web-1", "levelname": "INFO"}, {"host": "web-2", "levelname": twin},
             {"host": "INFO", "levelname": "ERROR"}, {"levelname": 7}]
    tags, hashes = memo.tags_and_hashes(lines, common)
    assert tags == ["", f"{tag_token('host', 'web-2')} {tag_token('levelname', twin)}",
                    f"{tag_token('host', 'INFO')} {tag_token('levelname', 'ERROR')}",
                    tag_token("levelname", 7)]
    assert hashes[0] == (value_hash("web-1"), value_hash("INFO"))
    assert hashes[1][1] not in (value_hash("INFO"), 0)  # (the twin: apart from INFO)
    assert hashes[1][1] == apart(value_hash("INFO"), {value_hash("INFO")})
    assert hashes[2] == (value_hash("INFO"), value_hash("ERROR"))  # (another column's value)
    plain = memo.tags_and_hashes(lines)  # (a day without common values)
    assert plain == ([tags_of(schema, f) for f in lines],
                     [tuple(field_hash(f.get(c)) for c in schema.filtered) for f in lines])
    assert memo.tags_and_hashes(lines, common) == (tags, hashes)
