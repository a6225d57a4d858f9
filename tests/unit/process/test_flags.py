"""Waiting for a condition with a timeout; the stop flag shared with forked processes."""

from __future__ import annotations

import multiprocessing as mp
import time

from alco.process.flags import StopFlag, wait_until


def test_wait_until_returns_as_soon_as_the_condition_holds():
    ready_at = time.monotonic() + 0.15
    start = time.monotonic()
    assert wait_until(lambda: time.monotonic() >= ready_at, timeout=5, interval=0.01)
    assert 0.15 <= time.monotonic() - start < 2


def test_wait_until_gives_up_after_the_timeout():
    calls: list[float] = []

    def never() -> bool:
        calls.append(time.monotonic())
        return False

    start = time.monotonic()
    assert not wait_until(never, timeout=0.2, interval=0.05)
    assert 0.2 <= time.monotonic() - start < 2 and len(calls) >= 2  # polled, not once


def wait_for_flag(flag: StopFlag) -> None:
    raise SystemExit(0 if flag.wait(10) else 1)


def test_a_forked_process_sees_the_flag_set():
    flag = StopFlag()
    child = mp.get_context("fork").Process(target=wait_for_flag, args=(flag,))
    child.start()
    time.sleep(0.1)
    flag.set()
    child.join(10)
    assert child.exitcode == 0
