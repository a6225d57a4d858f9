"""The search API against a real searchd: lines, context, histogram, columns, values, export,
tail.  Lines are written straight into the day indexes (DayStore), values into Redis."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import orjson
import pytest
import redis
from starlette.testclient import TestClient

from alco.catalog.keys import newest_key
from alco.catalog.values import ValuesStore
from alco.config import Config
from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, fingerprint, make_id
from alco.index.sphinxql import Sphinx
from alco.ingest.records import Record
from alco.linestore.reading import LineReader
from alco.linestore.writing import keeper_for
from alco.search import dictionary, histcache, reader
from alco.search.compile import compile_text
from alco.web.app import create_app
from tests.helpers import wait_for

pytestmark = pytest.mark.integration
COLUMNS = {"levelname": "filtered", "host": "filtered", "request_id": "indexed",
           "exc_info": "context", "password": "excluded"}
N = 2500


def record(ts_us: int, message: str, **fields: object) -> Record:
    return Record(ts_us, message, dict(fields), fingerprint(f"{ts_us}{message}".encode()))


def fill(config: Config, records: list[Record], index: str = "logs", slot: int = 0,
         today: date | None = None) -> None:
    """Store records as a writer would: rows in Sphinx, values and columns in Redis."""
    ix = config.index(index)
    schema = IndexSchema.of(ix)
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        day = today or datetime.now(UTC).date()
        result = DayStore(sx, schema, slot, ix.retention_days,
                          lines=keeper_for(config, ix)).store(records, day, False)
        assert result.stored == len(records), result
    finally:
        sx.close()
    values = ValuesStore(config.redis.url, config.redis.prefix, ix.name, schema.filtered)
    for rec in records:
        values.add(rec.fields, rec.ts_us / 1e6)
    assert values.flush()


def sample(i: int, base_us: int) -> Record:
    text = f"line {i} of the test" + (" timeout talking to db" if i % 7 == 0 else "")
    return record(base_us + i * 1000, text, host=f"vm{i % 3}", seq=i,
                  levelname="ERROR" if i % 10 == 0 else "INFO", process=100 + i % 2,
                  duration=i / 4, request_id=f"r{i}")


@pytest.fixture
def api(stack):
    stack.index(columns=COLUMNS)
    stack.start_searchd()
    config = stack.config()
    base_us = (time.time_ns() // 1000 // 1_000_000 - 120) * 1_000_000  # two minutes ago
    fill(config, [sample(i, base_us) for i in range(N)])
    client = TestClient(create_app(config))
    client.base_us = base_us
    return client


def seqs(page: dict) -> list[int]:
    return [ln["fields"]["seq"] for ln in page["lines"]]


def get(client: TestClient, path: str, **params: object) -> dict:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_lines_pages_both_ways_with_highlight(api):
    page = get(api, "/api/logs/lines", q="levelname:ERROR test", limit=3)
    assert seqs(page) == [2490, 2480, 2470]
    assert page["lines"][0]["highlight"] == 'line 2490 of the <mark class="t0">test</mark>'
    older = get(api, "/api/logs/lines", q="levelname:ERROR test", limit=3, before=page["next"])
    assert seqs(older) == [2460, 2450, 2440]
    back = get(api, "/api/logs/lines", q="levelname:ERROR test", limit=3, after=older["prev"])
    assert seqs(back) == [2490, 2480, 2470]  # read upwards, shown in the page's order
    asc = get(api, "/api/logs/lines", q="levelname:ERROR", limit=3, order="asc")
    assert seqs(asc) == [0, 10, 20]
    nxt = get(api, "/api/logs/lines", q="levelname:ERROR", limit=3, order="asc",
              after=asc["next"])
    assert seqs(nxt) == [30, 40, 50]


def test_query_language_filters(api):
    def found(q: str) -> list[int]:
        return seqs(get(api, "/api/logs/lines", q=q, limit=1000, order="asc"))

    assert found("request_id:r42") == [42]  # indexed column: its own full-text field
    assert found("host:vm1,vm2 levelname:ERROR -timeout")[:3] == [10, 20, 40]
    assert found("@host=vm0 process:101 timeout")[:2] == [21, 63]  # JSON number filter
    assert found("duration:2.5 test") == [10]  # JSON float
    assert found('"talking to db" seq:700') == [700]
    assert found("-process:100 process:101 levelname:ERROR") == []
    # a filter on a JSON field is a positive term: the negations are checked on its lines
    assert found("seq:10,21,30,42 -host:vm0 -timeout") == [10]


def test_bad_input_is_400_and_unknown_index_404(api):
    for params in ({"q": '"unterminated'}, {"q": "nosuch:1"}, {"q": "-only"},
                   {"from": "yesterday-ish"}, {"limit": "0"}, {"order": "up"},
                   {"after": "x"}, {"after": str(2**64)}):
        resp = api.get("/api/logs/lines", params=params)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["error"]
    assert "position" in api.get("/api/logs/lines", params={"q": 'a "b'}).json()["error"]
    assert api.get("/api/nosuch/lines").status_code == 404
    assert "(indexes: logs)" in api.get("/api/nosuch/lines").json()["error"]
    assert api.get("/api/logs/context/abc").status_code == 400
    assert api.get("/api/logs/context/12345").status_code == 404


def test_context_around_a_line(api):
    anchor = get(api, "/api/logs/lines", q="request_id:r100")["lines"][0]
    ctx = get(api, f"/api/logs/context/{anchor['id']}", before=2, after=3)
    assert ctx["line"]["fields"]["seq"] == 100
    assert [ln["fields"]["seq"] for ln in ctx["before"]] == [98, 99]
    assert [ln["fields"]["seq"] for ln in ctx["after"]] == [101, 102, 103]
    same = get(api, f"/api/logs/context/{anchor['id']}", before=2, after=2, same="host,process")
    assert [ln["fields"]["seq"] for ln in same["before"]] == [88, 94]  # host vm1, process 100
    assert [ln["fields"]["seq"] for ln in same["after"]] == [106, 112]
    first = get(api, "/api/logs/lines", q="request_id:r0")["lines"][0]
    edge = get(api, f"/api/logs/context/{first['id']}", before=5, after=0)
    assert edge["before"] == [] and edge["after"] == []
    assert api.get(f"/api/logs/context/{first['id']}", params={"same": "nope"}).status_code == 400


def test_histogram_counts_per_bucket(api):
    start = datetime.fromtimestamp(api.base_us / 1e6, UTC)
    frm = start.isoformat()
    to = datetime.fromtimestamp(api.base_us / 1e6 + 2.4999, UTC).isoformat()
    hist = get(api, "/api/logs/histogram", **{"from": frm, "to": to, "buckets": 5})
    assert hist["bucket_seconds"] == 1
    assert [b["count"] for b in hist["buckets"]] == [1000, 1000, 500]
    assert hist["buckets"][0]["ts"] == start.isoformat()
    assert hist["total"] == N
    errors = get(api, "/api/logs/histogram", q="levelname:ERROR", **{"from": frm, "to": to})
    assert errors["total"] == 250
    default = get(api, "/api/logs/histogram", q="timeout")
    assert default["total"] == len(range(0, N, 7))
    assert len(default["buckets"]) <= 61
    assert api.get("/api/logs/histogram", params={"from": "1h", "to": "2h"}).status_code == 400


def test_columns_and_values(api):
    cols = {c["name"]: c for c in get(api, "/api/logs/columns")["columns"]}
    assert cols["host"]["role"] == "filtered" and cols["host"]["first_seen"]
    assert cols["request_id"]["role"] == "indexed"
    assert cols["seq"]["role"] == "display"
    assert cols["exc_info"]["first_seen"] is None and "password" not in cols
    values = get(api, "/api/logs/values/host")
    assert sorted(v["value"] for v in values["values"]) == ["vm0", "vm1", "vm2"]
    assert all(v["last_seen"].startswith(str(datetime.now(UTC).year)) for v in values["values"])
    assert [v["value"] for v in get(api, "/api/logs/values/host", prefix="vm1")["values"]] \
        == ["vm1"]
    assert len(get(api, "/api/logs/values/host", limit=2)["values"]) == 2
    assert get(api, "/api/logs/values/nosuch")["values"] == []


def test_export_streams_every_line(api):
    resp = api.get("/api/logs/export", params={"format": "ndjson"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/x-ndjson"
    rows = [orjson.loads(line) for line in resp.content.splitlines()]
    assert [r["fields"]["seq"] for r in rows] == list(range(N))
    text = api.get("/api/logs/export", params={"format": "text", "q": "timeout"}).text
    assert len(text.splitlines()) == len(range(0, N, 7))
    assert text.splitlines()[1].endswith(" line 7 of the test timeout talking to db")
    assert api.get("/api/logs/export", params={"format": "xml"}).status_code == 400
    assert api.get("/api/logs/export", params={"q": '"'}).status_code == 400


def test_indexes_counts_recent_lines(api):
    assert get(api, "/api/indexes")["indexes"] == [
        {"name": "logs", "last_5m": N, "retention_days": 30}]


def read_events(stream: Iterator[str], until: object, timeout: float = 30) -> list[tuple]:
    events: list[tuple] = []
    event = None
    deadline = time.monotonic() + timeout
    for raw in stream:
        if raw.startswith("event: "):
            event = raw[7:]
        elif raw.startswith("data: "):
            events.append((event, orjson.loads(raw[6:])))
            if until(events):
                return events
        assert time.monotonic() < deadline, events[-5:]
    return events


def test_tail_sends_new_matching_lines_then_skips_over_a_flood(stack, api):
    stack.alco("web")
    config = stack.config()
    url = f"http://{config.web.bind}/api/logs/tail"
    wait_for(lambda: _answers(url), message="web app")
    with httpx.stream("GET", url, params={"q": "tailme"}, timeout=30) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        stream = resp.iter_lines()
        now_us = time.time_ns() // 1000
        fill(config, [record(now_us + i, f"tailme {i}", host="vm9") for i in range(3)]
             + [record(now_us + 5, "other line", host="vm9")])
        events = read_events(stream, lambda ev: len(ev) == 3)
        assert [(e, d["message"]) for e, d in events] == [("line", f"tailme {i}")
                                                           for i in range(3)]
        fill(config, [record(now_us + 10 + i, f"tailme flood {i}") for i in range(1500)])
        events = read_events(stream, lambda ev: sum(
            d.get("count", 1) for _, d in ev) >= 1500)
    kinds = [e for e, _ in events]
    assert "skipped" in kinds
    assert events[-1][1]["message"] == "tailme flood 1499"
    lines = [d["message"] for e, d in events if e == "line"]
    assert len(lines) < 1500 and lines == sorted(lines, key=lambda m: int(m.split()[-1]))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url.rsplit("/api/", 1)[0] + "/api/indexes", timeout=2).status_code \
            == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("old", [False, True], ids=["hour tokens", "minute tokens only"])
def test_time_windows_find_every_line_across_minute_and_hour_edges(stack, monkeypatch, old):
    """Ranges are matched through time tokens (whole hours and ten minutes, minutes at the
    edges): no line at an edge may be lost.  Lines written before the hour tokens (minute
    tokens only) are found all the same: their day is read with minute tokens."""
    stack.index(columns=COLUMNS)
    stack.start_searchd()
    config = stack.config()
    if old:
        monkeypatch.setattr("alco.index.rowmemo.time_token",
                            lambda ms: f"z1m{ms // 60_000}")
    # Three lines a minute over 3h20m: at its first and last millisecond and in between.
    start_us = (time.time_ns() // 1000 // 3_600_000_000 - 3) * 3_600_000_000 - 600_000_000
    stamps = [start_us + m * 60_000_000 + off for m in range(200)
              for off in (0, 29_500_000, 59_999_000)]
    fill(config, [record(ts, "tick" + (" even" if i % 2 == 0 else ""), seq=i)
                  for i, ts in enumerate(stamps)])
    client = TestClient(create_app(config))

    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

    for lo_i, hi_i in [(0, 2), (3, 5), (2, 6), (4, 31), (27, 212), (31, 390), (1, 590)]:
        lo_us, hi_us = stamps[lo_i], stamps[hi_i]
        for q, keep in (("", lambda i: True), ("even", lambda i: i % 2 == 0)):
            want = [i for i, ts in enumerate(stamps) if lo_us <= ts <= hi_us and keep(i)]
            for order in ("asc", "desc"):
                page = get(client, "/api/logs/lines", q=q, limit=1000, order=order,
                           **{"from": iso(lo_us), "to": iso(hi_us)})
                assert sorted(seqs(page)) == want, (lo_i, hi_i, q, order)
            hist = get(client, "/api/logs/histogram", q=q,
                       **{"from": iso(lo_us), "to": iso(hi_us)})
            assert hist["total"] == len(want)
    probed = {key[2]: v for key, v in dictionary._HOURS.items()
              if key[:2] == (config.sphinx.host, config.sphinx.port)}
    assert probed and all(v is not old for v in probed.values()), probed


def test_reading_up_from_a_cursor_never_steps_over_a_late_line(stack):
    """The writers' report of the newest line lags a batch: a line that arrived since, dated
    between that line and now, must still be read by the tail and the page's newer lines."""
    stack.index(columns=COLUMNS)
    stack.start_searchd()
    config = stack.config()
    now_us = time.time_ns() // 1000
    fill(config, [record(now_us - 1_800_000_000 + i, f"old {i}", seq=i) for i in range(20)])
    client = TestClient(create_app(config))
    cursor = get(client, "/api/logs/lines", limit=1)["lines"][0]["id"]
    fill(config, [record(now_us - 600_000_000, "late", seq=100)]
         + [record(now_us - 5_000_000 + i, f"new {i}", seq=200 + i) for i in range(5)])
    redis.Redis.from_url(config.redis.url).zadd(  # the report still says "half an hour ago"
        newest_key(config.redis.prefix), {"logs": (now_us - 1_800_000_000) / 1e6})
    for order in ("asc", "desc"):
        newer = get(client, "/api/logs/lines", after=cursor, order=order, limit=100)
        assert sorted(seqs(newer)) == [100, 200, 201, 202, 203, 204]


