"""The keywords a pattern needs from the full-text index (narrowing, never losing a line)."""

from __future__ import annotations

import pytest

from alco.search.literals import INFIX, PREFIX, WORDS, match_text, regex_clauses, text_clauses


@pytest.mark.parametrize(("text", "word", "wild", "clauses"), [
    ("ayment", False, INFIX, [("*ayment*",)]),
    ("ayment", False, WORDS, []),  # no wildcards: a piece of a word cannot be looked up
    ("ayment", False, PREFIX, []),  # (its start may be inside a word)
    ("10.203.", False, INFIX, [("203",)]),  # "10" may end a longer number; 2 chars: no infix
    ("customer_id = 4", False, INFIX, [("*customer_id",)]),
    ("customer_id = 4", False, PREFIX, []),
    ("customer_id = 4", True, INFIX, [("customer_id",), ("4",)]),
    ("café au lait", False, INFIX, [("*café",), ("au",), ("lait*",)]),  # é is a letter
    ("결제 완료 ok", False, INFIX, [("완료",)]),  # Hangul too (결제, ok: too short to *)
    ("订单已支付 x123", False, INFIX, [("x123*",)]),  # each Han character its own word
    ("café au lait", False, PREFIX, [("au",), ("lait*",)]),  # a keyword's start is known
    ("café au lait", False, WORDS, [("au",)]),
    ("err", True, WORDS, [("err",)]),
    ("->", False, INFIX, []),
])
def test_substrings(text, word, wild, clauses):
    assert text_clauses(text, word, wild) == clauses


@pytest.mark.parametrize(("source", "expression"), [
    (r"orders/\d+ 500", "*orders 500*"),
    ("ERROR|FATAL", "((*error*) | (*fatal*))"),
    ("^GET /api", "get api*"),
    (r"timeout\s+after", "*timeout after*"),
    (r"\d+ms$", ""),
    ("(foo)?bar", "*bar*"),
    ("ab", ""),
    (r"[[:digit:]]abc", ""),  # RE2 syntax Python reads otherwise: not narrowed
    (r"\pLabc", ""),
    ("a(b", ""),
])
def test_regexes(source, expression):
    assert match_text(regex_clauses(source, False, INFIX)) == expression


@pytest.mark.parametrize(("source", "expression"), [
    (r"orders/\d+ 500", "500*"),
    ("ERROR|FATAL", ""),  # an alternative that cannot narrow: the whole branch cannot
    ("^GET /api", "get api*"),
    (r"\btimeout\s+after", "after*"),  # (\b is not read as a boundary: "timeout" may end one)
    (r"\s+timeout after", "timeout after*"),
])
def test_regexes_with_prefixes_only(source, expression):
    assert match_text(regex_clauses(source, False, PREFIX)) == expression
