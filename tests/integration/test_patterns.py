"""Substrings and regular expressions against a real searchd: exact answers (the same as a
check of every line in Python), narrowed through infixes where a literal allows, scans that
stop partial and go on, counts, highlights and errors."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
from starlette.testclient import TestClient

from alco.web.app import create_app
from tests.integration.test_search_api import fill, record, statements

pytestmark = pytest.mark.integration
COLUMNS = {"host": "filtered", "levelname": "filtered", "request_id": "indexed"}
MESSAGES = [
    "payment failed for customer_id = 4",
    "Paymentservice started on 10.203.7.1",
    "GET /api/orders/123 500 in 12ms",
    "GET /api/orders/abc 404",
    "ERROR: db timeout after 30s",
    "FATAL: cannot start",
    "Timeout while reading",
    "error in the parser (errno 5)",
    "custom error: erroneous input",
    "Traceback (most recent call last):\n  File \"x.py\", line 3\nValueError: bad",
    "café au lait, s'il vous plaît",
    "Ошибка соединения с базой",
    "plain line without anything",
    "err: code 7, see the err log",
]
N_PER = 40  # each message this many times, on hosts vm0..vm3


@pytest.fixture
def client(stack, request):
    stack.index(columns=COLUMNS, **getattr(request, "param", {}))
    stack.start_searchd()
    config = stack.config()
    base_us = (time.time_ns() // 1000 // 1_000_000 - 600) * 1_000_000
    records = [record(base_us + i * 10_000, MESSAGES[i % len(MESSAGES)], host=f"vm{i % 4}",
                      seq=i, levelname="ERROR" if "ERROR" in MESSAGES[i % len(MESSAGES)]
                      else "INFO")
               for i in range(N_PER * len(MESSAGES))]
    fill(config, records)
    app = TestClient(create_app(config))
    app.records = records
    app.config = config
    return app


def all_seqs(client: TestClient, q: str, order: str = "asc") -> list[int]:
    """Every matching line's seq, following cursors (partial pages included)."""
    out: list[int] = []
    cursor = None
    for _ in range(200):  # bound: far more pages than the data holds
        params = {"q": q, "limit": 1000, "order": order}
        if cursor:
            params["after" if order == "asc" else "before"] = cursor
        resp = client.get("/api/logs/lines", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        out += [ln["fields"]["seq"] for ln in page["lines"]]
        if page["next"] is None:
            return out
        cursor = page["next"]
    raise AssertionError("paging did not end")


def expected(client: TestClient, test) -> list[int]:
    return [r.fields["seq"] for r in client.records if test(r)]


def any_line(rx: str, flags: int = 0):
    return lambda r: any(re.search(rx, line, flags) for line in r.message.split("\n"))


CASES = [
    ("'ayment'", lambda r: "ayment" in r.message),
    ("'customer_id = 4'", lambda r: "customer_id = 4" in r.message),
    ("'10.203.'", lambda r: "10.203." in r.message),
    (r"/orders\/\d+ 500/", any_line(r"orders/\d+ 500")),
    ("/ERROR|FATAL/", any_line("ERROR|FATAL")),
    ("'Timeout'", lambda r: "Timeout" in r.message),
    ("'timeout'i", lambda r: "timeout" in r.message.lower()),
    ("'err'w", any_line(r"(?<!\w)err(?!\w)")),
    ("/err\\w*/w", any_line(r"(?<!\w)err\w*(?!\w)")),
    ("-'error'i", lambda r: "error" not in r.message.lower()),
    ("-/^GET/ -'a'", lambda r: not r.message.startswith("GET") and "a" not in r.message),
    ("/^  File/", any_line(r"^  File")),
    ("/bad$/", any_line(r"bad$")),
    ("'plaît'", lambda r: "plaît" in r.message),
    ("'ОШИБКА'i", lambda r: "ошибка" in r.message.lower()),
    ("/[0-9]+ms$/", any_line(r"[0-9]+ms$")),
    (r"host:/vm[12]/ 'ayment'", lambda r: r.fields["host"] in ("vm1", "vm2")
     and "ayment" in r.message),
    ("-host:'vm0' /orders/", lambda r: r.fields["host"] != "vm0" and "orders" in r.message),
    ("levelname:/^ERR/ timeout", lambda r: r.fields["levelname"].startswith("ERR")
     and re.search(r"\btimeout\b", r.message, re.I)),
    ("error 'db'", lambda r: re.search(r"\berror\b", r.message, re.I) and "db" in r.message),
]


@pytest.mark.parametrize(("q", "test"), CASES)
def test_patterns_find_exactly_what_they_match(client, q, test):
    want = expected(client, test)
    assert want, "the corpus must have matches"
    assert all_seqs(client, q) == want
    assert all_seqs(client, q, "desc") == want[::-1]
    count = client.get("/api/logs/count", params={"q": q}).json()
    assert (count["count"], count["capped"]) == (len(want), False)


@pytest.mark.parametrize("client", [{"infixes": False}], indirect=True)
def test_days_with_prefixes_only_narrow_by_them_and_answer_the_same(client, monkeypatch):
    """``infixes = false``: day indexes get prefixes (no memory for searchd's dictionary);
    the probe tells, a keyword whose start is known narrows with ``word*``, and every
    pattern finds exactly what it did with infixes."""
    from alco.search import dictionary

    sent = statements(monkeypatch)
    assert all_seqs(client, "'ed for custo'") == expected(
        client, lambda r: "ed for custo" in r.message)
    assert set(dictionary._WILD.values()) == {"prefix"}
    assert any("custo*" in str(p) for sql in sent if "MATCH" in sql for p in sql.params)
    for q, test in CASES:
        assert all_seqs(client, q) == expected(client, test), q


@pytest.mark.parametrize("wild", ["prefix", "words"])
def test_days_without_infixes_give_the_same_answers(client, wild):
    """Day indexes with prefixes only (``infixes = false``) or made before wildcards were
    configured: patterns narrow by what those can look up (a probe tells which days have
    what), and the answers do not change."""
    from alco.search import dictionary

    all_seqs(client, "'ayment'")  # (the reader asks searchd which days have infixes)
    keys = list(dictionary._WILD)
    assert keys and all(dictionary._WILD[k] == "infix" for k in keys)  # this searchd's have
    try:
        for key in keys:
            dictionary._WILD[key] = wild
        assert all_seqs(client, "'ayment'") == expected(client, lambda r: "ayment" in r.message)
        assert all_seqs(client, "/ERROR|FATAL/ -'db'") == expected(
            client, lambda r: re.search("ERROR|FATAL", r.message) and "db" not in r.message)
        assert all_seqs(client, "'ed for custo'") == expected(
            client, lambda r: "ed for custo" in r.message)
    finally:
        for key in keys:
            dictionary._WILD.pop(key, None)


def test_each_term_has_its_own_highlight(client):
    page = client.get("/api/logs/lines", params={"q": "timeout 'db' /\\d+s$/",
                                                "limit": 1}).json()
    assert page["lines"][0]["highlight"] == (
        'ERROR: <mark class="t1">db</mark> <mark class="t0">timeout</mark> after '
        '<mark class="t2">30s</mark>')


def test_a_bad_regex_is_a_400_with_its_position(client):
    resp = client.get("/api/logs/lines", params={"q": "error /a(b/"})
    assert resp.status_code == 400
    body = resp.json()
    assert "missing )" in body["error"] and body["position"] == 8  # the "(" left open


def test_a_scan_without_literal_stops_partial_and_goes_on(stack, client):
    """A tiny time budget: the scan answers what it has, says how far it got, and the cursor
    leads on; followed to the end it finds every line once."""
    config = dataclasses.replace(
        client.config, web=dataclasses.replace(client.config.web, time_budget=0.001))
    small = TestClient(create_app(config))
    want = expected(client, any_line(r"\d+ms$"))
    first, last = client.records[0].ts_us, client.records[-1].ts_us
    got: list[int] = []
    cursor, partial_pages = None, 0
    for _ in range(2000):  # bound: a page a second of the range at least
        params = {"q": r"/\d+ms$/", "limit": 10, "order": "asc", "from": first / 1e6,
                  "to": last / 1e6 + 1}
        if cursor:
            params["after"] = cursor
        page = small.get("/api/logs/lines", params=params).json()
        got += [ln["fields"]["seq"] for ln in page["lines"]]
        if page.get("partial"):
            partial_pages += 1
            assert page["searched_to"] and page["next"]
        if page["next"] is None:
            break
        cursor = page["next"]
    assert got == want and partial_pages


def test_patterns_are_not_injected(client):
    for q in ["/') OR 1=1 --/", "'\\'); DROP'", "/*/", "'*ayment*'", "/@logline x/",
              "'\"a\"'", "/\\x00/", "'" + "a" * 3000 + "'", "/(((((((((((a)))))))))))/"]:
        resp = client.get("/api/logs/lines", params={"q": q})
        assert resp.status_code in (200, 400), (q, resp.text)


def test_a_scan_reads_no_json_but_its_lines_are_whole(client, monkeypatch):
    """A scan reads the message of each candidate only (searchd turns every JSON attribute
    it returns into text); the lines it keeps get their fields and marks in one query more,
    within the request's query budget."""
    from alco.search.budget import MAX_QUERIES

    sent = statements(monkeypatch)
    page = client.get("/api/logs/lines", params={"q": r"/\d+ms$/", "limit": 5}).json()
    want = expected(client, any_line(r"\d+ms$"))[::-1][:5]
    assert [ln["fields"]["seq"] for ln in page["lines"]] == want
    assert all(ln["fields"]["host"].startswith("vm") for ln in page["lines"])
    # (the day keeps its text in the line store: every line a candidate, the scan reads the
    # store's blocks and asks searchd only which of what it keeps searchd has)
    assert not any(" js" in q.split(" FROM ")[0] for q in sent)
    assert any(q.startswith("SELECT id FROM") and " id IN (" in q for q in sent)
    # (the fields, times and marks of what it keeps: the store, no query more)
    assert not any(" meta" in q.split(" FROM ")[0] for q in sent)
    assert len(sent) <= MAX_QUERIES
    assert all(ln["ts"] for ln in page["lines"])
    # a field check reads the fields with the message
    sent.clear()
    page = client.get("/api/logs/lines", params={"q": "host:/vm[12]/ 'ayment'"}).json()
    assert page["lines"] and all(ln["fields"]["host"] in ("vm1", "vm2") for ln in page["lines"])
    # (the text, the fields, the times and the marks: the store; searchd the ids)
    assert any(q.startswith("SELECT id FROM") for q in sent)
    assert not any(" js" in q.split(" FROM ")[0] or " meta" in q.split(" FROM ")[0]
                   for q in sent)
