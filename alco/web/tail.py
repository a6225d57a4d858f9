"""``tail -f`` for a query: server-sent events of new matching lines.

Sphinx is polled every POLL_S seconds for lines after a cursor (an id).  At most MAX_RATE lines
a second are sent; beyond that only the newest lines of a poll are sent, preceded by an
``event: skipped`` with the number left out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import orjson
from starlette.concurrency import run_in_threadpool

from alco.config import IndexConfig
from alco.index.sphinxql import SphinxError
from alco.search.compile import TOP_ID, Compiled
from alco.search.reader import Line, Searcher

log = logging.getLogger("alco.web.tail")
POLL_S = 0.5
MAX_RATE = 500
HEARTBEAT_S = 15.0


def sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def newest_id(searcher: Searcher, ix: IndexConfig) -> int:
    rows = searcher.select(ix, Compiled(), 0, TOP_ID, False, 1)
    return int(rows[0]["id"]) if rows else 0


def poll(searcher: Searcher, ix: IndexConfig, c: Compiled, cursor: int,
         budget: int) -> tuple[list[Line], int]:
    """Lines after ``cursor`` (at most ``budget``, the newest) and how many were skipped."""
    rows = searcher.select(ix, c, cursor + 1, TOP_ID, True, budget + 1)
    if len(rows) > budget:
        rows = searcher.select(ix, c, cursor + 1, TOP_ID, False, budget)[::-1]
        skipped = searcher.count_ids(ix, c, cursor + 1, int(rows[0]["id"]) - 1)
    else:
        skipped = 0
    return [searcher.row_line(r, bool(c.snippet)) for r in rows], skipped


async def tail_events(open_searcher: Callable[[], Searcher], ix: IndexConfig, c: Compiled,
                      cursor: int, poll_s: float = POLL_S,
                      max_rate: int = MAX_RATE) -> AsyncIterator[bytes]:
    """The event stream; ends when the client goes away (the send fails)."""
    searcher = open_searcher()
    budget = max(1, int(max_rate * poll_s))
    beat = time.monotonic()
    try:
        yield b": tail of " + ix.name.encode() + b"\n\n"
        while True:
            await asyncio.sleep(poll_s)
            try:
                lines, skipped = await run_in_threadpool(poll, searcher, ix, c, cursor, budget)
            except SphinxError as exc:
                searcher.sphinx.close()
                yield sse("error", {"error": f"search engine unavailable: {exc.args[-1]}"})
                continue
            if skipped:
                yield sse("skipped", {"count": skipped})
            for line in lines:
                yield sse("line", line.as_json())
            if lines:
                cursor, beat = lines[-1].id, time.monotonic()
            elif time.monotonic() - beat >= HEARTBEAT_S:
                beat = time.monotonic()
                yield b": heartbeat\n\n"
    finally:
        searcher.sphinx.close()
