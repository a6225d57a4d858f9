"""Exponential backoff: the delays between attempts to reach something that is down.

One :class:`Backoff` per retry loop: ``next_delay()`` before each wait (``first``, then
``factor`` times longer each time, never above ``cap``), ``reset()`` once the thing answered.
The waiting itself is the caller's (``stop.wait(delay)``), so that a stop ends it early.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays ``first``, ``first * factor``, ... up to ``cap`` seconds.

    With ``jitter`` (0..1) each delay is shortened by a random part of at most that fraction,
    so that many clients that lost the same server do not all come back at the same moment.
    """

    def __init__(self, first: float, cap: float, factor: float = 2.0, jitter: float = 0.0,
                 rand: Callable[[], float] = random.random) -> None:
        if not 0 < first <= cap:
            raise ValueError(f"backoff needs 0 < first <= cap, not first={first}, cap={cap}")
        if factor < 1 or not 0 <= jitter <= 1:
            raise ValueError(f"backoff needs factor >= 1 and 0 <= jitter <= 1, not "
                             f"factor={factor}, jitter={jitter}")
        self.first, self.cap, self.factor, self.jitter = first, cap, factor, jitter
        self._rand = rand
        self.delay = first  # what next_delay() returns next (before jitter)

    def next_delay(self) -> float:
        """The delay to wait now; the one after it is ``factor`` times longer (up to ``cap``)."""
        delay = self.delay
        self.delay = min(delay * self.factor, self.cap)
        return delay - delay * self.jitter * self._rand()

    def reset(self) -> None:
        """Start again from ``first`` (the last attempt succeeded)."""
        self.delay = self.first
