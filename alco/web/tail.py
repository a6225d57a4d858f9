"""``tail -f`` for a query: server-sent events of new matching lines.

Sphinx is polled for lines after a cursor (an id) each time a writer reports a stored batch
of the index (alco.stores.stored; at most every 0.1 s), and every POLL_S seconds without one.
At most MAX_RATE lines a second are sent; beyond that only the newest lines of a poll are
sent, preceded by an ``event: skipped`` with the number left out.

Late lines: a line stored behind a newer one (a shipper's buffer sent after a network blip, a
re-send after a reconnect) has an id below the cursor and no poll would see it.  The writers
report the ids of such lines to a Redis stream (alco.stores); each poll first reads the stream
from where this tail started, and the reported lines at or below the cursor that match the
query are sent as lines with ``"late": true`` (each once: lines above the cursor are the
poll's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import orjson
from starlette.concurrency import run_in_threadpool

from alco.config import IndexConfig
from alco.errors import Unavailable
from alco.search.compile import TOP_ID, Compiled
from alco.search.reader import Line, Searcher
from alco.web.http_errors import error_body
from alco.web.present import line_json

log = logging.getLogger("alco.web.tail")
POLL_S = 0.5
MAX_RATE = 500
HEARTBEAT_S = 15.0
LATE_ENTRIES = 20  # stream entries (batches of a writer) read per poll
LATE_REMEMBERED = 10_000  # ids of late lines already sent, kept against a second send


class Wake(Protocol):
    """What the tail waits on between polls (alco.stores.stored.StoredSignal)."""

    async def open(self) -> None: ...

    async def wait(self, timeout: float) -> bool: ...

    async def close(self) -> None: ...


class LateSource(Protocol):
    """Where the writers report late lines (alco.stores.reader.ValuesReader)."""

    def late_position(self, index: str) -> str | None: ...

    def late_since(self, index: str, position: str,
                   count: int = ...) -> tuple[str, list[int]] | None: ...


class LateLines:
    """The late lines of one tail: what the writers reported since it started."""

    def __init__(self, source: LateSource, index: str) -> None:
        self.source, self.index = source, index
        self.position = source.late_position(index)
        self.sent: OrderedDict[int, None] = OrderedDict()

    def poll(self, searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int,
             budget: int) -> list[Line]:
        """Reported lines at or below ``cursor`` not sent yet that match ``c`` (at most
        ``budget``, one query)."""
        if self.position is None:  # Redis was away when the tail started: start from now
            self.position = self.source.late_position(self.index)
            return []
        got = self.source.late_since(self.index, self.position, LATE_ENTRIES)
        if got is None:
            return []  # Redis is away: read on from the same position next time
        self.position, ids = got
        wanted = [i for i in ids if i <= cursor and i not in self.sent][-budget:]
        if not wanted:
            return []
        searcher.start_request()
        lines = searcher.lines_by_ids(ix, c, wanted)
        for i in wanted:
            self.sent[i] = None
        while len(self.sent) > LATE_REMEMBERED:
            self.sent.popitem(last=False)
        return lines


def sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def newest_id(searcher: Searcher, ix: IndexConfig) -> int:
    rows = searcher.select(ix, Compiled(), 0, TOP_ID, False, 1)
    return int(rows[0]["id"]) if rows else 0


def poll(searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int,
         budget: int) -> tuple[list[Line], int, int]:
    """Lines after ``cursor`` (at most ``budget``, the newest), how many were skipped, and
    the cursor of the next poll.

    One poll is one request of the searcher: its query budget bounds the three reads.  A
    query with patterns may scan only part of what came since (``partial``): the next poll
    goes on from where this one got to."""
    searcher.start_request()
    got = searcher.read(ix, c, cursor + 1, TOP_ID, True, budget + 1, reserve=2)
    rows, skipped = got.rows, 0
    if len(rows) > budget:
        rows = searcher.select(ix, c, cursor + 1, TOP_ID, False, budget, reserve=1)[::-1]
        skipped = searcher.count_ids(ix, c, cursor + 1, int(rows[0]["id"]) - 1)
    lines = searcher.row_lines(rows, c)
    if lines:
        cursor = lines[-1].id
    elif got.partial:
        cursor = max(cursor, got.edge)
    return lines, skipped, cursor


async def tail_events(open_searcher: Callable[[], Searcher], ix: IndexConfig, c: Compiled,
                      cursor: int, poll_s: float = POLL_S, max_rate: int = MAX_RATE,
                      late_source: LateSource | None = None,
                      wake: Wake | None = None) -> AsyncIterator[bytes]:
    """The event stream; ends when the client goes away (the send fails)."""
    searcher = open_searcher()
    beat = polled = time.monotonic()
    late = None if late_source is None else \
        await run_in_threadpool(LateLines, late_source, ix.name)
    if wake is not None:
        await wake.open()
    try:
        yield b": tail of " + ix.name.encode() + b"\n\n"
        while True:
            if wake is None:
                await asyncio.sleep(poll_s)
            else:
                await wake.wait(poll_s)
            # at most max_rate lines a second, however soon a wake-up brought this poll
            now = time.monotonic()
            budget = max(1, int(max_rate * min(now - polled, poll_s)))
            polled = now
            try:
                if late is not None:  # before the poll: its cursor decides whose line it is
                    for line in await run_in_threadpool(late.poll, searcher, ix, c, cursor,
                                                        budget):
                        yield sse("line", {**line_json(line), "late": True})
                lines, skipped, moved = await run_in_threadpool(poll, searcher, ix, c, cursor,
                                                                budget)
            except Unavailable as exc:  # the connection is dropped: the next poll reconnects
                yield sse("error", error_body(exc))
                continue
            if skipped:
                yield sse("skipped", {"count": skipped})
            for line in lines:
                yield sse("line", line_json(line))
            cursor = moved
            if lines:
                beat = time.monotonic()
            elif time.monotonic() - beat >= HEARTBEAT_S:
                beat = time.monotonic()
                yield b": heartbeat\n\n"
    finally:
        searcher.sphinx.close()
        if wake is not None:
            await wake.close()
