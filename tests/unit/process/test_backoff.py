"""Backoff delays: doubling from the first up to the cap, reset, jitter."""

from __future__ import annotations

import pytest

from alco.process.backoff import Backoff


def delays(backoff: Backoff, n: int) -> list[float]:
    return [backoff.next_delay() for _ in range(n)]


def test_delays_grow_by_the_factor_up_to_the_cap():
    assert delays(Backoff(0.5, cap=30.0), 9) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert delays(Backoff(0.2, cap=10.0), 7) == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10])
    assert delays(Backoff(1, cap=100, factor=3), 4) == [1, 3, 9, 27]


def test_reset_starts_again_from_the_first_delay():
    backoff = Backoff(0.5, cap=30.0)
    delays(backoff, 5)
    assert backoff.delay == 16  # the next one
    backoff.reset()
    assert backoff.delay == 0.5 and delays(backoff, 2) == [0.5, 1]


def test_jitter_shortens_each_delay_by_at_most_its_fraction():
    shortest = Backoff(1, cap=4, jitter=0.25, rand=lambda: 1.0)
    assert delays(shortest, 4) == [0.75, 1.5, 3, 3]
    assert delays(Backoff(1, cap=4, jitter=0.25, rand=lambda: 0.0), 3) == [1, 2, 4]
    randomised = delays(Backoff(1, cap=64, jitter=0.5), 200)
    assert all(0.5 * 2 ** min(i, 6) <= d <= 2 ** min(i, 6) for i, d in enumerate(randomised))


@pytest.mark.parametrize("kwargs", [dict(first=0, cap=1), dict(first=2, cap=1),
                                    dict(first=1, cap=2, factor=0.5),
                                    dict(first=1, cap=2, jitter=1.5)])
def test_nonsense_is_refused(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)
