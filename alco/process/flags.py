"""Stop flags shared between processes, and waiting for a condition with a timeout."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` every ``interval`` seconds: True once it holds, False after
    ``timeout`` seconds without."""
    deadline = time.monotonic() + timeout
    while not condition():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval, left))
    return True


class StopFlag:
    """A lock-free shared flag: unlike ``multiprocessing.Event`` it survives ``kill -9`` of a
    process that was reading it.  Create it before the processes that read it are started."""

    def __init__(self) -> None:
        self._value = mp.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the flag; whether it is set."""
        return wait_until(self.is_set, timeout)
