"""Ids enter a day index with buckets as one of BUCKETS tokens; their letters as parts."""

from __future__ import annotations

import uuid

import pytest

from alco.index import buckets
from alco.index.buckets import BUCKETS, bucket, index_text, is_bucketed, query_texts


@pytest.mark.parametrize(("token", "rule1", "rule2"), [
    ("3f2a9c1e", True, True),  # a UUID's first group
    ("77aa", False, False),  # its middle groups: at most 65,536 of each
    ("123456789abc", True, True),
    ("12345", True, True),  # a number of five digits or more
    ("1234", False, False),
    ("4999ms", True, False),  # a word with a short number: a word by rule 2
    ("inventory235", True, False),
    ("timeout2", True, False),
    ("abcdef12", True, True),  # ... unless all hex: a hash's piece
    ("user42abc", True, True),  # letters on both sides
    ("order12345", True, True),  # five digits: an id's number
    ("r0a3f9c2e71", True, True),  # a request id
    ("timeout", False, False),  # a word: no digit
    ("web12", False, False),  # short
    ("customer_id", False, False),
])
def test_which_tokens_are_ids(token, rule1, rule2):
    assert (is_bucketed(token, 1), is_bucketed(token, 2), is_bucketed(token)) == (
        rule1, rule2, rule2)


def test_a_message_keeps_its_words_and_positions_and_its_ids_become_buckets():
    message = ("order 3F2A9C1E-77aa-4b1e-9e0f-123456789abc paid in 4999ms from 10.1.2.3 "
               "seq=12345 after timeout2")
    text, parts = index_text(message, 1)
    assert text == (f"order {bucket('3f2a9c1e')}-77aa-4b1e-9e0f-{bucket('123456789abc')} "
                    f"paid in {bucket('4999ms')} from 10.1.2.3 seq={bucket('12345')} "
                    f"after {bucket('timeout2')}")
    assert parts.split() == ["abc", "timeout"]  # runs of three letters or more
    text, parts = index_text(message)  # rule 2: words with a short number stay
    assert text == (f"order {bucket('3f2a9c1e')}-77aa-4b1e-9e0f-{bucket('123456789abc')} "
                    f"paid in 4999ms from 10.1.2.3 seq={bucket('12345')} after timeout2")
    assert parts.split() == ["abc"]


def test_a_message_without_ids_is_left_as_it_is():
    assert index_text("GET /api/v1/orders 200 in 35ms, café") == (
        "GET /api/v1/orders 200 in 35ms, café", "")


def test_a_bucket_is_a_short_keyword_and_case_does_not_change_it():
    b = bucket(buckets.fold("DEADBEEF01"))
    assert b == bucket("deadbeef01") and b.startswith("zq") and b[2:].isdigit()
    assert int(b[2:]) < BUCKETS
    assert query_texts("id DEADBEEF01 seen")[0] == f"id {b} seen"
    assert query_texts("nothing to see") == ()


def test_random_ids_spread_over_the_buckets():
    seen = {bucket(uuid.uuid4().hex) for _ in range(20_000)}
    assert len(seen) > 15_000  # (20k draws from 65,536: ~17.4k distinct expected)


def test_a_long_line_is_linear():
    text, _ = index_text("x" * 200_000 + "1 " + "ab " * 50_000)
    assert text.startswith("zq")


def test_a_day_of_more_buckets_names_its_size_in_its_tokens():
    folded = buckets.fold("R4F9A2B7C1D")
    by_size = {bits: bucket(folded, bits) for bits in buckets.SIZES}
    assert by_size[16] == bucket(folded) and by_size[16][2:].isdigit()  # (days made before)
    for bits in (18, 20, 22):
        head, _, n = by_size[bits].partition("x")
        assert head == f"zq{bits}" and int(n) < 1 << bits
        assert int(n) % BUCKETS == int(by_size[16][2:])  # (the same hash, more of its bits)
    assert len(set(by_size.values())) == len(buckets.SIZES)
    text, parts = index_text("req R4F9A2B7C1D from abc123456def", bits=20)
    assert text == f"req {by_size[20]} from {bucket('abc123456def', 20)}"
    assert parts == "abc def"  # (the runs of three letters or more)


def test_a_query_looks_an_id_up_in_every_size():
    forms = query_texts('"id R4F9A2B7C1D seen"')
    folded = buckets.fold("R4F9A2B7C1D")
    assert forms == tuple(f'"id {bucket(folded, bits)} seen"' for bits in buckets.SIZES)
    assert buckets.buckets_of(folded) == tuple(bucket(folded, b) for b in buckets.SIZES)


@pytest.mark.parametrize(("lines", "bits"), [
    (0, 16), (1_000_000, 16), (32 << 16, 16), ((32 << 16) + 1, 18), (5_000_000, 18),
    (12_500_000, 20), (50_000_000, 22), (10**10, 22)])
def test_a_day_gets_buckets_for_the_lines_of_a_busy_day(lines, bits):
    assert buckets.bits_for(lines) == bits
