"""Ids enter a day index with buckets as one of BUCKETS tokens; their letters as parts."""

from __future__ import annotations

import uuid

import pytest

from alco.index import buckets
from alco.index.buckets import BUCKETS, bucket, index_text, is_bucketed, query_text


@pytest.mark.parametrize(("token", "bucketed"), [
    ("3f2a9c1e", True),  # a UUID's first group
    ("77aa", False),  # its middle groups: at most 65,536 of each
    ("123456789abc", True),
    ("12345", True),  # a number of five digits or more
    ("1234", False),
    ("4999ms", True),
    ("timeout", False),  # a word: no digit
    ("web12", False),  # short
    ("customer_id", False),
])
def test_which_tokens_are_ids(token, bucketed):
    assert is_bucketed(token) is bucketed


def test_a_message_keeps_its_words_and_positions_and_its_ids_become_buckets():
    text, parts = index_text("order 3F2A9C1E-77aa-4b1e-9e0f-123456789abc paid in 4999ms "
                             "from 10.1.2.3 seq=12345 after timeout2")
    assert text == (f"order {bucket('3f2a9c1e')}-77aa-4b1e-9e0f-{bucket('123456789abc')} "
                    f"paid in {bucket('4999ms')} from 10.1.2.3 seq={bucket('12345')} "
                    f"after {bucket('timeout2')}")
    assert parts.split() == ["abc", "timeout"]  # runs of three letters or more


def test_a_message_without_ids_is_left_as_it_is():
    assert index_text("GET /api/v1/orders 200 in 35ms, café") == (
        "GET /api/v1/orders 200 in 35ms, café", "")


def test_a_bucket_is_a_short_keyword_and_case_does_not_change_it():
    b = bucket(buckets.fold("DEADBEEF01"))
    assert b == bucket("deadbeef01") and b.startswith("zq") and b[2:].isdigit()
    assert int(b[2:]) < BUCKETS
    assert query_text("id DEADBEEF01 seen") == f"id {b} seen"
    assert query_text("nothing to see") is None


def test_random_ids_spread_over_the_buckets():
    seen = {bucket(uuid.uuid4().hex) for _ in range(20_000)}
    assert len(seen) > 15_000  # (20k draws from 65,536: ~17.4k distinct expected)


def test_a_long_line_is_linear():
    text, _ = index_text("x" * 200_000 + "1 " + "ab " * 50_000)
    assert text.startswith("zq")
