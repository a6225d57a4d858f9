"""Failed authentications slow an address down, bounded in delay and in memory."""

from __future__ import annotations

from alco.web.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_past_the_free_ones_close_the_address_for_doubling_delays():
    clock = Clock()
    t = Throttle(free=3, window_s=600, max_delay_s=8, clock=clock)
    for _ in range(3):
        t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 0
    waits = []
    for _ in range(6):
        t.failed("10.0.0.1")
        waits.append(t.wait("10.0.0.1"))
    assert waits == [1, 2, 4, 8, 8, 8]  # bounded
    assert t.wait("10.0.0.2") == 0  # per address
    clock.now += 8
    assert t.wait("10.0.0.1") == 0
    clock.now += 601  # forgotten after the window
    t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 0


def test_the_table_of_addresses_is_bounded():
    t = Throttle(free=0, max_addresses=100, clock=Clock())
    for i in range(1000):
        t.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(t.seen) == 100
    assert t.wait("10.0.3.231") > 0 and t.wait("10.0.0.0") == 0  # the oldest went first
