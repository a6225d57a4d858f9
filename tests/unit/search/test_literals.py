"""The keywords a pattern needs from the full-text index (narrowing, never losing a line)."""

from __future__ import annotations

import pytest

from alco.index.buckets import buckets_of
from alco.search.literals import INFIX, PREFIX, WORDS, match_text, regex_clauses, text_clauses


# a piece that may lie inside an id of a day index with buckets: also in the parts field
# (alco.index.buckets), and a piece that may not be found there is not narrowed by
@pytest.mark.parametrize(("text", "word", "wild", "clauses"), [
    ("ayment", False, INFIX, [("*ayment*", "@parts (*ayment*)")]),
    ("ayment", False, WORDS, []),  # no wildcards: a piece of a word cannot be looked up
    ("ayment", False, PREFIX, []),  # (its start may be inside a word)
    ("10.203.", False, INFIX, [("203",)]),  # "10" may end a longer number; 2 chars: no infix
    ("customer_id = 4", False, INFIX, [("*customer_id", "@parts (*customer_id)")]),
    ("customer_id = 4", False, PREFIX, []),
    ("customer_id = 4", True, INFIX, [("customer_id",), ("4",)]),
    ("café au lait", False, INFIX,  # é is a letter
     [("*café", "@parts (*café)"), ("au",), ("lait*", "@parts (lait*)")]),
    ("결제 완료 ok", False, INFIX, [("완료",)]),  # Hangul too (결제, ok: too short to *)
    ("订单已支付 x123", False, INFIX, []),  # each Han character its own word; x123 may
    # begin an id (x1234567), whose letters (x) are too few to look up
    ("café au lait", False, PREFIX, [("au",), ("lait*", "@parts (lait*)")]),  # a start is known
    ("café au lait", False, WORDS, [("au",)]),
    ("err", True, WORDS, [("err",)]),
    ("->", False, INFIX, []),
    # ids: a whole one as itself or its bucket; a piece of one by its letters, if it has any
    ("id=ab12cd34ef", True, INFIX, [("id",), ("ab12cd34ef", *buckets_of("ab12cd34ef"))]),
    ("ABC123def", False, INFIX, [("*abc123def*", "@parts (*abc def*)")]),
    ("abc123xyz9", True, INFIX, [("abc123xyz9", *buckets_of("abc123xyz9"))]),
    ("4f9a2b7c1d3e", False, INFIX, []),
    ("12345", True, INFIX, [("12345", *buckets_of("12345"))]),  # a number of five digits or more
    ("1234", True, INFIX, [("1234",)]),
])
def test_substrings(text, word, wild, clauses):
    assert text_clauses(text, word, wild) == clauses


def _either(term: str) -> str:
    """A piece of a word: itself, or the letters of an id of a day index with buckets."""
    return f"(({term}) | (@parts ({term})))"


@pytest.mark.parametrize(("source", "expression"), [
    (r"orders/\d+ 500", _either("*orders")),  # (500 may begin an id: 500123456)
    ("ERROR|FATAL", f"(({_either('*error*')}) | ({_either('*fatal*')}))"),
    ("^GET /api", f"get {_either('api*')}"),
    (r"timeout\s+after", f"{_either('*timeout')} {_either('after*')}"),
    (r"\d+ms$", ""),
    ("(foo)?bar", _either("*bar*")),
    ("ab", ""),
    (r"[[:digit:]]abc", ""),  # RE2 syntax Python reads otherwise: not narrowed
    (r"\pLabc", ""),
    ("a(b", ""),
])
def test_regexes(source, expression):
    assert match_text(regex_clauses(source, False, INFIX)) == expression


@pytest.mark.parametrize(("source", "expression"), [
    (r"orders/\d+ 500", ""),
    ("ERROR|FATAL", ""),  # an alternative that cannot narrow: the whole branch cannot
    ("^GET /api", f"get {_either('api*')}"),
    (r"\btimeout\s+after", _either("after*")),  # (\b is not read as a boundary)
    (r"\s+timeout after", f"timeout {_either('after*')}"),
])
def test_regexes_with_prefixes_only(source, expression):
    assert match_text(regex_clauses(source, False, PREFIX)) == expression
