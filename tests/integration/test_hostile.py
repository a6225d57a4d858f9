"""Hostile input at every endpoint and parameter: never a 500, never an injection."""

from __future__ import annotations

import time
import urllib.parse
from datetime import UTC, datetime

import httpx
import pytest
from starlette.testclient import TestClient

from alco.search.compile import SearchError
from alco.search.language import QueryError, parse, parse_time
from alco.search.reader import LineQuery
from alco.web.app import create_app
from tests.helpers import stored_count, wait_for
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration

CORPUS = [
    '"', '""', '"unterminated', "'", "''", "\\", "\\\\", "\\'", '\\"', "x\\", "(", ")", "|",
    "!", "-", "--", "- -", "-x", "@", "@@", "@x=", "@logline", "^", "$", "=", "~", "<<", "/",
    "*", "?", "%", "a*", "NEAR/3", "a NEAR/3 b", '"a b"~3', '"a b"/2', "a MAYBE b",
    "SENTENCE", "PARAGRAPH", "ZONE:(h1)", "ZONESPAN:(x)", "@(logline,js) x", "@* x",
    "a << b", "=exact", "@@relaxed x", "' OR 1=1 --", "'; DROP TABLE canary_x; --",
    "1; SELECT * FROM canary_x", "/* comment */ x", "x -- comment", "# hash", "x%00y",
    "`ident`", "canary_x", "logs_20261124", "host:", "host:,", 'host:"', "host:a,\"b",
    ":", "::", "a:b:c", "http://x", "js.host:x", "id:1", "nosuch:1", "levelname:*",
    "process:1e5", "process:-1", "process:99999999999999999999999", "duration:1.5.5",
    "ünïcödé ✓", "日本語 テスト", "\u202e reversed", "emoji 🙂", "\ufffd", "\x00", "a\x00b",
    "\x1a", "\r\n", "\t", " ", "", "a" * 100_000, "(" * 5000, '"' * 5001, "-a " * 3000,
    "host:" + ",".join(str(i) for i in range(2000)),
    # patterns: substrings and RE2 regexes (none can match a quiet record)
    "'%_'", "'*'", "'@logline canary'", "'\\'); DROP TABLE canary_x; --'", "'canary'",
    "/canary/", "-/quiet/", "/(a|b)*c{1000}/", "/a{1001}/", "/(?P<n>x)(?P=n)/", "/(?=x)/",
    "/\\x{10FFFF}/", "/[[:^alpha:]]{50}/", "/\\/'/", "host:/\\w+/ canary", "/(((a)))/iw",
    "-host:/.*/", "/" + "(" * 3000 + "/", "'" + "x" * 3000 + "'", "/x/zz", "//x//",
]
ENDPOINT_PARAMS = {
    "/api/logs/lines": ("q", "from", "to", "after", "before", "limit", "order"),
    "/api/logs/histogram": ("q", "from", "to", "buckets"),
    "/api/logs/columns": ("x",),
    "/api/logs/values/host": ("prefix", "limit"),
    "/api/logs/export": ("format", "q", "from", "to", "after", "limit"),
    "/api/indexes": ("q",),
}
ALLOWED = {200, 400, 404}
URL_MAX = 20_000  # HTTP clients and servers refuse longer URLs: 100 KB goes to the searcher


def http(text: str) -> str:
    return text[:URL_MAX]


@pytest.fixture
def hostile(stack):
    stack.index(columns={"host": "filtered", "request_id": "indexed"})
    stack.index(name="canary_x")
    stack.start_searchd()
    config = stack.config()
    now = time.time_ns() // 1000 - 10_000_000
    fill(config, [record(now + i, f"quiet record {i}", host="web1", process=7, request_id="rq")
                  for i in range(20)])
    fill(config, [record(now, "canary line", host="c")], index="canary_x")
    return stack, config, TestClient(create_app(config))


def assert_intact(config) -> None:
    assert stored_count(config, "canary_x") == 1
    assert stored_count(config, "logs") == 20


