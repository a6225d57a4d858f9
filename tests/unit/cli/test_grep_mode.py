"""alco grep's grep mode: which words are the pattern, the query it sends, exact counts,
progress of scans on a terminal, one colour per query term."""

from __future__ import annotations

import argparse
import io

import pytest

from alco.cli.grep import (
    RESET,
    TERM_COLORS,
    Progress,
    ansi_highlight,
    grep_mode,
    grep_query,
    pick_index,
    register,
    search,
)
from alco.clients import api as apiclient
from alco.clients.api import NotSupported
from alco.clients.patterns import PatternError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["grep", *argv])


def query(*argv: str) -> str | None:
    args = parse(*argv)
    return grep_query(args, args.words)


def test_without_grep_flags_the_words_are_the_query_language() -> None:
    args = parse("timeout", "host:web-1")
    assert not grep_mode(args)
    assert query("timeout", "connection reset") == 'timeout "connection reset"'


@pytest.mark.parametrize(("argv", "q"), [
    (("-F", "customer_id = 4"), "'customer_id = 4'"),
    (("-F", "a.b*c", "host:web-1"), "'a.b*c' host:web-1"),   # other words: ANDed terms
    (("-E", "orders/[0-9]+ 500"), r"/orders\/[0-9]+ 500/"),
    (("-E", "ERROR|FATAL", "levelname:ERROR", "db"), "/ERROR|FATAL/ levelname:ERROR db"),
    (("-i", "Timeout"), "/Timeout/i"),
    (("-w", "err"), "/err/w"),
    (("-v", "DEBUG", "host:web-1"), "-/DEBUG/ host:web-1"),
    (("-viw", "-F", "it's"), "-'it''s'iw"),
    (("-G", r"\(a\|b\)"), "/(a|b)/"),
    ((r"-e", "a+b"), r"/a\+b/"),                             # -e alone: grep mode, BRE
    (("-e", "ERROR", "-e", "FATAL", "-F"), "/(?:ERROR)|(?:FATAL)/"),
    (("-e", "x", "-E", "y", "z"), "/x/ y z"),                # with -e every word is a term
    (("-i", "-e", "", "host:a"), "host:a"),                  # an empty pattern: every line
    (("-i", "-e", ""), ""),
    (("-v", "-e", ""), None),                                # -v of it: no line
])
def test_grep_mode_query(argv: tuple[str, ...], q: str | None) -> None:
    assert grep_mode(parse(*argv))
    assert query(*argv) == q


def test_grep_mode_needs_a_pattern() -> None:
    with pytest.raises(PatternError, match="no pattern"):
        query("-i")
    with pytest.raises(SystemExit):  # -F -E -G exclude each other
        parse("-F", "-E", "x")


class Indexes:
    def get(self, path: str, params: dict | None = None) -> dict:
        return {"indexes": [{"name": "logs"}, {"name": "shop"}]}


def test_index_word_and_pattern_word() -> None:
    api = Indexes()
    assert pick_index(api, ["shop", "x"]) == ("shop", ["x"])
    assert pick_index(api, ["shop"]) == ("shop", [])
    assert pick_index(api, ["x", "y"]) == ("logs", ["x", "y"])
    # grep mode without -e: a lone word is the pattern, even when it names an index
    assert pick_index(api, ["shop"], pattern_first=True) == ("logs", ["shop"])
    assert pick_index(api, ["shop", "x"], pattern_first=True) == ("shop", ["x"])
    # grep's order, PATTERN FILE: the last word names an index, the first does not
    assert pick_index(api, ["x", "shop"]) == ("shop", ["x"])
    assert pick_index(api, ["x", "y", "shop"], pattern_first=True) == ("shop", ["x", "y"])
    assert pick_index(api, ["logs", "shop"]) == ("logs", ["shop"])  # (the first wins)


