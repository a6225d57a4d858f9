"""Patterns of the query language: parsing, exact checks (RE2) and highlights."""

from __future__ import annotations

import random
import re

import pytest

from alco.search import patterns
from alco.search.checks import FieldCheck, FieldEquals, LineChecks, Term, field_value
from alco.search.highlight import pieces, pieces_many
from alco.search.language import Matcher, QueryError, parse
from alco.search.patterns import Check, Pattern, PatternError, escape


@pytest.mark.parametrize(("text", "kind", "source", "flags", "negate", "field"), [
    ("'ayment'", "text", "ayment", "", False, None),
    ("'customer_id = 4'", "text", "customer_id = 4", "", False, None),
    ("'don''t'", "text", "don't", "", False, None),
    ("'it's'", "text", "it's", "", False, None),
    ("'Timeout'i", "text", "Timeout", "i", False, None),
    ("'err'w", "text", "err", "w", False, None),
    ("-'DEBUG'", "text", "DEBUG", "", True, None),
    (r"/orders\/\d+ 500/", "regex", r"orders\/\d+ 500", "", False, None),
    ("/ERROR|FATAL/", "regex", "ERROR|FATAL", "", False, None),
    ("/a[/]b/", "regex", "a[/]b", "", False, None),
    ("/x/iw", "regex", "x", "iw", False, None),
    (r"host:/web-\d+/", "regex", r"web-\d+", "", False, "host"),
    ("-host:'web'i", "text", "web", "i", True, "host"),
])
def test_patterns_parse(text, kind, source, flags, negate, field):
    [m] = parse(text).matchers
    assert (m.kind, m.source, m.negate, m.field) == (kind, source, negate, field)
    assert (m.ignore_case, m.word) == ("i" in flags, "w" in flags)


@pytest.mark.parametrize("text", ["/api/v1", "http://x/y/", "don't", "//x", "'open",
                                  "path:/x", "a/b/", "'a'b"])
def test_what_is_not_closed_stays_what_it_was(text):
    assert parse(text).matchers == ()


def test_an_empty_pattern_is_an_error_with_its_position():
    with pytest.raises(QueryError) as err:
        parse("error ''")
    assert err.value.position == 6


def test_negated_patterns_alone_are_a_query():
    assert parse("-'DEBUG'").matchers == (Matcher("text", "DEBUG", negate=True, position=2),)
    with pytest.raises(QueryError):
        parse("-debug")  # a negated word alone still needs something positive


def test_colours_follow_the_order_typed():
    q = parse("timeout 'db' -x \"a phrase\" /re/ host:/h/")
    assert q.order == (("word", 0), ("matcher", 0), ("phrase", 0), ("matcher", 1))


@pytest.mark.parametrize(("pattern", "text", "hit"), [
    (Pattern("text", "ayment"), "Payment ok", True),
    (Pattern("text", "Timeout"), "timeout", False),
    (Pattern("text", "Timeout", ignore_case=True), "TIMEOUT", True),
    (Pattern("text", "err", word=True), "error err!", True),
    (Pattern("text", "err", word=True), "error errno", False),
    (Pattern("text", "é", word=True), "café", False),  # é is a letter: grep -w agrees
    (Pattern("regex", "^  File"), 'Traceback\n  File "x"', True),  # any line of a message
    (Pattern("regex", "bad$"), "bad\nnext", True),
    (Pattern("regex", "a\\sb"), "a\nb", False),  # no match across lines, as grep
    (Pattern("regex", "ОШИБКА", ignore_case=True), "ошибка базы", True),
    (Pattern("words", "connection reset"), "Connection  RESET by peer", True),
    (Pattern("words", "connection reset"), "connections reset", False),
])
def test_checks_match_line_by_line_like_grep(pattern, text, hit):
    assert Check(pattern).hits(text) is hit


TEXTS = ["GET /api 200 in 12ms", "", "a\nb", "x err\nerr", "\n\n", "bad\nnext", "café au lait",
         "ошибка базы", 'Traceback\n  File "x"\nValueError: 12ms', "12ms\n", "aXb", "é\né", "err",
         "a\nbc", "xa\nbcc"]