def check(resp: httpx.Response, what: str) -> None:
    assert resp.status_code in ALLOWED, (what[:200], resp.status_code, resp.text[:300])
    if resp.status_code != 200:  # unrouted paths get the router's plain 404
        if resp.headers["content-type"].startswith("application/json"):
            assert resp.json()["error"], what[:200]
        return
    if resp.headers["content-type"].startswith("application/json"):
        data = resp.json()
        for line in data.get("lines", []):  # only the 20 stored lines can ever come back
            assert line["message"].startswith("quiet record "), (what[:200], line)


def test_every_endpoint_and_parameter(hostile):
    stack, config, client = hostile
    for path, params in ENDPOINT_PARAMS.items():
        for name in params:
            for text in CORPUS:
                check(client.get(path, params={name: http(text)}), f"{path} {name}={text!r}")
    assert_intact(config)


def test_hostile_path_parts(hostile):
    stack, config, client = hostile
    anchor = client.get("/api/logs/lines", params={"limit": 1}).json()["lines"][0]["id"]
    for text in CORPUS:
        part = urllib.parse.quote(text[:2000], safe="")
        paths = [f"/api/logs/values/{part}", f"/api/logs/context/{part}"]
        if text != "canary_x":  # a real index, whose lines are not the quiet ones
            paths += [f"/api/{part}/lines", f"/api/{part}/context/{anchor}"]
        for path in paths:
            check(client.get(path), path)
        for name in ("before", "after", "same"):
            check(client.get(f"/api/logs/context/{anchor}", params={name: http(text)}),
                  f"context {name}={text!r}")
    check(client.get(f"/api/logs/context/{anchor}", params={"same": "host,process"}), "same")
    assert_intact(config)


def test_100kb_strings_reach_the_searcher_safely(hostile):
    stack, config, client = hostile
    searcher = client.app.state.alco.searcher()
    ix = config.index("logs")
    for text in [t for t in CORPUS if len(t) > URL_MAX] + ["a b " * 25_000, "é" * 100_000]:
        try:
            page = searcher.lines(ix, LineQuery(q=text))
        except SearchError:
            continue
        assert page.lines == []
    for text in ("1" * 100_000, "2026-" * 20_000):
        with pytest.raises(QueryError):
            parse_time(text, datetime.now(UTC))
    assert_intact(config)


def test_invalid_utf8_and_raw_query_strings(hostile):
    stack, config, client = hostile
    for raw in ("q=%ED%A0%80", "q=%FF%FE", "q=%00", "from=%FF", "limit=%FF", "q&q=a&q=b",
                "q=a%26b%3Dc", "after=-1", "before=0", "order=%00asc"):
        for path in ENDPOINT_PARAMS:
            check(client.get(f"{path}?{raw}"), f"{path}?{raw}")
    assert_intact(config)


def test_hostile_queries_do_not_match_unrelated_lines(hostile):
    stack, config, client = hostile
    for text in CORPUS:
        resp = client.get("/api/logs/lines", params={"q": http(text)})
        check(resp, text)
        if resp.status_code == 200 and not parse(http(text)).is_empty():  # blank: every line
            assert resp.json()["lines"] == [], text[:200]
    assert len(client.get("/api/logs/lines", params={"q": "quiet"}).json()["lines"]) == 20


def test_tail_refuses_or_streams(hostile):
    stack, config, _ = hostile
    stack.alco("web")
    base = f"http://{config.web.bind}"
    wait_for(lambda: _answers(base), message="web app")
    with httpx.Client(base_url=base, timeout=10) as web:
        for text in CORPUS[::3] + CORPUS[-6:]:
            for name in ("q", "after"):
                with web.stream("GET", "/api/logs/tail", params={name: http(text)}) as resp:
                    assert resp.status_code in ALLOWED, (name, text[:100], resp.status_code)
                    if resp.status_code != 200:
                        resp.read()
                        assert resp.json()["error"]
    assert_intact(config)


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/api/indexes", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
