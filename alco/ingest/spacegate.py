"""A writer's side of a full disk: wait while it is too full to store, and check after each
write that searchd could keep it (alco.index.diskspace says what "too full" is).

While the disk is too full nothing is stored: the writer looks again every RECHECK_S, its
batches stay unacked, the consumers' prefetch bounds what waits in memory and the rest waits
in RabbitMQ.  Reads go on.  A WARNING says when a pause starts and when it ends.

After a write, the binlog must have grown by at least what the batch holds and the disk must
not have been (nearly) full: otherwise searchd may hold the rows only in memory (2.2.11 accepts
a REPLACE whose binlog write failed) and the batch is written again, same ids, once space is
back (``kept``).  A binlog write that failed leaves a torn entry, and searchd's replay after
a crash stops at it, losing every entry after it: so when storing resumes after a pause or a
write found not kept, every day index is first ``FLUSH RTINDEX``ed (its RAM chunk saved;
searchd then starts its binlog anew, as its own ``rt_flush_period`` flush does).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alco import metrics
from alco.config import Config
from alco.index import diskspace
from alco.index.diskspace import DiskState
from alco.index.sphinxql import SPHINX_ERRORS, Sphinx, ident
from alco.process.flags import wait_until

log = logging.getLogger("alco.writer")
RECHECK_S = 1.0  # a paused writer looks again this often; a "not full" answer is this fresh
FULL_FLOOR = 4 << 20  # free bytes after a write below which the disk may have filled during it

Look = Callable[[Config, Sphinx | None], DiskState | None]


class SpaceGate:
    """Shared by the lanes of one writer (a lock orders their looks)."""

    def __init__(self, config: Config, sphinx: Sphinx | None, index: str,
                 every: float = RECHECK_S, look: Look = diskspace.measure) -> None:
        self.config, self.sphinx, self.every, self._look = config, sphinx, every, look
        self.index = index  # (the metrics' label)
        self.data_dir = Path(config.sphinx.data_dir).resolve()
        self.lock = threading.Lock()
        self.state: DiskState | None = None
        self.looked = float("-inf")
        self.paused = False
        self.torn = False  # the binlog may hold a torn entry: flush before the next write

    def look(self, force: bool = False) -> DiskState | None:
        """The disk as last seen, looked at again when older than ``every`` (or ``force``)."""
        with self.lock:
            now = time.monotonic()
            if force or now - self.looked >= self.every:
                self.state, self.looked = self._look(self.config, self.sphinx), now
                self._note(self.state)
            return self.state

    def _note(self, state: DiskState | None) -> None:
        if state is not None:
            metrics.DISK_FREE.labels(self.index).set(state.free)
        full = state is not None and state.full
        if full and not self.paused:
            assert state is not None
            metrics.DISK_PAUSES.labels(self.index).inc()
            log.warning("disk under %s too full to store: %s; storing paused, lines wait in "
                        "RabbitMQ (free space, or set [sphinx] max_disk)", self.data_dir,
                        state.describe())
        elif self.paused and not full:
            log.warning("disk under %s has room again%s; storing resumes", self.data_dir,
                        f": {state.describe()}" if state else "")
        self.paused = full
        self.torn = self.torn or full
        metrics.DISK_PAUSED.labels(self.index).set(1 if full else 0)

    def wait(self, give_up: Callable[[], bool]) -> bool:
        """Return True once storing may go on; False when ``give_up()`` while waiting."""
        while True:
            state = self.look()
            if (state is None or not state.full) and self._clear_torn():
                return True
            if wait_until(give_up, self.every):
                return False

    def _clear_torn(self) -> bool:
        """Flush every day index when the binlog may hold a torn entry; whether it holds
        none now."""
        with self.lock:
            if not self.torn or self.sphinx is None:
                return True
            try:
                days = diskspace.served_days(self.sphinx, self.config)
                for index in days:
                    self.sphinx.execute(f"FLUSH RTINDEX {ident(index)}")
            except SPHINX_ERRORS as exc:
                log.warning("cannot flush the day indexes after a full disk (%s); storing "
                            "waits", exc.message)
                return False
            log.warning("after a full disk: %d day indexes flushed, searchd's binlog starts "
                        "anew (an entry torn at the full disk would stop its replay)", len(days))
            self.torn = False
            return True

    def mark(self) -> int | None:
        """The binlog's size before a write (None: no binlog here to check)."""
        if not self.config.sphinx.binlog or not (self.data_dir / "binlog.meta").exists():
            return None
        return diskspace.binlog_bytes(self.data_dir)

    def kept(self, mark: int | None, payload: int) -> str | None:
        """None when searchd could keep a write of at least ``payload`` bytes begun at
        ``mark``; else why it may hold it only in memory."""
        if mark is None:
            return None
        size = diskspace.binlog_bytes(self.data_dir)
        grew = size - mark
        space = diskspace.free_and_total(self.data_dir)
        free = space[0] if space else FULL_FLOOR
        margin = self.state.margin if self.state is not None else FULL_FLOOR
        floor = min(FULL_FLOOR, max(margin // 2, 1))
        # (a binlog smaller than before: searchd started it anew after a flush, whose saved
        # RAM chunks hold the rows, or the rows are in the new binlog; the free space decides)
        if free >= floor and (size < mark or grew >= payload):
            return None
        self.torn = True
        self.look(force=True)
        return (f"its binlog grew {grew} bytes for {payload} bytes of lines, "
                f"{diskspace.mib(free)} free after it")


ROW_BYTES = 16  # at least what searchd's binlog takes of any row: its id and ts (8 bytes each)


def payload(stored: int) -> int:
    """A lower bound of the binlog bytes of ``stored`` rows: what any row takes whatever its
    text.  (Not the message's length: a day index of the line store keeps the message as
    words only, and a long line of few words takes a few hundred bytes; a binlog write that
    failed grows it by nothing.)"""
    return max(stored, 0) * ROW_BYTES
