"""Stop signals turned into a flag: the first SIGTERM/SIGINT asks for an orderly stop, a second
one forces it.

The handlers only record the request (and call the given callbacks, which must be as light);
the program's own loop notices it and stops in order.  Leaving the ``with`` block puts the
previous handlers back::

    with stop_on_signals() as stop:
        while not stop.is_set():
            work()
        drain()  # a second Ctrl-C here raises KeyboardInterrupt
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SignalCallback = Callable[[int], None]


class StopRequest:
    """Whether a stop was asked for, by which signal, and how many were received."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0

    def is_set(self) -> bool:
        return self.count > 0

    @property
    def forced(self) -> bool:
        return self.count > 1


def interrupt(signum: int) -> None:
    """The default reaction to a second stop signal: raise KeyboardInterrupt (where the main
    thread is), so that the program ends at once."""
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name} received twice")


@contextmanager
def stop_on_signals(on_stop: SignalCallback | None = None, *,
                    force: SignalCallback | None = interrupt,
                    signals: Iterable[int] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Within the block, the first of ``signals`` sets the yielded :class:`StopRequest` and
    calls ``on_stop(signum)``; any later one calls ``force(signum)`` (None: nothing more).
    Must be entered in the main thread (``signals=()`` installs nothing, anywhere)."""
    request = StopRequest()

    def handler(signum: int, _frame: FrameType | None) -> None:
        request.count += 1
        if request.count == 1:
            request.signum = signum
            if on_stop is not None:
                on_stop(signum)
        elif force is not None:
            force(signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            # None: the handler was not set from Python; the default is the closest to it
            signal.signal(sig, signal.SIG_DFL if old is None else old)
