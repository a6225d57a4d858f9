"""What one request may spend reading: SphinxQL queries and time.

A read goes in id windows (alco.search.reader); the query budget bounds how many, whatever the
data's shape: when it is nearly spent, the next window takes all that is left.  The time budget
bounds requests that must be slow (a histogram of a common word over 30 days, an export of
millions): past it a read stops with what it has, and the answer says it is partial.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_QUERIES = 24  # SphinxQL queries per request
DEFAULT_SECONDS = 10.0


class ReadBudget:
    """The queries and the time one request may still spend (thread-safe: a histogram's parts
    are counted on several threads)."""

    def __init__(self, seconds: float = DEFAULT_SECONDS, queries: int = MAX_QUERIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.queries = queries
        self._clock = clock
        self._lock = threading.Lock()
        self.used = 0
        self.started = clock()

    def restart(self) -> None:
        """A new request: the whole budget again."""
        with self._lock:
            self.used = 0
            self.started = self._clock()

    def spend(self) -> None:
        """Count one query."""
        with self._lock:
            self.used += 1

    def queries_left(self) -> int:
        return max(0, self.queries - self.used)

    def ms_left(self) -> int:
        """Milliseconds left, rounded up (a query given this long ends at or after the
        deadline if searchd cuts it short)."""
        return max(0, math.ceil((self.started + self.seconds - self._clock()) * 1000))

    def out_of_time(self) -> bool:
        return self._clock() >= self.started + self.seconds

    def message(self) -> str:
        return (f"time budget of {self.seconds:g} s spent: the answer is partial "
                "(go on from its cursor)")
