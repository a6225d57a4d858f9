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
from alco.linestore.writing import keeper_for
from alco.search import starts
from alco.search.budget import MAX_QUERIES
from alco.search.reader import LineQuery, Searcher
from alco.web.app import create_app

pytestmark = pytest.mark.integration
BURST = 30_000
PER_MS = 5
PAGE_SECONDS = 2.0  # far above a page's real cost: only a walk through empty time gets there


class CountingSphinx(Sphinx):
    """A real connection that counts its queries (and, apart, its searches)."""

    queries = 0
    searches = 0

    selects: list[tuple] = []

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        self.queries += 1
        if sql.startswith("SELECT"):
            self.searches += 1
            self.selects.append(tuple(params))
        return super().query(sql, params)


def store(config: Config, records: list[Record]) -> None:
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        result = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days,
                          lines=keeper_for(config, ix)).store(
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


@pytest.fixture
def steady(stack):
    """A line every 20 ms for a minute, ended two seconds ago, and five lines of ten
    minutes before: a second holds 50 lines."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    end_us = time.time_ns() // 1000 - 2_000_000
    records = [Record(end_us - i * 20_000, f"steady line {i} orders", {"seq": i},
                      fingerprint(f"steady {i}".encode())) for i in range(3000)]
    records += [Record(end_us - 600_000_000 - i * 1_000_000, f"early line {i}",
                       {"seq": -1 - i}, fingerprint(f"early {i}".encode())) for i in range(5)]
    store(config, records)
    return config


def test_a_newest_page_takes_one_search_sized_by_the_dictionary(steady, monkeypatch):
    """The newest 100 of a word on every line, 50 lines a second: the dictionary's lines of
    the word and of the last minutes size the first window to hold the page (one search,
    where a first window of a second held 50); the newest page of a word in five lines of
    its day reads the rest of the day at once (no empty window first)."""
    if time.time() % 86_400 < 12 * 60:
        pytest.skip("the fixture's lines span two days for 12 minutes after 00:00 UTC")
    monkeypatch.setattr(starts, "RARE_LINES", 1000)  # (the word's 3,000 lines are not rare)
    sphinx = CountingSphinx(steady.sphinx.host, steady.sphinx.port)
    ix = steady.index("logs")
    try:
        # the newest line, as the writers tell the web app (and the day index probed for
        # hour tokens)
        newest_s = Searcher(steady, sphinx).lines(ix, LineQuery(limit=1)).lines[0].ts_us / 1e6
        searcher = Searcher(steady, sphinx, newest=lambda name: newest_s)
        sphinx.searches = 0
        page = searcher.lines(ix, LineQuery(q="orders", limit=100))
        assert [ln.fields["seq"] for ln in page.lines] == list(range(100))
        assert sphinx.searches == 1
        sphinx.selects = []
        page = searcher.lines(ix, LineQuery(q="early", limit=100))
        assert [ln.fields["seq"] for ln in page.lines] == [-1, -2, -3, -4, -5]
        words, lo = sphinx.selects[0][0], sphinx.selects[0][1]
        assert "z1" not in words and lo <= page.lines[-1].id  # no time tokens: all the day
    finally:
        sphinx.close()


@pytest.mark.parametrize("dense", [False, True])
def test_a_read_without_words_in_a_burst_matches_by_id_range(burst, monkeypatch, dense):
    """A minute's time token is decoded whole whatever part of it a window takes: a read
    without words (every line, or a pattern without a literal) that starts in a minute of
    more than DENSE_MINUTE lines matches by id range alone (here 1,000: the burst's minutes
    are denser), one sized search for a page; in quieter minutes it keeps the tokens.  The
    pages are the same lines either way."""
    monkeypatch.setattr(starts, "DENSE_MINUTE", 1_000 if dense else 10**9)
    sphinx = CountingSphinx(burst.sphinx.host, burst.sphinx.port)
    ix = burst.index("logs")
    try:
        searcher = Searcher(burst, sphinx)
        searcher.lines(ix, LineQuery(limit=1))  # (the day index probed for hour tokens)
        middle = searcher.lines(ix, LineQuery(q="/line 15000 /", limit=1)).lines[0].id
        for q, want in (("", list(range(14999, 14899, -1))),
                        ("/\\d+0\\b/", list(range(14990, 13990, -10)))):
            sphinx.selects, sphinx.searches = [], 0
            page = searcher.lines(ix, LineQuery(q=q, before=middle, limit=100))
            assert [ln.fields["seq"] for ln in page.lines] == want, q
            tokens = [p for params in sphinx.selects for p in params
                      if isinstance(p, str) and "z1m" in p]
            if not q:  # (a pattern without a literal reads the line store's blocks instead)
                assert (tokens == []) if dense else tokens, (q, sphinx.selects)
            if dense and not q:
                assert sphinx.searches == 1  # the first window sized by the minute's lines
    finally:
        sphinx.close()