def restore(config: Config, day: date, by_ts: dict[int, Record]) -> None:
    """REPLACE again, with their own ids, three stored lines of ``day`` from two hours after
    the first of ``by_ts``."""
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        name = f"logs_{day:%Y%m%d}"
        store = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days,
                         lines=keeper_for(config, ix))
        got = sx.query(f"SELECT id FROM {name} WHERE id >= %s ORDER BY id ASC LIMIT 3",
                       [make_id(min(by_ts) // 1000 + 7_200_000, 0, 0)])
        times = LineReader(config.sphinx.data_dir).briefs("logs", [int(g["id"]) for g in got])
        rows = [store._row(int(g["id"]), by_ts[times[int(g["id"])].ts_us]) for g in got]
        sx.replace_rows(name, *store.searchd_rows(name, rows))
    finally:
        sx.close()


def test_a_histogram_keeps_a_day_by_ten_minutes_and_a_late_line_recounts_its_own(stack):
    """The first histogram of a few hours of a past day keeps the counts of all its ten
    minutes (a count costs the day's matches whatever its range); a late line makes its ten
    minutes' counts stale, and the next histogram recounts those only; every answer is
    exact."""
    stack.index(columns=COLUMNS, retention_days=5)
    stack.start_searchd()
    config = stack.config()
    day_us = 86_400_000_000
    hour_us = 3_600_000_000
    first_us = (time.time_ns() // 1000 // day_us - 1) * day_us  # yesterday, 00:00
    recs = [record(first_us + i * 61_000_000, "tick", seq=i) for i in range(1400)]
    fill(config, recs)
    client = TestClient(create_app(config))

    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

    def total(lo_us: int, hi_us: int) -> int:
        return get(client, "/api/logs/histogram", q="tick", buckets=60,
                   **{"from": iso(lo_us), "to": iso(hi_us)})["total"]

    histcache.KEPT.clear()
    lo_us, hi_us = first_us + 5 * hour_us, first_us + 8 * hour_us - 1  # 05:00-07:59:59
    assert total(lo_us, hi_us) == sum(lo_us <= r.ts_us <= hi_us for r in recs)
    (kept,) = histcache.KEPT._kept.values()
    assert all(n >= 0 for n in kept.units) and all(n >= 0 for n in kept.hours)
    late = record(first_us + 10 * hour_us + 1_800_000_123, "tick late", seq=-1)
    fill(config, [late])
    recs.append(late)
    assert total(first_us, first_us + day_us - 1) == len(recs)
    (again,) = histcache.KEPT._kept.values()
    assert [u for u in range(144) if again.units[u] != kept.units[u]] == [10 * 6 + 3]
    assert again.minutes[10 * 60 + 30] == kept.minutes[10 * 60 + 30] + 1
    assert [h for h in range(24) if again.hours[h] != kept.hours[h]] == [10]
    # counts that the time budget cut short are not kept: the answer says it is partial
    histcache.KEPT.clear()
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        searcher = reader.Searcher(config, sx)
        searcher.budget.seconds = 0.0
        ix = config.index("logs")
        searcher.histogram(ix, compile_text(ix, "tick", None), first_us,
                           first_us + day_us - 1, hour_us)
        assert not histcache.KEPT._kept
        assert any("partial" in w for w in sx.take_warnings())
    finally:
        sx.close()


def test_histograms_of_past_days_are_exact_when_kept_and_after_a_late_line(stack):
    """Histograms over whole past days take their minutes from kept counts (computed once per
    query and day, alco.search.histcache): they match a count of every line, for a word and
    for every line, and a line that arrives late in a past day shows at once."""
    stack.index(columns=COLUMNS, retention_days=5)
    stack.start_searchd()
    config = stack.config()
    now_us = time.time_ns() // 1000
    day_us = 86_400_000_000
    first_us = (now_us // day_us - 2) * day_us  # the day before yesterday, 00:00
    rng = random.Random(5)
    stamps = sorted(rng.randrange(first_us, now_us - 1_000_000) for _ in range(3000))
    recs = [record(ts, "tick" + (" even" if i % 2 == 0 else ""), seq=i)
            for i, ts in enumerate(stamps)]
    fill(config, recs)
    client = TestClient(create_app(config))

    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

    histcache.KEPT.clear()
    lo_us, hi_us = first_us + 1_234_567_000, now_us + 60_000_000
    for round_ in range(3):
        for q, keep in (("", lambda r: True), ("even", lambda r: "even" in r.message)):
            hist = get(client, "/api/logs/histogram", q=q, buckets=60,
                       **{"from": iso(lo_us), "to": iso(hi_us)})
            size = hist["bucket_seconds"] * 1_000_000
            want: dict[int, int] = {}
            for r in recs:
                if lo_us <= r.ts_us <= hi_us and keep(r):
                    want[r.ts_us // size * size] = want.get(r.ts_us // size * size, 0) + 1
            got = {int(datetime.fromisoformat(b["ts"]).timestamp()) * 1_000_000: b["count"]
                   for b in hist["buckets"] if b["count"]}
            assert got == want, (round_, q)
        if round_ == 0:  # the first round kept the past days' counts
            assert len(histcache.KEPT._kept) >= 4
            # a batch stored again (a retried REPLACE): the dictionary counts its lines twice
            # until a merge, the lines and the histogram of every line do not
            restore(config, datetime.fromtimestamp(first_us / 1e6, UTC).date(),
                    {r.ts_us: r for r in recs})
        # a late line in the middle of yesterday, and another the day before
        late = [record(first_us + day_us + 43_200_000_123, "late even", seq=-1),
                record(first_us + 7_200_000_000, "late", seq=-2)]
        fill(config, late[round_ % 2:round_ % 2 + 1])
        recs += late[round_ % 2:round_ % 2 + 1]


def test_a_kept_days_counts_leave_out_lines_dated_after_it(stack):
    """A day's kept counts come from one count of its whole index (no id range): lines the
    index holds but dated days later (today's index takes lines dated after tomorrow) are
    not counted in its minutes, and the histogram stays exact."""
    stack.index(columns=COLUMNS, retention_days=5)
    stack.start_searchd()
    config = stack.config()
    day_us = 86_400_000_000
    first_us = (time.time_ns() // 1000 // day_us - 2) * day_us  # the day before yesterday
    recs = [record(first_us + i * 97_000_000, "tick", seq=i) for i in range(800)]
    ahead = [record(first_us + 4 * day_us + i * 60_000_000, "tick ahead", seq=-i)
             for i in range(3)]
    # stored as on that day: the lines dated after its tomorrow go to its own index
    fill(config, recs + ahead, today=datetime.fromtimestamp(first_us / 1e6, UTC).date())
    client = TestClient(create_app(config))

    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

    histcache.KEPT.clear()
    for _ in range(2):  # counted, then from the kept counts
        hist = get(client, "/api/logs/histogram", q="tick", buckets=24,
                   **{"from": iso(first_us), "to": iso(first_us + day_us - 1)})
        assert hist["total"] == len(recs)
        assert sum(b["count"] for b in hist["buckets"]) == len(recs)
    assert len(histcache.KEPT._kept) == 1


class Statement(str):
    """A SphinxQL statement as sent, with its ``params``."""

    params: tuple


def statements(monkeypatch: pytest.MonkeyPatch) -> list[Statement]:
    """The SphinxQL statements every connection runs from now on (the list fills)."""
    selects: list[Statement] = []
    real = Sphinx.query

    def query(self: Sphinx, sql: str, params: tuple = ()) -> list[dict]:
        sent = Statement(sql)
        sent.params = tuple(params)
        selects.append(sent)
        return real(self, sql, params)

    monkeypatch.setattr(Sphinx, "query", query)
    return selects


def two_days_of_ticks(stack) -> tuple[Config, int, list[Record]]:
    """A searchd holding a line every 40 s from the day before yesterday's start to a second
    ago ("tick", every other one "tick even", every third levelname ERROR): its config,
    today's start (µs) and the records."""
    stack.index(columns=COLUMNS, retention_days=5)
    stack.start_searchd()
    config = stack.config()
    day_us = 86_400_000_000
    today_us = time.time_ns() // 1000 // day_us * day_us
    recs = [record(today_us - 2 * day_us + i * 40_000_000, "tick" + (" even" if i % 2 else ""),
                   seq=i, levelname="ERROR" if i % 3 == 0 else "INFO") for i in range(3000)]
    recs = [r for r in recs if r.ts_us < time.time_ns() // 1000 - 1_000_000]
    fill(config, recs)
    return config, today_us, recs


def test_counts_of_whole_days_are_exact_without_an_id_range(stack, monkeypatch):
    """A count whose range holds whole day indexes (from their start, open upwards) counts
    them by the matches searchd reports, without an id range; a day the range starts in is
    counted with it.  Both agree with the lines stored, a line dated days ahead (in today's
    index) included."""
    config, today_us, recs = two_days_of_ticks(stack)
    day_us = 86_400_000_000
    ahead = record(today_us + 3 * day_us, "tick even ahead", seq=-1)  # in today's index
    fill(config, [ahead])
    recs.append(ahead)
    client = TestClient(create_app(config))
    selects = statements(monkeypatch)

    def iso(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).isoformat()

    for q, keep in (("", lambda r: True), ("even", lambda r: "even" in r.message),
                    ("levelname:ERROR", lambda r: r.fields.get("levelname") == "ERROR")):
        for from_us in (None, today_us - 2 * day_us, today_us - day_us - 3_600_000_000):
            selects.clear()
            params = {"q": q, **({"from": iso(from_us)} if from_us is not None else {})}
            got = get(client, "/api/logs/count", **params)["count"]
            want = sum(keep(r) for r in recs if from_us is None or r.ts_us >= from_us)
            assert got == want, (q, from_us)
            counts = [sql for sql in selects if "COUNT(*)" in sql]
            # every day counted whole but the one the range starts in, within it (every
            # line, without words: by COUNT(*))
            assert len(counts) == (1 if not q or from_us == today_us - day_us - 3_600_000_000
                                   else 0), (q, from_us, selects)


def test_counts_up_to_a_hit_take_past_days_whole_unless_they_hold_later_lines(
        stack, monkeypatch):
    """The page's "hit 37 of 412" counts up to a hit: a past day whose lines are all dated in
    it is counted whole (no id range); one holding a line dated later (stored when it was
    today) is counted within the range; both exact."""
    config, today_us, recs = two_days_of_ticks(stack)
    day_us = 86_400_000_000
    later = record(today_us + 3 * day_us, "tick even later", seq=-1)
    two_days_ago = datetime.fromtimestamp((today_us - 2 * day_us) / 1e6, UTC).date()
    fill(config, [later], today=two_days_ago)  # (as on that day: into its own index)
    client = TestClient(create_app(config))
    selects = statements(monkeypatch)
    hit = make_id(today_us // 1000 + 1000, 0, 0)  # (a cursor just after today's start)
    for q, keep in (("tick", lambda r: True), ("even", lambda r: "even" in r.message)):
        selects.clear()
        got = get(client, "/api/logs/count", q=q, before=hit)["count"]
        assert got == sum(keep(r) for r in recs + [later] if r.ts_us < today_us + 1_000_000)
        (counted,) = [sql for sql in selects if "COUNT(*)" in sql]
        yesterday = datetime.fromtimestamp((today_us - day_us) / 1e6, UTC).date()
        assert f"logs_{two_days_ago:%Y%m%d}" in counted, counted
        assert f"logs_{yesterday:%Y%m%d}" not in counted, counted


def test_the_web_app_probes_its_day_indexes_for_hour_tokens_when_it_starts(stack):
    """A request probes at most two day indexes; the app probes all of them when it starts,
    so the first histogram over days after a restart reads kept counts, not every line."""
    stack.index(columns=COLUMNS, retention_days=7)
    stack.start_searchd()
    config = stack.config()
    fill(config, [sample(i, time.time_ns() // 1000 - 60_000_000) for i in range(10)])
    dictionary._HOURS.clear()
    app = create_app(config)
    names = app.state.alco.searcher().day_indexes(config.index("logs"), None, None)
    assert len(names) > dictionary.PROBES
    with TestClient(app):
        wait_for(lambda: all((config.sphinx.host, config.sphinx.port, name) in dictionary._HOURS
                             for name in names), timeout=10)
    assert all(dictionary._HOURS[(config.sphinx.host, config.sphinx.port, n)] for n in names)
