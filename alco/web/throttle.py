"""Brute force, slowed: failed authentications per client address.

After FREE failures within WINDOW_S seconds, each further failure closes the address for a
delay that doubles (1 s, 2 s, 4 s, ... up to MAX_DELAY_S); while closed, its credentials are not
even checked (alco.web.auth answers 429 with ``Retry-After``), so parallel guesses gain nothing.
Failures older than WINDOW_S are forgotten; a success forgets nothing (an attacker's own
valid token must not wash out its guesses).  At most MAX_ADDRESSES are kept, the least
recently failed dropped first: memory stays bounded whatever the number of addresses.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE = 5
WINDOW_S = 600.0
MAX_DELAY_S = 60.0
MAX_ADDRESSES = 10_000


@dataclass
class Failures:
    count: int
    last: float
    closed_until: float = 0.0


class Throttle:
    def __init__(self, free: int = FREE, window_s: float = WINDOW_S,
                 max_delay_s: float = MAX_DELAY_S, max_addresses: int = MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.window_s, self.max_delay_s = free, window_s, max_delay_s
        self.max_addresses, self.clock = max_addresses, clock
        self.seen: OrderedDict[str, Failures] = OrderedDict()

    def wait(self, address: str) -> int:
        """Whole seconds until ``address`` may try again (0: now)."""
        entry = self.seen.get(address)
        if entry is None:
            return 0
        return max(0, math.ceil(entry.closed_until - self.clock()))

    def failed(self, address: str) -> None:
        now = self.clock()
        entry = self.seen.pop(address, None)
        if entry is None or now - entry.last > self.window_s:
            entry = Failures(0, now)
        entry.count, entry.last = entry.count + 1, now
        excess = entry.count - self.free
        if excess > 0:
            entry.closed_until = now + min(self.max_delay_s, 2.0 ** min(excess - 1, 32))
        self.seen[address] = entry  # the most recent last
        while len(self.seen) > self.max_addresses:
            self.seen.popitem(last=False)
