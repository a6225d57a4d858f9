"""The audit trail: a stream's record is emitted once, when it ends, with its lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from alco.web import audit


async def events() -> AsyncIterator[bytes]:
    for chunk in (b": tail of shop\n\n", b"event: line\ndata: {}\n\n", b": heartbeat\n\n",
                  b"event: skipped\ndata: {}\n\n", b"event: line\ndata: {}\n\n"):
        yield chunk


def test_a_tails_record_counts_its_lines_and_is_emitted_once(caplog):
    caplog.set_level(logging.INFO, logger="alco.audit")
    read = audit.Read("token:abc", "10.0.0.1", "tail", "shop", "error")

    async def consume() -> int:
        return len([e async for e in audit.until_end_async(events(), read)])

    # (a loop of its own in a thread of its own: an earlier test may have left one running
    # in this thread, e.g. Playwright's sync API)
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, consume()).result() == 5
    [record] = [r for r in caplog.records if r.name == "alco.audit"]
    assert (record.credential, record.index, record.rows, record.query) == (
        "token:abc", "shop", 2, "error")


def test_rows_of_an_answer():
    assert audit.rows_in({"lines": [1, 2, 3], "next": None}) == 3
    assert audit.rows_in({"line": {}, "before": [1], "after": [2, 3]}) == 4
    assert audit.rows_in({"count": 42, "capped": False}) == 42
    assert audit.rows_in({"total": 7, "buckets": []}) == 7
    assert audit.rows_in({"indexes": [{}, {}]}) == 2
