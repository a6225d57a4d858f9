"""KeepUp: parts restarted with backoff, counted; a part that cannot start (three tries) is
fatal."""

from __future__ import annotations

import pytest

from alco.process.parts import KeepUp, PartFailed, describe


class FakePart:
    def __init__(self, name: str, settle_s: float = 3.0, fail_start: int = 0) -> None:
        self.name, self.settle_s, self.fail_start = name, settle_s, fail_start
        self.log_hint = f"{name}.log"
        self.status: int | None = None
        self.starts = self.stops = self.tries = 0

    def start(self) -> None:
        self.tries += 1
        if self.tries <= self.fail_start:  # its first fail_start starts raise
            raise OSError("port taken")
        self.starts += 1
        self.status = None

    def exit_status(self) -> int | None:
        return self.status

    def stop(self, timeout: float) -> bool:
        self.stops += 1
        self.status = 0
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def keeper(*parts: FakePart) -> tuple[KeepUp, Clock, list[str]]:
    clock, restarted = Clock(), []
    k = KeepUp(list(parts), on_restart=restarted.append, clock=clock, first_s=1, cap_s=8,
               sleep=clock.sleep)
    k.start()
    return k, clock, restarted


def test_a_dead_part_comes_back_after_its_backoff_and_is_counted():
    web = FakePart("web")
    k, clock, restarted = keeper(web)
    clock.now = 5
    k.check()  # up long enough: it could start
    web.status = -9
    k.check()  # noticed: restart due in 1 s (jitter only shortens)
    assert web.starts == 1
    clock.now = 6
    k.check()
    assert web.starts == 2 and restarted == ["web"] and k.restarts() == {"web": 1}


def die_and_wait_back(k: KeepUp, clock: Clock, part: FakePart) -> float:
    """Kill the part; the seconds until the keeper started it again."""
    part.status = 1
    k.check()
    died = clock.now
    while part.exit_status() is not None:
        clock.now += 0.05
        k.check()
    return clock.now - died


def test_delays_grow_while_a_part_keeps_dying_and_reset_once_it_stays_up():
    part = FakePart("collector")
    k, clock, _ = keeper(part)
    clock.now = 5
    k.check()
    delays = [round(die_and_wait_back(k, clock, part), 1) for _ in range(5)]
    assert delays[0] <= 1.0 and delays[-1] > delays[0] and max(delays) <= 8.0
    clock.now += 9  # up longer than the cap: the next death restarts quickly again
    k.check()
    assert die_and_wait_back(k, clock, part) <= 1.05


def die_at_once(k: KeepUp, clock: Clock, part: FakePart) -> None:
    """The part ends a second after it started; the keeper looks until it started it again."""
    clock.now += 1
    part.status = 1
    k.check()
    while part.exit_status() is not None:
        clock.now += 0.05
        k.check()


def test_a_part_dying_right_after_its_start_three_times_cannot_start():
    web = FakePart("web")
    k, clock, restarted = keeper(web)
    die_at_once(k, clock, web)  # a passing failure: tried again
    die_at_once(k, clock, web)
    assert web.starts == 3 and restarted == ["web", "web"]
    clock.now += 1
    web.status = 1
    with pytest.raises(PartFailed,
                       match=r"web cannot start: it ended within 3 s .*\(3 tries\); see web\.log"):
        k.check()


def test_a_part_that_dies_early_once_and_then_stays_up_is_kept():
    web = FakePart("web")
    k, clock, _ = keeper(web)
    die_at_once(k, clock, web)
    clock.now += 5
    k.check()  # up long enough now
    for _ in range(5):  # from now on every death is a restart, never fatal
        die_at_once(k, clock, web)
    assert web.starts == 7


def test_a_first_start_that_raises_three_times_is_fatal_and_names_the_log():
    part = FakePart("searchd", fail_start=3)
    with pytest.raises(PartFailed,
                       match=r"searchd cannot start: port taken \(3 tries\); see searchd\.log"):
        keeper(part)
    assert part.tries == 3


def test_a_first_start_that_raises_twice_starts_on_the_third_try():
    part, after = FakePart("searchd", fail_start=2), FakePart("web")
    k, clock, _ = keeper(part, after)
    assert part.starts == 1 and after.starts == 1 and clock.now >= 1  # waited its backoff


def test_a_part_ready_on_start_may_die_at_once_and_comes_back():
    searchd = FakePart("searchd", settle_s=0)
    k, clock, _ = keeper(searchd)
    searchd.status = -9
    k.check()
    clock.now = 1
    k.check()
    assert searchd.starts == 2


def test_stop_in_reverse_order_skips_the_dead():
    a, b = FakePart("searchd", settle_s=0), FakePart("web", settle_s=0)
    order = []
    a.stop = lambda timeout: order.append("searchd") or True
    b.stop = lambda timeout: order.append("web") or True
    k, _, _ = keeper(a, b)
    assert k.stop(1) and order == ["web", "searchd"]


@pytest.mark.parametrize("status, text", [(-9, "killed by SIGKILL"), (1, "exit status 1")])
def test_describe(status, text):
    assert describe(status) == text
