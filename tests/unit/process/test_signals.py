"""Stop signals sent for real (os.kill to this process): the first sets the flag, a second
forces, and the previous handlers are back afterwards."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from alco.process.signals import StopRequest, stop_on_signals
from tests.helpers import wait_for


@pytest.fixture
def previous() -> Iterator[list[int]]:
    """A Python handler for SIGTERM and SIGINT before the test; what it received."""
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def deliver(sig: int, request: StopRequest, count: int) -> None:
    os.kill(os.getpid(), sig)
    wait_for(lambda: request.count == count, timeout=5, message=f"signal {sig} handled")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_first_signal_sets_the_flag_and_calls_back(sig: int, previous: list[int]) -> None:
    stops: list[int] = []
    with stop_on_signals(stops.append) as request:
        assert not request.is_set()
        deliver(sig, request, 1)
        assert request.is_set() and not request.forced
        assert request.signum == sig and stops == [sig]
    assert previous == []  # the handler before was not called while the block ran


def test_previous_handlers_are_restored_on_exit(previous: list[int]) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {sig: signal.getsignal(sig) for sig in before} == before
    os.kill(os.getpid(), signal.SIGTERM)
    wait_for(lambda: previous == [signal.SIGTERM], timeout=5, message="the old handler")


def test_handlers_are_restored_when_the_block_raises(previous: list[int]) -> None:
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(RuntimeError), stop_on_signals():
        raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("first, second", [(signal.SIGINT, signal.SIGINT),
                                           (signal.SIGTERM, signal.SIGINT),
                                           (signal.SIGINT, signal.SIGTERM)])
def test_a_second_signal_raises_keyboard_interrupt(first: int, second: int,
                                                   previous: list[int]) -> None:
    with stop_on_signals() as request:
        deliver(first, request, 1)
        with pytest.raises(KeyboardInterrupt):
            deliver(second, request, 2)
        assert request.forced and request.signum == first
    assert previous == []


def test_a_second_signal_calls_the_force_callback(previous: list[int]) -> None:
    forced: list[int] = []
    with stop_on_signals(force=forced.append) as request:
        deliver(signal.SIGTERM, request, 1)
        deliver(signal.SIGTERM, request, 2)
        deliver(signal.SIGINT, request, 3)
    assert forced == [signal.SIGTERM, signal.SIGINT]


def test_nested_blocks_hand_the_signal_back_to_the_outer_one(previous: list[int]) -> None:
    with stop_on_signals() as outer:
        with stop_on_signals() as inner:
            deliver(signal.SIGTERM, inner, 1)
        deliver(signal.SIGTERM, outer, 1)
        assert inner.count == 1


def test_no_signals_installs_nothing(previous: list[int]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(signals=()) as request:
        assert signal.getsignal(signal.SIGTERM) is before
        assert not request.is_set()