PATTERNS = [r"\d+ms$", r"^\s*$", r"a\sb", r"a.*b", r"[^x]+", r"^", r"$", r"b$\n?", r"x*",
            r"(?s)a.b", r"^  File", r"err\b", r"\Aa", r"b\z", r"[\pL]{4}", r"ms$|^err", r"a\sb|c"]


@pytest.mark.parametrize("source", PATTERNS)
@pytest.mark.parametrize("flags", [{}, {"ignore_case": True}, {"word": True}])
def test_many_lines_at_once_give_what_each_gives_alone(source, flags):
    """One RE2 pass over lines joined (a scan's window) must say what line by line says,
    also for matches that would run from one line into the next."""
    check = Check(Pattern("regex", source, **flags))
    texts = TEXTS * 3
    assert check.hits_many(texts) == [check.hits(t) for t in texts]
    assert check.spans_many(texts) == [check.spans(t) for t in texts]


def test_a_pages_highlights_at_once_are_those_of_each_line():
    terms = [Term(0, Check(Pattern("regex", r"\d+ms"))), Term(1, Check(Pattern("text", "err"))),
             Term(2, Check(Pattern("regex", "a.*b", ignore_case=True)))]
    assert pieces_many(TEXTS, terms) == [pieces(t, terms) for t in TEXTS]


def test_line_checks_of_many_lines_are_those_of_each():
    checks = LineChecks([FieldCheck(Check(Pattern("regex", r"\d+ms")), False, None),
                         FieldCheck(Check(Pattern("regex", "^web")), True, "host")])
    messages = ["a 12ms", "b 13ms", "c", "d 1ms"]
    fields = [{"host": "web1"}, {"host": "db1"}, {"host": "db2"}, {}]
    assert checks.passes_many(messages, fields) == [
        checks.passes(m, f) for m, f in zip(messages, fields, strict=True)] == \
        [False, True, False, True]


def test_line_checks_narrow_item_by_item_with_negations_and_field_filters():
    """Each check looks at the lines the ones before kept: a negated pattern first (over
    every message as given), a filter on a field as sent, a pattern on the message last."""
    checks = LineChecks([FieldCheck(Check(Pattern("regex", r"^skip")), True, None),
                         FieldEquals("n", ("7", "8"), False),
                         FieldCheck(Check(Pattern("text", "ms")), False, None)])
    messages = ["skip 12ms", "a 13ms", "b 14ms", "c", "d 1ms", "skip"]
    fields = [{"n": 7}, {"n": 7}, {"n": 9}, {"n": "8"}, {"n": [1, 8]}, {}]
    assert checks.passes_many(messages, fields) == [False, True, False, False, True, False]
    assert LineChecks([FieldCheck(Check(Pattern("text", "zz")), False, None)]).passes_many(
        messages, None) == [False] * 6
    assert LineChecks([FieldCheck(Check(Pattern("text", "zz")), True, None)]).passes_many(
        messages, None) == [True] * 6


def test_a_bad_regex_says_where():
    with pytest.raises(PatternError) as err:
        Check(Pattern("regex", "ab(c"))
    assert "missing )" in err.value.message and err.value.offset == 2
    with pytest.raises(PatternError):
        Check(Pattern("regex", "x{1001}"))
    with pytest.raises(PatternError):
        Check(Pattern("text", "x" * 3000))


def test_escape_makes_punctuation_plain():
    text = "a.b*c (d) [e] {f} |g| ^h$ \\ / + ?"
    assert Check(Pattern("regex", escape(text))).spans("x " + text) == [(2, 2 + len(text))]


def test_highlights_take_the_first_then_longest_match():
    terms = [Term(0, Check(Pattern("words", "error"))), Term(1, Check(Pattern("text", "db"))),
             Term(2, Check(Pattern("regex", r"\d+s")))]
    assert pieces("Error: db error after 30s", terms) == [
        ("Error", 0), (": ", None), ("db", 1), (" ", None), ("error", 0), (" after ", None),
        ("30s", 2)]
    assert pieces("err err err", [Term(0, Check(Pattern("text", "err", word=True)))]) == [
        ("err", 0), (" ", None), ("err", 0), (" ", None), ("err", 0)]


