"""Child processes end with their parent, even when the parent is killed with SIGKILL."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Ask the kernel for SIGTERM when ``parent`` dies; exit at once if it already has."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: only the check below holds
        pass
    if os.getppid() != parent:
        os._exit(1)


def preexec_for(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen`` that ties a child command's life to ``parent``."""
    return lambda: die_with(parent)
