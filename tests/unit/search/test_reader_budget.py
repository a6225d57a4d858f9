"""Every read's worst case is bounded: a fake searchd counts the queries of each request over
adversarial shapes of data, and paging with the returned cursors neither skips nor repeats a
line."""

from __future__ import annotations

import bisect
import random
import re
import time

import pytest

from alco.config import IndexConfig, parse
from alco.index.ids import id_ms
from alco.index.schema import make_id
from alco.search import dictionary
from alco.search.budget import MAX_QUERIES, ReadBudget
from alco.search.compile import TOP_ID, Compiled, compile_text
from alco.search.reader import LineQuery, Searcher
from alco.web.tail import poll

LIMIT_RE = re.compile(r"LIMIT (\d+)")
DAY_MS = 86_400_000
NOW_MS = time.time_ns() // 1_000_000


class FakeSphinx:
    """Stands for searchd: every stored line matches; counts the queries."""

    def __init__(self, ids: list[int], cost_s: float = 0.0, word_lines: int = 0) -> None:
        self.ids = sorted(ids)
        self.word_lines = word_lines  # lines the dictionary says a word (not a time token) is in
        self.queries = 0  # every statement a request's budget counts
        self.searches = 0  # of which SELECTs (the rest: lines per time token)
        self.searched: list[tuple[int, int]] = []  # the id ranges of the SELECTs
        self.matched: list[str] = []  # their MATCH texts ("" without one)
        self.clock = 0.0
        self.cost_s = cost_s  # each query moves the fake clock on by this much
        self.warnings: list[str] = []

    def now(self) -> float:
        return self.clock

    def note_warnings(self, messages: list[str]) -> None:
        self.warnings += [m for m in messages if m not in self.warnings]

    def docs(self, word: str) -> int:
        if not word.startswith("z"):
            return self.word_lines
        lo, hi = _token_ids(word)
        return bisect.bisect_right(self.ids, hi) - bisect.bisect_left(self.ids, lo)

    def query(self, sql: str, params: list) -> list[dict]:
        if sql.startswith("DESCRIBE"):  # the probe for the text's place: not counted
            return [{"Field": "logline", "Type": "string"}]
        if sql.endswith(" SETTINGS"):  # the probe for infixes: not counted
            return [{"Variable_name": "settings", "Value": "dict = keywords\n"}]
        if sql.startswith("SHOW INDEX"):
            self.queries += 1
            return [{"Variable_name": "indexed_documents", "Value": str(len(self.ids))}]
        if sql.startswith("CALL KEYWORDS"):
            if not sql.endswith(", 1)"):  # the probe for infixes: not counted
                return [{"qpos": "1", "tokenized": params[0], "normalized": params[0]}]
            self.queries += 1  # lines per time token, from the dictionary
            return [{"qpos": str(i), "tokenized": w, "normalized": w, "docs": self.docs(w)}
                    for i, w in enumerate(params[0].split(), 1)]
        self.queries += 1
        if sql.startswith(("SELECT id, js, meta", "SELECT id, meta")):
            # a scan's kept lines get their fields and marks (or marks only)
            return [{"id": i, "js": "{}", "meta": "{}"} for i in params[2:]]  # (after lo, hi)
        self.searches += 1
        self.clock += self.cost_s
        lo, hi = params[-2], params[-1]
        self.searched.append((lo, hi))
        self.matched.append(params[0] if "MATCH(" in sql else "")
        a, b = bisect.bisect_left(self.ids, lo), bisect.bisect_right(self.ids, hi)
        if sql.startswith("SELECT COUNT(*)"):
            return [{"n": b - a}]
        n = int(LIMIT_RE.search(sql).group(1))
        found = self.ids[a:b][:n] if "ORDER BY id ASC" in sql else self.ids[a:b][::-1][:n]
        return [{"id": i, "ts": id_ms(i) * 1000, "logline": f"line {i}", "js": "{}"}
                for i in found]