def test_line_checks_on_the_message_and_on_fields():
    checks = LineChecks([FieldCheck(Check(Pattern("regex", r"web-\d+")), False, "host"),
                         FieldCheck(Check(Pattern("text", "DEBUG")), True, None)])
    assert checks.on_fields()
    assert checks.passes("INFO x", {"host": "web-12"})
    assert not checks.passes("DEBUG x", {"host": "web-12"})
    assert not checks.passes("INFO x", {"host": "db-1"})
    assert not checks.passes("INFO x", {})
    assert field_value({"a": {"b": 7}}, "a.b") == "7"
    assert field_value({"a.b": True}, "a.b") == "true"


def _keywords_regex(text: str) -> re.Pattern[str]:
    """The check of keywords as a regex of the keyword classes (what ``words`` checks were
    before: slow to compile, the reference here)."""
    from alco.search.language import KEYWORD_CHARS, NGRAM_CHARS
    from alco.search.patterns import _TOKEN_RE

    words = _TOKEN_RE.findall(text)
    body = re.escape(words[0])
    for before, word in zip(words, words[1:], strict=False):
        runs = re.fullmatch(f"[{KEYWORD_CHARS}]+", before) and re.fullmatch(
            f"[{KEYWORD_CHARS}]+", word)
        body += f"[^{KEYWORD_CHARS}{NGRAM_CHARS}]{'+' if runs else '*'}{re.escape(word)}"
    return re.compile(f"(?<![{KEYWORD_CHARS}]){body}(?![{KEYWORD_CHARS}])", re.IGNORECASE)


@pytest.mark.parametrize("compiled_after", [5000, 0])  # (the walk; the regex it compiles)
def test_words_are_keywords_one_after_another_as_the_reference_regex_finds_them(
        compiled_after, monkeypatch):
    monkeypatch.setattr(patterns, "KEYWORDS_COMPILED", compiled_after)
    rng = random.Random(5)
    vocab = ["a", "b", "ab", "A", "B", "Ab", "été", "ÉTÉ", "ошибка", "ОШИБКА", "x1", "42",
             "3f2a9c1e", "3F2A9C1E", "_"]
    seps = [" ", "  ", "-", ", ", "\n", "/", ".", ""]
    for _ in range(400):
        query = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 3)))
        text = "".join(rng.choice(vocab) + rng.choice(seps) for _ in range(rng.randint(1, 12)))
        check, ref = Check(Pattern("words", query)), _keywords_regex(query)
        assert check.hits(text) == (ref.search(text) is not None), (query, text)
        assert check.spans(text) == [m.span() for m in ref.finditer(text)], (query, text)


@pytest.mark.parametrize("compiled_after", [5000, 0])
def test_words_next_to_each_other_and_in_scripts_without_spaces(compiled_after, monkeypatch):
    monkeypatch.setattr(patterns, "KEYWORDS_COMPILED", compiled_after)
    check = Check(Pattern("words", "a b"))
    assert check.spans("a b a b, A  B ab") == [(0, 3), (4, 7), (9, 13)]
    assert not check.hits("ab") and check.hits("x a-b") and not check.hits("xa b")
    # a character of a script written without spaces is a keyword of its own, next to the
    # others whatever precedes it (as Sphinx finds the phrase)
    cjk = Check(Pattern("words", "订单"))
    assert cjk.spans("abc订单 订 单 订x单") == [(3, 5), (6, 9)]


def test_a_compiled_pattern_is_kept_for_the_next_request():
    from alco.search.patterns import check_of

    p = Pattern("text", "ayment", word=True)
    assert check_of(p) is check_of(Pattern("text", "ayment", word=True))
    assert check_of(p) is not check_of(Pattern("text", "ayment"))
