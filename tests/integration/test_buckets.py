"""Ids as buckets (alco.index.buckets): a day index made for the line store keeps no id in its
dictionary, and every query form still answers exactly, beside a day made before."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from alco.config import DEFAULT_COLUMNS
from alco.index import buckets, sphinxconf
from alco.index.buckets import bucket
from alco.index.bucketsizes import STATE_FILE
from alco.index.daystore import DayStore
from alco.index.schema import RULE2_FIELD, DayLayout, IndexSchema, Record, day_index
from alco.index.sphinxql import Sphinx, describe
from alco.linestore.writing import LineWriter
from alco.search.language import KEYWORD_RUN_RE
from alco.web.app import create_app
from tests.helpers import all_lines, into_day_us

pytestmark = pytest.mark.integration
COLUMNS = {**DEFAULT_COLUMNS, "request_id": "indexed", "n": "display"}


def lines_of(day_start_us: int, rng: random.Random, label: str) -> list[Record]:
    out = []
    for n in range(300):
        rid = f"{rng.getrandbits(64):016x}"
        words = rng.choice(["paid", "timeout2 after", "retry7 timeout", "user42abc logged"])
        msg = (f"{label} order {uuid.UUID(int=rng.getrandbits(128))} {words} "
               f"#{rng.randint(10_000, 99_999)} from 10.0.{rng.randint(0, 255)}.1 — 订单")
        fields = {"request_id": rid, "host": f"web-{n % 3}", "n": n}
        if n % 40 == 0:
            fields["exc_info"] = f"Traceback\nKeyError: 'sku-{rng.getrandbits(40):x}'"
        # (times to the µs, and ALCO's marks on some: kept by searchd or by the store alone)
        out.append(Record(into_day_us(day_start_us) + n * 1000 + n % 997, msg, fields,
                          n + 1, marks={"truncated": True} if n % 50 == 7 else {}))
    return out


def words_of(text: str) -> list[str]:
    return [t.lower() for t in KEYWORD_RUN_RE.findall(text)]


def has_words(text: str, words: str) -> bool:
    """A phrase as Sphinx matches it: its keywords one after another."""
    want, have = words_of(words), words_of(text)
    return any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def text_of(rec: Record) -> str:
    return "\n".join([rec.message, rec.fields.get("exc_info", "")])


def fields_in_js(section: str) -> str:
    """A day index section as a day made for the line store before it kept the fields, the
    times and the marks: its ``js``, ``meta`` and ``ts`` attributes instead of the value
    hashes, a 64-bit ``fp``, and its ids by rule 1 (no ``idrule2``)."""
    lines = [ln for ln in section.split("\n")
             if "rt_attr_uint = v_" not in ln and f"rt_field = {RULE2_FIELD}" not in ln]
    at = next(i for i, ln in enumerate(lines) if "rt_attr_uint = fp" in ln)
    return "\n".join([*lines[:at], "    rt_attr_json = js", "    rt_attr_json = meta",
                      "    rt_attr_bigint = ts", "    rt_attr_bigint = fp", *lines[at + 1:]])


@pytest.fixture
def two_layouts(stack, monkeypatch):
    """Three days of three layouts: two days ago made before the store (no buckets), yesterday
    with the store keeping the text and searchd the fields, times and marks (ids as buckets
    by rule 1: words with a short number too, of 65,536 buckets), today with the store
    keeping all of them (ids by rule 2, in 2**18 buckets: made for a busy index)."""
    today = datetime.now(UTC).date()
    rng = random.Random(7)
    days = [(d, int(datetime.combine(d, datetime.min.time(), UTC).timestamp() * 1e6))
            for d in (today - timedelta(days=2), today - timedelta(days=1), today)]
    old, middle, new = (lines_of(start, rng, label) for (_, start), label
                        in zip(days, ("old", "mid", "new"), strict=True))
    stack.index(line_store=False, columns=COLUMNS)
    stack.start_searchd()
    config = stack.config()
    schema = IndexSchema.of(config.index("logs"))
    DayStore(Sphinx(config.sphinx.host, config.sphinx.port), schema, 1, 30).store(
        old, today, False)
    data_dir = stack.tmp / "sphinx"

    def remake(day, records, fields_in_searchd: bool, bits: int = 16) -> None:
        stack.searchd.stop()
        for path in data_dir.glob(f"{day_index('logs', day)}.*"):
            path.unlink()
        (data_dir / STATE_FILE).unlink(missing_ok=True)  # (the day is new again)
        stack.data["index"][0]["line_store"] = True
        made = sphinxconf.index_section
        if fields_in_searchd:
            monkeypatch.setattr(sphinxconf, "index_section",
                                lambda *a, **kw: fields_in_js(made(*a, **kw)))
        # (a new day of an index whose busiest day held millions of lines)
        bits_for = buckets.bits_for
        monkeypatch.setattr(buckets, "bits_for", lambda lines: bits)
        try:
            stack.start_searchd()
        finally:
            monkeypatch.setattr(sphinxconf, "index_section", made)
            monkeypatch.setattr(buckets, "bits_for", bits_for)
        config = stack.config()
        DayStore(Sphinx(config.sphinx.host, config.sphinx.port), schema, 1, 30,
                 lines=LineWriter(data_dir)).store(records, today, False)

    remake(days[1][0], middle, True)
    remake(today, new, False, bits=18)
    layouts = {}
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    for day, _ in days:
        layouts[day] = DayLayout.of(describe(sx, day_index("logs", day)))
    sx.close()
    assert [(la.keeps_text, la.keeps_fields, la.has_parts, la.id_rule, la.keeps_times,
             la.fp32, la.bucket_bits) for la in layouts.values()] == [
        (True, True, False, 0, True, False, 16), (False, True, True, 1, True, False, 16),
        (False, False, True, 2, False, True, 18)]
    return stack.config(), old + middle + new, day_index("logs", today)


def docs(config, word: str, index: str) -> int:
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        rows = sx.query("CALL KEYWORDS(%s, %s, 1)", [word, index])
    finally:
        sx.close()
    return sum(int(r["docs"]) for r in rows)


def test_ids_are_not_in_the_dictionary_and_every_query_form_answers_exactly(two_layouts):
    config, records, today_index = two_layouts
    new = records[600:]
    an_id = words_of(new[5].message)[2]  # the UUID's first group: 8 hex characters
    assert len(an_id) == 8 and docs(config, an_id, today_index) == 0
    assert docs(config, bucket(an_id, 18), today_index) >= 1  # (today: 2**18 buckets)
    assert docs(config, bucket(an_id), today_index) == 0
    assert docs(config, "timeout", today_index) >= 1  # words stay
    # a word with a short number is a word by rule 2 (today), a bucket by rule 1 (yesterday)
    yesterday = day_index("logs", datetime.now(UTC).date() - timedelta(days=1))
    assert docs(config, "timeout2", today_index) >= 1
    assert docs(config, "timeout2", yesterday) == 0 and docs(config, "timeout", yesterday) >= 1

    def check(q: str, want) -> None:
        got = [ln["message"] for ln in all_lines(config, "logs", q)]
        assert got == [r.message for r in records if want(r)], q

    for rec in (records[3], new[5], new[40]):
        the_uuid = rec.message.split()[2]
        check(the_uuid, lambda r, u=the_uuid: u in r.message)
        check(the_uuid.split("-")[-1], lambda r, u=the_uuid: u.split("-")[-1] in r.message)
        check(f"order -{the_uuid}", lambda r, u=the_uuid: u not in r.message)
        rid = rec.fields["request_id"]
        check(f"request_id:{rid}", lambda r, v=rid: r.fields["request_id"] == v)
        check(f"request_id:{rid},{new[9].fields['request_id']}",
              lambda r, v=rid: r.fields["request_id"] in (v, new[9].fields["request_id"]))
        check(f"order -request_id:{rid}", lambda r, v=rid: r.fields["request_id"] != v)
        number = re.search(r"#(\d+)", rec.message).group(1)
        check(number, lambda r, v=number: has_words(text_of(r), v))
        check(f'"{number} from"', lambda r, v=number: has_words(text_of(r), f"{v} from"))
        piece = the_uuid[-10:-2]  # a piece of an id: its letters narrow, the check decides
        check(f"'{piece}'", lambda r, v=piece: v in r.message)
    sku = new[40].fields["exc_info"].split("'")[1]  # an id in a traceback finds its line
    check(sku, lambda r, v=sku: has_words(text_of(r), v))
    check("'imeout'", lambda r: "imeout" in r.message)  # inside timeout2 too
    check("/user\\d+abc/", lambda r: re.search(r"user\d+abc", r.message) is not None)
    check("'42abc'", lambda r: "42abc" in r.message)
    check("timeout2", lambda r: has_words(r.message, "timeout2"))
    check("timeout -timeout2", lambda r: has_words(r.message, "timeout")
          and not has_words(r.message, "timeout2"))
    check("/retry7 timeout/", lambda r: "retry7 timeout" in r.message)


def test_times_and_marks_come_back_from_each_layout(two_layouts):
    """Today's day keeps its lines' times (to the µs) and marks in the line store alone; a
    read over the three days shows each line's as sent, and histograms (which group by the
    id's time) count the same lines as before."""
    config, records, _ = two_layouts
    got = all_lines(config, "logs")
    assert [(ln["message"], ln["ts"], ln.get("marks", {})) for ln in got] == [
        (r.message, datetime.fromtimestamp(r.ts_us / 1e6, UTC).isoformat(), r.marks)
        for r in records]
    client = TestClient(create_app(config))
    for q in ("", "order", "/paid/"):
        body = client.get("/api/logs/histogram", params={"q": q, "from": "3d", "to": "now",
                                                        "buckets": 72}).json()
        counted = {b["ts"]: b["count"] for b in body["buckets"] if b["count"]}
        step = round(body["bucket_seconds"] * 1e6)
        want: dict[str, int] = {}
        for r in records:
            if q.strip("/") in r.message:
                start = datetime.fromtimestamp(r.ts_us // step * step / 1e6, UTC).isoformat()
                want[start] = want.get(start, 0) + 1
        assert counted == want, q


def test_the_parts_field_a_day_made_before_lacks_is_no_warning(two_layouts):
    config, records, _ = two_layouts
    client = TestClient(create_app(config))
    for q in ("'imeout'", records[3].message.split()[2], "/user\\d+abc/"):
        body = client.get("/api/logs/lines", params={"q": q, "from": "3d"}).json()
        assert body["lines"] and body["warnings"] == [] and body["partial"] is False, q


def test_counts_histograms_facets_and_context_answer_exactly_through_buckets(two_layouts):
    """Every endpoint that counts or shows lines, over a day of each layout, for queries that
    look ids up through their buckets (a bucket's other lines must be dropped everywhere)."""
    config, records, _ = two_layouts
    client = TestClient(create_app(config))
    rec = records[300 + 77]
    the_uuid, rid = rec.message.split()[2], rec.fields["request_id"]
    number = re.search(r"#(\d+)", rec.message).group(1)
    cases = {
        the_uuid: lambda r: the_uuid in r.message,
        f"request_id:{rid},{records[12].fields['request_id']}":
            lambda r: r.fields["request_id"] in (rid, records[12].fields["request_id"]),
        f"order -{the_uuid}": lambda r: the_uuid not in r.message,
        number: lambda r: has_words(text_of(r), number),
        "'imeout'": lambda r: "imeout" in r.message,
        "timeout2": lambda r: has_words(r.message, "timeout2"),  # a bucket yesterday only
        "retry7 -user42abc": lambda r: has_words(r.message, "retry7"),
        "n:77": lambda r: r.fields["n"] == 77,  # (a field as sent: checked)
        "order n:5,6,2000 -host:web-2": lambda r: r.fields["n"] in (5, 6)
        and r.fields["host"] != "web-2",
    }
    span = {"from": "3d", "to": "now"}
    for q, want in cases.items():
        hits = [r for r in records if want(r)]
        got = client.get("/api/logs/count", params={"q": q, **span}).json()
        assert "count" in got, (q, got)
        assert (got["count"], got["partial"]) == (len(hits), False), q
        got = client.get("/api/logs/histogram", params={"q": q, "buckets": 1, **span}).json()
        assert got["total"] == len(hits), q
        got = client.get("/api/logs/facets", params={"q": q, "field": "host", **span}).json()
        by_host: dict[str, int] = {}
        for r in hits:
            by_host[r.fields["host"]] = by_host.get(r.fields["host"], 0) + 1
        assert {v["value"]: v["count"] for v in got["values"]} == by_host, q
        assert got["total"] == len(hits), q
        # a field that is not ``filtered``: counted from the lines where the store keeps them
        got = client.get("/api/logs/facets", params={"q": q, "field": "request_id", "limit": 100,
                                                     **span}).json()
        by_rid = {rid: 1 for rid in sorted(r.fields["request_id"] for r in hits)[:100]}
        assert {v["value"]: v["count"] for v in got["values"]} == by_rid, q
        assert (got["total"], got["partial"]) == (len(hits), False), q
    anchor = client.get("/api/logs/lines", params={"q": the_uuid, **span}).json()["lines"][0]
    got = client.get(f"/api/logs/context/{anchor['id']}",
                     params={"before": 3, "after": 3}).json()
    shown = [*got["before"], got["line"], *got["after"]]
    assert [ln["message"] for ln in shown] == [r.message for r in records[374:381]]


def test_a_new_day_gets_its_buckets_from_the_lines_searchd_holds(two_layouts, stack,
                                                                monkeypatch):
    """The managed searchd counts the index's days (SHOW INDEX STATUS) when a day is new to
    its config, and names the new day's bucket count in it; a day already decided keeps
    its count whatever the lines do."""
    seen: list[int] = []
    monkeypatch.setattr(buckets, "bits_for", lambda lines: seen.append(lines) or 20)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    stack.searchd.write_config(tomorrow)  # (midnight: the day after the next is new)
    new_day = day_index("logs", tomorrow + timedelta(days=2))
    assert seen == [300]  # (each day of the fixture holds 300 lines)
    section = stack.searchd.rendered.split(f"index {new_day}\n")[1].split("}")[0]
    assert "rt_field = idbits20" in section
    assert "idbits" not in stack.searchd.rendered.split(
        f"index {day_index('logs', tomorrow)}\n")[1].split("}")[0]
