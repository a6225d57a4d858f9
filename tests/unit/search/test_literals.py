"""The keywords a pattern needs from the full-text index (narrowing, never losing a line)."""

from __future__ import annotations

import pytest

from alco.search.literals import match_text, regex_clauses, text_clauses


@pytest.mark.parametrize(("text", "word", "infix", "clauses"), [
    ("ayment", False, True, [("*ayment*",)]),
    ("ayment", False, False, []),  # no infixes: a piece of a word cannot be looked up
    ("10.203.", False, True, [("203",)]),  # "10" may end a longer number; 2 chars: no infix
    ("customer_id = 4", False, True, [("*customer_id",)]),
    ("customer_id = 4", True, True, [("customer_id",), ("4",)]),
    ("café au lait", False, True, [("*caf",), ("au",), ("lait*",)]),  # é separates keywords
    ("err", True, False, [("err",)]),
    ("->", False, True, []),
])
def test_substrings(text, word, infix, clauses):
    assert text_clauses(text, word, infix) == clauses


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
    assert match_text(regex_clauses(source, False, True)) == expression
