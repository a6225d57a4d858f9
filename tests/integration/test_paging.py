"""Paging to the very end of a burst against a real searchd: every page answers quickly, in a
bounded number of queries, and the pages add up to exactly the lines stored."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from alco.config import Config
from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, fingerprint
from alco.index.sphinxql import Sphinx
from alco.ingest.records import Record
from alco.search.budget import MAX_QUERIES
from alco.search.reader import LineQuery, Searcher
from alco.web.app import create_app

pytestmark = pytest.mark.integration
BURST = 30_000
PER_MS = 5
PAGE_SECONDS = 2.0  # far above a page's real cost: only a walk through empty time gets there


class CountingSphinx(Sphinx):
    """A real connection that counts its queries."""

    queries = 0

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        self.queries += 1
        return super().query(sql, params)


def store(config: Config, records: list[Record]) -> None:
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        result = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days).store(
            records, datetime.now(UTC).date(), False)
        assert result.stored == len(records), result
    finally:
        sx.close()


@pytest.fixture
def burst(stack):
    """BURST lines (PER_MS a millisecond) that ended three seconds ago, and a few lines of
    an hour before: the shape that made the last page walk up to now a second at a time."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    end_us = time.time_ns() // 1000 - 3_000_000
    start_us = end_us - BURST // PER_MS * 1000
    records = [Record(start_us + i // PER_MS * 1000 + i % PER_MS, f"burst line {i} orders",
                      {"seq": i}, fingerprint(f"burst {i}".encode())) for i in range(BURST)]
    records += [Record(start_us - 3_600_000_000 + i * 1_000_000, f"early line {i}",
                       {"seq": -10 + i}, fingerprint(f"early {i}".encode())) for i in range(5)]
    store(config, records)
    return config


def page_through(client: TestClient, order: str, limit: int, q: str = "") -> list[int]:
    seqs: list[int] = []
    cursor = None
    key = "after" if order == "asc" else "before"
    while True:
        started = time.perf_counter()
        resp = client.get("/api/logs/lines", params={
            "q": q, "order": order, "limit": limit, **({key: cursor} if cursor else {})})
        elapsed = time.perf_counter() - started
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert elapsed < PAGE_SECONDS, (cursor, elapsed)
        assert page["partial"] is False
        seqs += [line["fields"]["seq"] for line in page["lines"]]
        cursor = page["next"]
        if cursor is None:
            return seqs


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paging_through_a_burst_to_its_end_is_exact(burst, order):
    client = TestClient(create_app(burst))
    expected = list(range(-10, -5)) + list(range(BURST))
    assert page_through(client, order, 1000) == (expected if order == "asc"
                                                  else expected[::-1])
    words = page_through(client, order, 700, q="orders")
    assert words == (list(range(BURST)) if order == "asc" else list(range(BURST))[::-1])


def test_every_page_of_the_burst_takes_few_queries(burst):
    sphinx = CountingSphinx(burst.sphinx.host, burst.sphinx.port)
    searcher = Searcher(burst, sphinx)
    ix = burst.index("logs")
    worst, total, last, lq = 0, 0, 0, LineQuery(limit=1000, order="asc")
    try:
        while True:
            sphinx.queries = 0
            page = searcher.lines(ix, lq)
            worst = max(worst, sphinx.queries)
            total += len(page.lines)
            last = page.lines[-1].id if page.lines else last
            if page.next is None:
                break
            lq = LineQuery(after=int(page.next), limit=1000, order="asc")
        # the last line's cursor: an empty page, quickly (up to four searches, and the
        # dictionary's lines per hour, ten minutes and minute after the cursor)
        sphinx.queries = 0
        end = searcher.lines(ix, LineQuery(after=last, limit=1000, order="asc"))
        assert end.lines == [] and end.next is None and sphinx.queries <= 7
    finally:
        sphinx.close()
    assert total == BURST + 5
    assert worst <= MAX_QUERIES
