"""``tail -f`` for a query: server-sent events of new matching lines.

Sphinx is polled for lines after a cursor (an id) each time a writer reports a stored batch
of the index (alco.catalog.stored; at most every 0.1 s), and every POLL_S seconds without one.
At most MAX_RATE lines a second are sent; beyond that only the newest lines of a poll are
sent, preceded by an ``event: skipped`` with the number left out.

Late lines: a line stored behind a newer one (a shipper's buffer sent after a network blip, a
re-send after a reconnect) has an id below the cursor and no poll would see it.  The writers
report the ids of such lines to a Redis stream (alco.catalog); each poll first reads the stream
from where this tail started, and the reported lines at or below the cursor that match the
query are sent as lines with ``"late": true`` (each once: lines above the cursor are the
poll's).  A writer knows only its own view: lines of one writer stored behind another's newer
ones are found by the look-back (alco.web.lookback), also sent with ``"late": true``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import orjson
from starlette.concurrency import run_in_threadpool

from alco.config import IndexConfig
from alco.errors import Unavailable
from alco.search.compile import TOP_ID, Compiled
from alco.search.reader import Line, Searcher
from alco.web.http_errors import error_body
from alco.web.lookback import LookBack, Sent
from alco.web.present import line_json

log = logging.getLogger("alco.web.tail")
POLL_S = 0.5
MAX_RATE = 500
HEARTBEAT_S = 15.0
LATE_ENTRIES = 20  # stream entries (batches of a writer) read per poll


class Wake(Protocol):
    """What the tail waits on between polls (alco.catalog.stored.StoredSignal)."""

    async def open(self) -> None: ...

    async def wait(self, timeout: float) -> bool: ...

    def oldest(self) -> int | None: ...

    async def close(self) -> None: ...


class LateSource(Protocol):
    """Where the writers report late lines (alco.catalog.reader.ValuesReader)."""

    def late_position(self, index: str) -> str | None: ...

    def late_since(self, index: str, position: str,
                   count: int = ...) -> tuple[str, list[int]] | None: ...


class LateLines:
    """The late lines of one tail: what the writers reported since it started."""

    def __init__(self, source: LateSource, index: str, sent: Sent) -> None:
        self.source, self.index = source, index
        self.position = source.late_position(index)
        self.sent = sent

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
        self.sent.add(wanted)
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


class Behind:
    """What a tail sends below its cursor: the lines writers reported late, and the
    look-back's."""

    def __init__(self, late_source: LateSource | None, ix: IndexConfig, c: Compiled) -> None:
        self.ix, self.c = ix, c
        self.sent = Sent()
        self.late = None if late_source is None else LateLines(late_source, ix.name, self.sent)
        self.lookback = LookBack(self.sent)

    def start(self, searcher: Searcher, cursor: int) -> None:
        self.lookback.start(searcher, self.ix, self.c, cursor)

    def step(self, searcher: Searcher, cursor: int, budget: int,
             oldest_ms: int | None) -> tuple[list[Line], list[Line], int, int]:
        """One poll: the late lines, the new ones, how many were skipped, the next cursor
        (``oldest_ms``: the oldest line stored since the last poll, None if unknown)."""
        ix, c = self.ix, self.c
        late = [] if self.late is None else self.late.poll(searcher, ix, c, cursor, budget)
        more, skipped = self.lookback.poll(searcher, ix, c, cursor,
                                           max(0, budget - len(late)), oldest_ms)
        late = sorted(late + more, key=lambda line: line.id)
        lines, over, moved = poll(searcher, ix, c, cursor, max(1, budget - len(late)))
        self.sent.add([line.id for line in lines])
        if over and lines:  # the lines left out are counted: the look-back passes them
            self.lookback.skip_to(lines[0].id - 1)
        return late, lines, skipped + over, moved


async def tail_events(open_searcher: Callable[[], Searcher], ix: IndexConfig, c: Compiled,
                      cursor: int, poll_s: float = POLL_S, max_rate: int = MAX_RATE,
                      late_source: LateSource | None = None,
                      wake: Wake | None = None) -> AsyncIterator[bytes]:
    """The event stream; ends when the client goes away (the send fails)."""
    searcher = open_searcher()
    beat = polled = time.monotonic()
    behind = await run_in_threadpool(Behind, late_source, ix, c)
    try:
        await run_in_threadpool(behind.start, searcher, cursor)
    except Unavailable:
        pass  # the first poll says so
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
            oldest_ms = None if wake is None else wake.oldest()
            try:
                late, lines, skipped, moved = await run_in_threadpool(behind.step, searcher,
                                                                      cursor, budget, oldest_ms)
            except Unavailable as exc:  # the connection is dropped: the next poll reconnects
                yield sse("error", error_body(exc))
                continue
            if skipped:
                yield sse("skipped", {"count": skipped})
            for line in late:
                yield sse("line", {**line_json(line), "late": True})
            for line in lines:
                yield sse("line", line_json(line))
            cursor = moved
            if lines or late:
                beat = time.monotonic()
            elif time.monotonic() - beat >= HEARTBEAT_S:
                beat = time.monotonic()
                yield b": heartbeat\n\n"
    finally:
        searcher.sphinx.close()
        if wake is not None:
            await wake.close()
