"""The API's JSON of lines, pages and contexts, and the HTML of a line's matches."""

from __future__ import annotations

from alco.search.reader import Context, Line, Page
from alco.web.present import context_json, highlight_html, iso_us, line_json, page_json

TS_US = 1_700_000_000_123_456


def line(doc_id: int, matched: list | None = None) -> Line:
    return Line(doc_id, TS_US, f"line {doc_id}", {"host": "vm1"}, matched)


def test_highlight_escapes_the_text_and_marks_the_matches_with_their_term() -> None:
    pieces = [("<b> & ", None), ("<error>", 0), (" ", None), ("db", 2)]
    assert highlight_html(pieces) == ('&lt;b&gt; &amp; <mark class="t0">&lt;error&gt;</mark> '
                                      '<mark class="t2">db</mark>')
    assert highlight_html([]) == ""


def test_a_line_as_json_has_a_string_id_an_iso_time_and_its_highlight() -> None:
    assert iso_us(TS_US) == "2023-11-14T22:13:20.123456+00:00"
    assert line_json(line(2**62, [("x", 0)])) == {
        "id": "4611686018427387904", "ts": "2023-11-14T22:13:20.123456+00:00",
        "message": "line 4611686018427387904", "fields": {"host": "vm1"},
        "highlight": '<mark class="t0">x</mark>'}
    assert line_json(line(1))["highlight"] is None  # a query without words


def test_pages_and_contexts_are_their_lines_as_json() -> None:
    page = page_json(Page([line(1), line(2)], "2", None))
    assert [ln["id"] for ln in page["lines"]] == ["1", "2"]
    assert (page["next"], page["prev"]) == ("2", None)
    ctx = context_json(Context(line(5), [line(3), line(4)], [line(6)]))
    assert ctx["line"]["id"] == "5"
    assert [ln["id"] for ln in ctx["before"]] == ["3", "4"]
    assert [ln["id"] for ln in ctx["after"]] == ["6"]
