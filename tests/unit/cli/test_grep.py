"""alco grep's pure parts: line formatting, highlighting, query words, SSE parsing, keys."""

from __future__ import annotations

import io

from alco.cli.grep import (
    COLORS,
    RESET,
    ansi_highlight,
    format_line,
    format_time,
    query_text,
    use_color,
)
from alco.cli.send import routing_key_for, topic_matches
from alco.clients.api import parse_sse

LINE = {
    "id": "123", "ts": "2026-11-24T10:00:00.123456+00:00", "message": "a <b> & error here",
    "fields": {"host": "web-1", "levelname": "ERROR", "n": 5, "tags": ["x"]},
    "highlight": "a &lt;b&gt; &amp; <mark>error</mark> here",
}


def test_time_is_utc_with_milliseconds() -> None:
    assert format_time(LINE["ts"]) == "2026-11-24 10:00:00.123"
    assert format_time("2026-11-24T12:00:00.5+02:00") == "2026-11-24 10:00:00.500"
    assert format_time("garbage") == "garbage"


def test_plain_line_has_time_host_message_and_unescaped_text() -> None:
    out = format_line(LINE, ("time", "host", "message"), color=False)
    assert out == "2026-11-24 10:00:00.123 web-1 a <b> & error here"
    assert "\x1b" not in out


def test_color_marks_hits_and_tints_columns() -> None:
    out = format_line(LINE, ("time", "host", "message"), color=True)
    assert f"{COLORS['match']}error{RESET}" in out
    assert out.startswith(COLORS["time"])
    assert "a <b> & " in out
    assert ansi_highlight("x &amp; <mark>y</mark>", color=False) == "x & y"


def test_chosen_fields_missing_and_structured_values() -> None:
    out = format_line(LINE, ("id", "levelname", "n", "tags", "nope", "message"), color=False)
    assert out == '123 ERROR 5 ["x"] - a <b> & error here'


def test_context_line_shows_the_message_not_the_highlight() -> None:
    out = format_line(LINE, ("message",), color=True, hit=False)
    assert out == "a <b> & error here"


def test_query_words_with_spaces_become_phrases() -> None:
    assert query_text(["error", "connection reset", "-debug"]) == 'error "connection reset" -debug'
    assert query_text(['"already quoted"']) == '"already quoted"'
    assert query_text([]) == ""
    # a pattern with spaces is already one term of the query language, not a phrase
    for pattern in ("/timeout after \\d+ms/", "'connection reset'i", "-/health check/",
                    "host:/web \\d/", "-path:'/api v1/'w"):
        assert query_text(["x", pattern]) == f"x {pattern}"
    assert query_text(["/a b"]) == '"/a b"'  # (not closed: words)


def test_parse_sse_events_comments_and_multiline_data() -> None:
    raw = [b": tail of logs\n", b"\n", b"event: line\n", b'data: {"id": "1"}\n', b"\n",
           b"event: skipped\r\n", b"data: {\"count\": 3}\r\n", b"\r\n",
           b"data: a\n", b"data: b\n", b"\n"]
    assert list(parse_sse(iter(raw))) == [
        ("line", '{"id": "1"}'), ("skipped", '{"count": 3}'), ("message", "a\nb")]


def test_color_choice(monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color("always", io.StringIO()) is True
    assert use_color("never", io.StringIO()) is False
    assert use_color("auto", io.StringIO()) is False  # not a terminal: no escapes in pipes


def test_topic_matching_and_routing_key_for_an_index() -> None:
    from alco.config import IndexConfig

    assert topic_matches("logstash.#", "logstash") and topic_matches("logstash.#", "logstash.a.b")
    assert topic_matches("*.x", "a.x") and not topic_matches("*.x", "x")
    assert not topic_matches("logstash", "logstash.shop")
    assert routing_key_for(None, None) == "logstash.send"
    assert routing_key_for("shop", IndexConfig(name="shop")) == "logstash.shop"
    nginx = IndexConfig(name="nginx", routing_keys=("web.*",))
    assert routing_key_for("nginx", nginx) == "web.nginx"


class FakeApi:
    """Serves /lines from a list of ids, like an old server without context/tail/histogram."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.calls = ids, []

    def open(self, path: str, params: dict | None = None, timeout: float | None = None):
        from alco.clients.api import NotSupported

        raise NotSupported(path)

    def get(self, path: str, params: dict | None = None) -> dict:
        from alco.clients.api import NotSupported

        params = params or {}
        self.calls.append((path, params))
        if not path.endswith("/lines"):
            raise NotSupported(path)
        ids = sorted(self.ids, reverse=params.get("order") == "desc")
        if params.get("after"):
            ids = [i for i in ids if i > int(params["after"])]
        if params.get("before"):
            ids = [i for i in ids if i < int(params["before"])]
        limit = params.get("limit", 100)
        page = ids[:limit]
        nxt = str(page[-1]) if len(ids) > limit else None
        return {"lines": [{"id": str(i), "message": f"m{i}"} for i in page], "next": nxt}


def test_paging_counting_and_context_without_the_newer_endpoints(monkeypatch) -> None:
    from alco.clients import api as apiclient

    monkeypatch.setattr(apiclient, "PAGE", 3)
    api = FakeApi(list(range(1, 11)))
    every = apiclient.pages(api, "logs", {}, None)
    assert [ln["id"] for ln in every] == [str(i) for i in range(1, 11)]
    assert [ln["id"] for ln in apiclient.pages(api, "logs", {}, 4, "5")] == ["6", "7", "8", "9"]
    assert apiclient.count(api, "logs", {}, None) == 10
    around = apiclient.context_of(api, "logs", {"id": "5", "message": "m5"}, 2, 1)
    assert [ln["id"] for ln in around] == ["3", "4", "5", "6"]


def test_follow_polls_lines_after_the_cursor_when_there_is_no_tail(monkeypatch) -> None:
    from alco.clients import api as apiclient

    api = FakeApi([1, 2, 3])
    got: list[str] = []

    def sleep(_s: float) -> None:  # a new line arrives while "sleeping"
        api.ids.append(max(api.ids) + 1)

    monkeypatch.setattr(apiclient.time, "sleep", sleep)
    apiclient.follow(api, "logs", {"q": "x"}, "2",
                     lambda line: got.append(line["id"]) or len(got) < 3)
    assert got == ["3", "4", "5"]
    assert all(params["q"] == "x" for _, params in api.calls)