def minute_of(doc_id: int, later: int = 0) -> int:
    """The first id of the minute of ``doc_id`` (or of ``later`` minutes after it)."""
    return make_id((id_ms(doc_id) // 60_000 + later) * 60_000, 0, 0)


def _token_ids(word: str) -> tuple[int, int]:
    """The id range of a time token's lines."""
    for prefix, size in (("z1m", 60_000), ("z10m", 600_000), ("z1h", 3_600_000)):
        if word.startswith(prefix):
            k = int(word[len(prefix):])
            return make_id(k * size, 0, 0), make_id((k + 1) * size, 0, 0) - 1
    return 1, 0


def ids_at(ms_list: list[int]) -> list[int]:
    """Ids of lines at these times (several in one millisecond get counters 0, 1, …)."""
    seen: dict[int, int] = {}
    out = []
    for ms in sorted(ms_list):
        seen[ms] = seen.get(ms, -1) + 1
        out.append(make_id(ms, 0, seen[ms]))
    return out


def burst(end_ms: int, lines: int, spacing_ms: int = 1) -> list[int]:
    return [end_ms - i * spacing_ms for i in range(lines)]


def quiet_days(seed: int) -> list[int]:
    """Bursts of a few hundred lines at random moments of 20 days, quiet in between."""
    rng = random.Random(seed)
    out: list[int] = []
    for _ in range(12):
        out += burst(NOW_MS - rng.randrange(20 * DAY_MS), rng.randrange(50, 600),
                     rng.choice((1, 3, 40)))
    return out


SHAPES = {
    "burst that ended seconds ago": burst(NOW_MS - 3_000, 6000),
    "burst, a long gap, then now": burst(NOW_MS - 2 * DAY_MS, 3000),
    # (the first minute of the oldest day kept, whatever the time of day)
    "one line at the far end of 30 days": [NOW_MS // DAY_MS * DAY_MS - 29 * DAY_MS + 60_000],
    "no lines at all": [],
    "bursts and quiet days": quiet_days(7),
    "two bursts an hour apart": burst(NOW_MS - 3_600_000, 1500) + burst(NOW_MS - 60_000, 1500),
    "a line every ten minutes": [NOW_MS - i * 600_000 for i in range(1, 400)],
}


def searcher_for(fake: FakeSphinx) -> Searcher:
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=fake)  # type: ignore[arg-type]
    searcher.budget = ReadBudget(10.0, MAX_QUERIES, clock=fake.now)
    return searcher


def page_through(searcher: Searcher, fake: FakeSphinx, lq: LineQuery,
                 most_pages: int = 20_000) -> tuple[list[int], int]:
    """All ids reached by following ``next`` from ``lq``, and the most queries of a page."""
    got: list[int] = []
    worst = 0
    for _ in range(most_pages):
        fake.queries = fake.searches = 0
        page = searcher.lines(IndexConfig(), lq)
        worst = max(worst, fake.queries)
        fake.worst_searches = max(getattr(fake, "worst_searches", 0), fake.searches)
        assert fake.queries == searcher.budget.used
        got += [ln.id for ln in page.lines]
        if page.next is None:
            return got, worst
        cursor = int(page.next)
        lq = (LineQuery(q=lq.q, after=cursor, limit=lq.limit, order="asc") if lq.order == "asc"
              else LineQuery(q=lq.q, before=cursor, limit=lq.limit, order="desc"))
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("limit", [1, 7, 1000])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("shape", SHAPES)
def test_paging_any_shape_is_bounded_and_exact(shape, order, limit):
    ids = ids_at(SHAPES[shape])
    if limit == 1 and len(ids) > 300:  # a page per line: the first 300 show the same
        ids = ids[-300:] if order == "desc" else ids[:300]
    fake = FakeSphinx(ids)
    got, worst = page_through(searcher_for(fake), fake, LineQuery(limit=limit, order=order))
    assert got == (ids if order == "asc" else ids[::-1])
    assert worst <= MAX_QUERIES


@pytest.mark.parametrize("shape", [s for s in SHAPES if SHAPES[s]])
def test_a_cursor_on_the_last_line_ends_in_few_queries(shape):
    ids = ids_at(SHAPES[shape])
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    for lq in (LineQuery(after=ids[-1], limit=1000, order="asc"),
               LineQuery(after=ids[-1], limit=1, order="desc"),
               LineQuery(before=ids[0], limit=1000, order="desc"),
               LineQuery(before=ids[0], limit=1, order="asc")):
        fake.queries = 0
        page = searcher.lines(IndexConfig(), lq)
        assert page.lines == [] and page.next is None
        assert fake.queries <= MAX_QUERIES


def test_ranges_beyond_the_data_are_bounded():
    ids = ids_at(quiet_days(3))
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    future, past = (NOW_MS + DAY_MS) * 1000, (NOW_MS - 40 * DAY_MS) * 1000
    for lq in (LineQuery(from_us=future, order="asc"), LineQuery(from_us=future),
               LineQuery(to_us=past, order="asc"), LineQuery(to_us=past),
               LineQuery(from_us=past, order="asc", limit=1000),
               LineQuery(to_us=future, limit=1000)):
        fake.queries = 0
        searcher.lines(IndexConfig(), lq)
        assert fake.queries <= MAX_QUERIES


def test_a_page_full_but_for_its_probe_returns_its_cursor():
    """1000 lines a second ago, none since: the page of exactly 1000 does not walk up to now
    one second at a time; its ``next`` leads to an empty page."""
    ids = ids_at(burst(NOW_MS - 30 * 60_000, 2000))
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    page = searcher.lines(IndexConfig(), LineQuery(after=ids[999], limit=1000, order="asc"))
    assert [ln.id for ln in page.lines] == ids[1000:]
    assert fake.queries <= 4
    assert page.next == str(ids[-1])
    last = searcher.lines(IndexConfig(), LineQuery(after=ids[-1], limit=1000, order="asc"))
    assert last.lines == [] and last.next is None


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_the_time_budget_answers_partial_pages_that_go_on(order):
    """Every query takes 1.5 s of a 10 s budget: pages stop early with ``partial`` and a
    cursor, and following the cursors still finds every line once."""
    ids = ids_at(quiet_days(11))
    fake = FakeSphinx(ids, cost_s=1.5)
    searcher = searcher_for(fake)
    got, worst = page_through(searcher, fake, LineQuery(limit=1000, order=order))
    assert got == (ids if order == "asc" else ids[::-1])
    assert fake.worst_searches <= 7
    assert fake.warnings and "time budget" in fake.warnings[0]


def test_a_page_cut_by_the_time_budget_says_so():
    ids = ids_at(SHAPES["a line every ten minutes"])
    fake = FakeSphinx(ids, cost_s=4.0)
    page = searcher_for(fake).lines(IndexConfig(), LineQuery(limit=1000, order="asc"))
    assert page.partial and page.next is not None
    assert int(page.next) >= max([ln.id for ln in page.lines], default=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_context_and_tail_polls_are_bounded(shape):
    ids = ids_at(SHAPES[shape])
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    for anchor in ids[:1] + ids[-1:] + ids[len(ids) // 2:len(ids) // 2 + 1]:
        fake.queries = 0
        found = searcher.context(IndexConfig(), anchor, 1000, 1000)
        assert found is not None and fake.queries <= MAX_QUERIES
        position = ids.index(anchor)
        assert [ln.id for ln in found.before] == ids[max(0, position - 1000):position]
        assert [ln.id for ln in found.after] == ids[position + 1:position + 1001]
    for cursor in [0, *ids[-1:], *ids[:1]]:
        fake.queries = 0
        lines, skipped, _ = poll(searcher, IndexConfig(), Compiled(), cursor, 250)
        assert fake.queries <= MAX_QUERIES
        newer = [i for i in ids if i > cursor]
        assert [ln.id for ln in lines] == newer[-250:]
        assert skipped == len(newer) - len(lines)


def test_the_query_budget_makes_the_last_window_take_all_that_is_left():
    ids = ids_at(SHAPES["bursts and quiet days"])
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    searcher.budget.queries = 3
    got = searcher.read(IndexConfig(), Compiled(), 0, TOP_ID, True, len(ids) + 1)
    assert fake.queries <= 3 and got.done and [r["id"] for r in got.rows] == ids


EVEN = r"/line \d*[02468]$/"  # a pattern without a literal the index could use: a scan


def even(ids: list[int]) -> list[int]:
    return [i for i in ids if i % 2 == 0]


@pytest.mark.parametrize("limit", [7, 1000])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("shape", SHAPES)
def test_paging_a_pattern_scan_is_bounded_and_exact(shape, order, limit):
    ids = ids_at(SHAPES[shape])
    fake = FakeSphinx(ids)
    got, worst = page_through(searcher_for(fake), fake,
                              LineQuery(q=EVEN, limit=limit, order=order))
    assert got == (even(ids) if order == "asc" else even(ids)[::-1])
    assert worst <= MAX_QUERIES


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_scan_the_query_budget_stops_goes_on_from_its_cursor(order):
    """Lines that never match: each page scans what its query budget allows and says how far
    it got; following the cursors reaches the end without repeating a window."""
    ids = ids_at(burst(NOW_MS - 3_600_000, 200_000, 1))
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    searcher.budget.queries = 5
    lq = LineQuery(q="/no such line/", limit=100, order=order)
    pages = 0
    while True:
        fake.queries = 0
        page = searcher.lines(IndexConfig(), lq)
        pages += 1
        assert page.lines == [] and fake.queries <= 5
        if page.next is None:
            break
        assert page.partial and page.searched_to_us is not None
        cursor = int(page.next)
        lq = LineQuery(q=lq.q, limit=100, order=order,
                       **({"after": cursor} if order == "asc" else {"before": cursor}))
    assert pages <= len(ids) // (4 * 4000) + 2  # four windows of SCAN_ROWS lines a page


def test_a_count_of_a_pattern_is_capped_and_bounded():
    ids = ids_at(SHAPES["bursts and quiet days"])
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    c = compile_text(IndexConfig(), EVEN, None)
    searcher.start_request()
    assert searcher.count_checked(IndexConfig(), c, 0, TOP_ID, 10**6) == \
        (len(even(ids)), False, False)
    searcher.start_request()
    assert searcher.count_checked(IndexConfig(), c, 0, TOP_ID, 10) == (10, True, False)
    assert searcher.budget.used <= MAX_QUERIES


def test_a_tail_poll_of_a_scan_moves_its_cursor_past_what_it_read():
    ids = ids_at(burst(NOW_MS - 60_000, 50_000, 1))
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    searcher.budget.queries = 4
    c = compile_text(IndexConfig(), "/no such line/", None)
    lines, skipped, cursor = poll(searcher, IndexConfig(), c, 0, 250)
    assert lines == [] and skipped == 0 and ids[0] <= cursor < ids[-1]


def probed(ids: list[int], retention_days: int) -> tuple[FakeSphinx, Searcher, IndexConfig]:
    """A fake searchd holding ``ids``, and a searcher that has probed all its day indexes for
    hour tokens (a request probes two); the fake keeps the id ranges it was searched in, in
    ``searched``."""
    fake = FakeSphinx(ids)
    searcher = searcher_for(fake)
    dictionary._HOURS.clear()
    ix = IndexConfig(retention_days=retention_days)
    searcher.probe(ix)  # (as the web app does when it starts: every retained day index)
    assert len(dictionary._HOURS) == retention_days + 1  # (and tomorrow's)
    fake.queries = fake.searches = 0
    fake.searched = []
    return fake, searcher, ix


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_read_starts_at_the_first_hour_with_lines_past_quiet_days(order):
    """Oldest first from the first retained day, or newest first from a cursor days after the
    last line: the dictionary's lines per time token skip the empty days, so the first search
    starts at the minute of the first line found (and a read never balloons into days it did
    not need)."""
    ids = ids_at([NOW_MS - 6 * DAY_MS + i * 1000 for i in range(50)])
    fake, searcher, ix = probed(ids, 10)
    lq = (LineQuery(limit=10, order="asc") if order == "asc"
          else LineQuery(limit=10, order="desc", before=ids_at([NOW_MS - DAY_MS])[0]))
    page = searcher.lines(ix, lq)
    searched = fake.searched
    assert [ln.id for ln in page.lines] == (ids[:10] if order == "asc" else ids[-10:][::-1])
    edge = minute_of(ids[0]) if order == "asc" else minute_of(ids[-1], 1) - 1
    assert searched[0][0 if order == "asc" else 1] == edge
    assert fake.searches <= 4


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_read_skips_a_quiet_spell_it_runs_into(order):
    """Two bursts five and a half hours apart: once a wide window finds no line at all, the
    read goes on from the next minute with lines instead of growing its windows over the
    quiet spell (and then reading a wide window of the next burst)."""
    t0 = (NOW_MS - 2 * DAY_MS) // 3_600_000 * 3_600_000 + 1_234_567
    first = [t0 + i * 100 for i in range(600)]
    second = [t0 + 19_800_000 + i * 100 for i in range(600)]
    ids = ids_at(first + second)
    fake, searcher, ix = probed(ids, 5)
    searched = fake.searched
    lq = (LineQuery(limit=10, order="asc", after=ids[599]) if order == "asc"
          else LineQuery(limit=10, order="desc", before=ids[600]))
    page = searcher.lines(ix, lq)
    assert [ln.id for ln in page.lines] == (ids[600:610] if order == "asc"
                                             else ids[590:600][::-1])
    # no window reaches more than a minute into the burst beyond the quiet spell
    if order == "asc":
        assert max(hi for _, hi in searched) < minute_of(ids[600], 2)
    else:
        assert min(lo for lo, _ in searched) >= minute_of(ids[599], -1)


def _yesterday_ms(offset_ms: int) -> int:
    return (NOW_MS // DAY_MS - 1) * DAY_MS + offset_ms


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_the_first_window_holds_a_page_at_the_rate_the_dictionary_gives(order):
    """A line every 100 ms: a first window of a second would hold ten of a page of 100.  The
    dictionary's lines of the word in the day and of the minutes the read starts in size the
    first window to hold the page: one search."""
    ids = ids_at([_yesterday_ms(12 * 3_600_000 + 30_000) - i * 100 for i in range(36_000)])
    fake, searcher, ix = probed(ids, 3)
    fake.word_lines = len(ids)  # (the fake's every line matches)
    lq = (LineQuery(q="orders", limit=100, order="asc", after=ids[0] - 1) if order == "asc"
          else LineQuery(q="orders", limit=100, order="desc", before=ids[-1] + 1))
    page = searcher.lines(ix, lq)
    assert [ln.id for ln in page.lines] == (ids[:100] if order == "asc" else ids[-100:][::-1])
    assert fake.searches == 1


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_window_through_time_tokens_reads_the_rest_of_its_far_minute(order):
    """A read from the middle of a minute whose lines are all at its far end: the rate the
    dictionary gives sizes a first window that holds none of them, but searchd decodes the
    minute's token whole anyway, so the window takes the rest of the minute: one search,
    not an empty one and another."""
    minute = _yesterday_ms(9 * 3_600_000) // 60_000 * 60_000
    if order == "asc":  # cursor at 0:10, the lines at 0:55-1:00
        ids = ids_at([minute + 55_000 + i * 10 for i in range(500)])
        lq = LineQuery(q="orders", limit=100, order="asc", after=make_id(minute + 10_000, 0, 0))
    else:  # cursor at 0:50, the lines at 0:00-0:05
        ids = ids_at([minute + i * 10 for i in range(500)])
        lq = LineQuery(q="orders", limit=100, order="desc", before=make_id(minute + 50_000, 0, 0))
    fake, searcher, ix = probed(ids, 3)
    fake.word_lines = 100_000  # not rare
    page = searcher.lines(ix, lq)
    assert [ln.id for ln in page.lines] == (ids[:100] if order == "asc" else ids[-100:][::-1])
    assert fake.searches == 1
    lo, hi = fake.searched[0]
    assert (lo if order == "desc" else hi + 1) == make_id(minute + (order == "asc") * 60_000, 0, 0)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_word_rare_in_its_day_is_read_in_one_window_of_the_rest_of_it(order):
    """A word in a few lines of its day (the dictionary says): the first search takes the
    rest of the day at once instead of an empty second first."""
    ids = ids_at([_yesterday_ms(k * 1_200_000 + 7_000) for k in range(72)])
    fake, searcher, ix = probed(ids, 3)
    fake.word_lines = len(ids)
    day = (NOW_MS // DAY_MS - 1) * DAY_MS
    lq = (LineQuery(q="orders", limit=10, order="asc", after=ids[0]) if order == "asc"
          else LineQuery(q="orders", limit=10, order="desc", before=ids[-1]))
    page = searcher.lines(ix, lq)
    assert [ln.id for ln in page.lines] == (ids[1:11] if order == "asc" else ids[-11:-1][::-1])
    assert fake.searches == 1
    lo, hi = fake.searched[0]
    if order == "asc":
        assert (lo, hi) == (ids[0] + 1, make_id(day + DAY_MS, 0, 0) - 1)
    else:
        assert (lo, hi) == (make_id(day, 0, 0), ids[-1] - 1)


def test_a_word_rare_in_its_day_is_read_in_the_day_before_by_its_id_range_alone():
    """A word rare in the day a read starts in (the dictionary says) whose page goes on into
    the day before: its windows there that hold many more lines than the word is in are
    matched by their id range alone; time tokens would make searchd decode every line they
    cover (measured at 10M: a page over 28 hours of two days 45 ms with them, 9 without)."""
    yesterday = (NOW_MS // DAY_MS - 1) * DAY_MS
    ids = ids_at([yesterday + 600_000 + i * 900_000 for i in range(40)] +  # (its morning)
                 [yesterday - 1000 - i * 1000 for i in range(86_000)])  # (a line a second)
    fake, searcher, ix = probed(ids, 3)
    fake.word_lines = 500  # rare in each day
    cursor = make_id(yesterday + 12 * 3_600_000, 0, 0)
    page = searcher.lines(ix, LineQuery(q="orders", limit=300, order="desc", before=cursor))
    assert [ln.id for ln in page.lines] == ids[::-1][:300]
    assert len(fake.searched) >= 2
    for (lo, hi), match in zip(fake.searched, fake.matched, strict=True):
        covered = bisect.bisect_right(ids, hi) - bisect.bisect_left(ids, lo)
        if covered > 2 * fake.word_lines:
            assert not re.search(r"\bz1[0-9]*[mh]", match), (covered, match)


@pytest.mark.parametrize(("match", "words"), [
    ("@logline (orders)", ["orders"]),
    ("@@relaxed @(logline,context) (orders -timeout)", ["orders"]),
    ("@logline (declined) @tags (ta6aab3820a3f1510)", ["declined", "ta6aab3820a3f1510"]),
    ('@logline ("payment declined")', ["payment", "declined"]),
    ("@logline (orders -timeout !slow)", ["orders"]),
    ("@logline (orders -(a b) c)", ["orders", "c"]),
    ('@logline ("a\\-b")', ["a", "b"]),
    ("@logline (orders | timeout)", []),
    ("@logline ((*ord*))", []),
])
def test_the_words_every_match_has(match, words):
    assert dictionary.needed_words(match) == words


def test_probing_an_index_probes_every_retained_day_whatever_the_per_request_limit():
    fake = FakeSphinx(ids_at([NOW_MS - i * 3_600_000 for i in range(100)]))
    searcher = searcher_for(fake)
    dictionary._HOURS.clear()
    ix = IndexConfig(retention_days=6)
    searcher.probe(ix)
    names = searcher.day_indexes(ix, None, None)
    assert len(names) > dictionary.PROBES
    assert all(("", 0, name) in dictionary._HOURS for name in names)