def test_each_term_has_its_colour() -> None:
    hl = '<mark class="t0">a</mark> <mark class="t1">b</mark> <mark class="t7">c</mark> ' \
         '<mark>d</mark> &lt;e&gt;'
    assert ansi_highlight(hl, color=False) == "a b c d <e>"
    assert ansi_highlight(hl, color=True) == (
        f"{TERM_COLORS[0]}a{RESET} {TERM_COLORS[1]}b{RESET} {TERM_COLORS[1]}c{RESET} "
        f"{TERM_COLORS[0]}d{RESET} <e>")
    assert len(set(TERM_COLORS)) == 6


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_overwritten_and_cleared(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    page = {"partial": True, "searched_to": "2026-11-24T10:42:05.5+00:00", "lines": []}
    quiet = io.StringIO()
    Progress(quiet)(page)
    assert quiet.getvalue() == ""
    tty = Tty()
    progress = Progress(tty)
    progress({"partial": False, "lines": []})
    assert tty.getvalue() == ""                  # a full answer: nothing to say
    progress(page)
    progress.clear()
    progress.clear()                             # once
    assert tty.getvalue() == ("\r\x1b[Kalco grep: searched up to 2026-11-24 10:42:05…"
                              "\r\x1b[K")
    back = Tty()
    Progress(back, ascending=False)(page)
    assert "searched back to 2026-11-24 10:42:05" in back.getvalue()
    monkeypatch.setenv("TERM", "dumb")
    dumb = Tty()
    Progress(dumb)(page)
    assert dumb.getvalue() == ""


class ScanApi:
    """A server whose pattern scan answers partial pages, some empty, then the end; /count
    answers as given (or is missing)."""

    def __init__(self, counted: dict | None = None) -> None:
        self.counted, self.calls = counted, []
        self.asc = [  # (lines, next, searched_to)
            ([], "10", "2026-11-24T10:00:00+00:00"),
            ([{"id": "11", "message": "m11"}], "20", "2026-11-24T11:00:00+00:00"),
            ([], "30", "2026-11-24T12:00:00+00:00"),
            ([{"id": "31", "message": "m31"}, {"id": "32", "message": "m32"}], None, None),
        ]

    def get(self, path: str, params: dict | None = None) -> dict:
        params = params or {}
        self.calls.append((path, params))
        if path.endswith("/indexes"):
            return {"indexes": [{"name": "logs"}]}
        if path.endswith("/count"):
            if self.counted is None:
                raise NotSupported(path)
            return self.counted
        if path.endswith("/histogram"):
            raise NotSupported(path)
        if params.get("order") == "desc":
            return self.desc(params)
        step = [c for c in (None, "10", "20", "30")].index(params.get("after"))
        lines, nxt, searched = self.asc[step]
        return {"lines": lines, "next": nxt, "partial": nxt is not None,
                "searched_to": searched}

    def desc(self, params: dict) -> dict:
        if params.get("before") is None:
            return {"lines": [], "next": "40", "partial": True,
                    "searched_to": "2026-11-24T12:00:00+00:00"}
        return {"lines": [{"id": "32", "message": "m32"}, {"id": "31", "message": "m31"}],
                "next": "30", "partial": True}


def test_pages_follow_partial_cursors_even_empty_and_report_progress() -> None:
    api, seen = ScanApi(), []
    lines = list(apiclient.pages(api, "logs", {"q": "/x/"}, None, progress=seen.append))
    assert [ln["id"] for ln in lines] == ["11", "31", "32"]
    assert [page.get("searched_to") for page in seen] == [
        "2026-11-24T10:00:00+00:00", "2026-11-24T11:00:00+00:00", "2026-11-24T12:00:00+00:00",
        None]


def test_a_cursor_that_does_not_move_forward_ends_the_paging() -> None:
    class Stuck(ScanApi):
        def get(self, path: str, params: dict | None = None) -> dict:
            self.calls.append((path, params))
            return {"lines": [], "next": "5", "partial": True}

    api = Stuck()
    assert list(apiclient.pages(api, "logs", {}, None, after="7")) == []
    assert len(api.calls) == 1


def test_newest_goes_back_through_partial_pages() -> None:
    api, seen = ScanApi(), []
    got = apiclient.newest(api, "logs", {"q": "/x/"}, 2, seen.append)
    assert [ln["id"] for ln in got] == ["31", "32"]  # oldest first
    assert [p["before"] for _, p in api.calls] == [None, "40"]


@pytest.mark.parametrize(("counted", "limit", "expected", "paged"), [
    ({"count": 7, "capped": False, "partial": False}, None, 7, False),   # exact
    ({"count": 3, "capped": True, "partial": False}, 3, 3, False),       # -m 3 reached
    ({"count": 30, "capped": False, "partial": False}, 5, 5, False),     # exact, past cap
    ({"count": 2, "capped": True, "partial": False}, None, 3, True),     # capped: count pages
    ({"count": 1, "capped": False, "partial": True}, None, 3, True),     # budget: count pages
    ({"count": 1, "capped": False, "partial": True}, 2, 2, True),
    (None, None, 3, True),                                               # no /count, no histogram
    ({"nonsense": 1}, None, 3, True),
])
def test_count_is_exact(counted: dict | None, limit: int | None, expected: int,
                        paged: bool) -> None:
    api = ScanApi(counted)
    assert apiclient.count(api, "logs", {"q": "/x/"}, limit) == expected
    assert any(path.endswith("/lines") for path, _ in api.calls) == paged
    caps = [p["cap"] for path, p in api.calls if path.endswith("/count")]
    assert caps == [limit or apiclient.COUNT_CAP]


def test_search_counts_and_prints_with_grep_flags(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    api = ScanApi({"count": 2, "capped": False, "partial": False})
    out = io.StringIO()
    assert search(api, parse("-c", "-i", "x", "host:a"), out, io.StringIO()) == 0
    assert out.getvalue() == "2\n"
    assert api.calls[-1][1]["q"] == "/x/i host:a"
    out, err = io.StringIO(), Tty()
    assert search(ScanApi(), parse("-F", "x", "--fields", "message"), out, err) == 0
    assert out.getvalue() == "m11\nm31\nm32\n"
    assert err.getvalue().endswith("\r\x1b[K")   # progress shown, then cleared
    out = io.StringIO()
    assert search(ScanApi(), parse("-c", "-v", "-e", ""), out, io.StringIO()) == 1
    assert out.getvalue() == "0\n"


def test_budget_warnings_are_not_repeated_on_stderr(capsys) -> None:
    class Answer:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def read(self) -> bytes:
            return self.body

    api = apiclient.Api("http://127.0.0.1:1")
    api.open = lambda *a, **k: Answer(  # type: ignore[method-assign]
        b'{"lines": [], "warnings": ["time budget of 10 s spent: the answer is partial", '
        b'"agent 10.0.0.2:9312: connect() failed"]}')
    api.get("/api/logs/lines")
    assert capsys.readouterr().err == "alco grep: partial results: agent 10.0.0.2:9312: " \
                                      "connect() failed\n"
