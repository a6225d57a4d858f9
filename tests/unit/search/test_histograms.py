"""The histogram's bucket size: round, and never more buckets than asked, wherever the range
starts (alco.search.histograms.bucket_us_for)."""

from __future__ import annotations

import pytest

from alco.search.histograms import bucket_us_for

S = 1_000_000
H = 3600 * S


@pytest.mark.parametrize("buckets", [1, 2, 7, 60, 1000])
@pytest.mark.parametrize("from_us,span_us", [(0, H), (30 * S, H), (int(10.5 * H), H),
                                             (123_456_789, 7 * 86400 * S), (17 * S, 3 * S)])
def test_at_most_the_buckets_asked(buckets, from_us, span_us):
    to_us = from_us + span_us
    size = bucket_us_for(from_us, to_us, buckets)
    assert to_us // size - from_us // size + 1 <= buckets


def test_the_round_size_that_fits_not_a_bigger_one():
    assert bucket_us_for(0, H - 1, 60) == 60 * S  # aligned: 60 one-minute buckets
    assert bucket_us_for(30 * S, 30 * S + H, 60) == 120 * S  # 61 of a minute: 31 of two
    assert bucket_us_for(int(10.5 * H), int(11.5 * H), 1) == 2 * H  # 10:00-12:00
