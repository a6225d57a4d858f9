"""grep patterns and flags as a term of the query language: BRE/ERE to RE2, escaping, OR of
-e, the flags, quoting of ' and /."""

from __future__ import annotations

import pytest

from alco.clients.patterns import (
    PatternError,
    bracket,
    escape_fixed,
    grep_term,
    quote_fixed,
    split_patterns,
    to_re2,
)
from alco.errors import BadInput

BRE_CASES = [
    ("ayment", "ayment"),
    ("10.203.", "10.203."),                       # . is any character, as in grep
    (r"10\.203\.", r"10\.203\."),
    (r"\(a\|b\)", "(a|b)"),                         # the escaped operators are the operators
    (r"a\+", "a+"), (r"a\?", "a?"),
    (r"a\{2\}", "a{2}"), (r"a\{2,\}", "a{2,}"), (r"a\{1,3\}", "a{1,3}"), (r"a\{,3\}", "a{0,3}"),
    ("(a|b)", r"\(a\|b\)"),                         # plain ones are literal
    ("a+b?", r"a\+b\?"), ("x{2}", r"x\{2\}"),
    ("a*", "a*"), ("*a", r"\*a"),                   # * first is literal
    (r"\(*a\)", r"(\*a)"), (r"x\|*a", r"x|\*a"), ("^*a", r"^\*a"),
    ("^a", "^a"), ("a^", r"a\^"), (r"x\|^a", "x|^a"), (r"\(^a\)", "(^a)"),
    ("a$", "a$"), ("a$b", r"a\$b"), (r"a$\|b", "a$|b"), (r"\(a$\)", "(a$)"),
    (r"\*", r"\*"), (r"\.", r"\."), (r"\[", r"\["), (r"\\", r"\\"), (r"\/", r"\/"),
    ("a/b", r"a\/b"),                               # / is the term's delimiter
    ("orders/[0-9]* 500", r"orders\/[0-9]* 500"),
    ("[[:digit:]]", "[[:digit:]]"), ("[[:space:]x]", "[[:space:]x]"),
    ("[[:alpha:]]", r"[\pL]"), ("[^[:upper:][:lower:]]", r"[^\p{Lu}\p{Ll}]"),
    ("[[:alnum:]_]", r"[\pL\pN_]"),
    (r"\w\W", r"[\pL\pN_][^\pL\pN_]"),
    (r"\<err\>", r"\berr\b"), (r"\bx\B", r"\bx\B"), (r"\s\S", r"\s\S"),
    (r"\ x", " x"), ("\\é", "é"),                   # RE2 refuses \ before a space or é
    ("a\tb", r"a\x{09}b"),
    ("é.Ж", "é.Ж"),
]
ERE_CASES = [
    ("ERROR|FATAL", "ERROR|FATAL"),
    ("orders/[0-9]+ 500", r"orders\/[0-9]+ 500"),
    (r"a\/b", r"a\/b"),                             # already escaped: not escaped twice
    ("(a|b)+c?", "(a|b)+c?"),
    (r"\(a\)", r"\(a\)"), (r"\{", r"\{"), (r"\|", r"\|"),
    ("a{2}", "a{2}"), ("a{2,}", "a{2,}"), ("a{,2}", "a{0,2}"),
    ("a{1", r"a\{1"), ("a{x}", r"a\{x\}"), ("a}", r"a\}"),  # not an interval: literal
    ("*b", "b"), ("+b", "b"), ("?b", "b"), ("{1}b", "b"),   # GNU: nothing to repeat
    ("(*b)", "(b)"), ("x|*b", "x|b"),
    ("^*b", "b"), ("^+b", "^b"),                   # a repeated anchor
    ("^a$", "^a$"), ("a^b", "a^b"),
    ("[]x]", r"[\]x]"), ("[^]x]", r"[^\]x]"), ("[a\\]", r"[a\\]"), ("[[]", r"[\[]"),
    ("[a-z/]", r"[a-z\/]"), ("[[=e=]]", "[e]"), ("[[.-.]a]", "[-a]"),
    ("\\d+", "\\d+"),                               # RE2's meaning kept
]


@pytest.mark.parametrize(("bre", "re2"), BRE_CASES)
def test_basic_regex_to_re2(bre: str, re2: str) -> None:
    assert to_re2(bre, "G") == re2


@pytest.mark.parametrize(("ere", "re2"), ERE_CASES)
def test_extended_regex_to_re2(ere: str, re2: str) -> None:
    assert to_re2(ere, "E") == re2


def test_every_translation_compiles_in_re2() -> None:
    re2 = pytest.importorskip("re2")  # the server's engine (the server extra)
    for _, source in BRE_CASES + ERE_CASES:
        re2.compile(source)


@pytest.mark.parametrize("bad", [r"\(a\)\1", "a\\", "[abc", "[[:alpha:]", r"a\{1", r"a\{3,1\}",
                                 "[[=ab=]]"])
def test_what_re2_cannot_say_is_an_error(bad: str) -> None:
    with pytest.raises(PatternError):
        to_re2(bad, "G")
    assert issubclass(PatternError, BadInput)


def test_fixed_strings_escape_ascii_punctuation_only() -> None:
    assert escape_fixed("a.b*c") == r"a\.b\*c"
    assert escape_fixed("customer_id = 4") == r"customer_id \= 4"
    assert escape_fixed("x/y (z)?") == r"x\/y \(z\)\?"
    assert escape_fixed("école Жук 日本") == "école Жук 日本"  # no \ before letters/spaces
    assert escape_fixed("a\tb") == r"a\x{09}b"
    assert to_re2("[x]", "F") == r"\[x\]"


def test_quotes_are_doubled() -> None:
    assert quote_fixed("don't") == "'don''t'"
    assert quote_fixed("''") == "''''''"


def test_one_fixed_string_is_the_substring_form() -> None:
    assert grep_term(["a.b*c"], "F") == "'a.b*c'"
    assert grep_term(["customer_id = 4"], "F") == "'customer_id = 4'"
    assert grep_term(["it's"], "F", ignore_case=True) == "'it''s'i"
    assert grep_term(["/api/"], "F") == "'/api/'"  # no / escaping inside quotes
    assert grep_term(["err"], "F", word=True, invert=True) == "-'err'w"
    assert grep_term(["a\tb"], "F") == r"/a\x{09}b/"  # a control character: as a regex


def test_several_patterns_are_one_regex_or_ed() -> None:
    assert grep_term(["ERROR", "FATAL"], "F") == "/(?:ERROR)|(?:FATAL)/"
    assert grep_term(["a.b", "c/d"], "F") == r"/(?:a\.b)|(?:c\/d)/"
    assert grep_term(["a|b", "c+"], "E") == "/(?:a|b)|(?:c+)/"
    assert grep_term([r"\(x\|y\)", "z+"], "G") == r"/(?:(x|y))|(?:z\+)/"
    assert grep_term(["*a", "b"], "E") == "/(?:a)|(?:b)/"


def test_a_pattern_with_newlines_is_several_patterns() -> None:
    assert split_patterns(["a\nb", "c"]) == ["a", "b", "c"]
    assert grep_term(["Timeout\nFATAL"], "F", ignore_case=True) == "/(?:Timeout)|(?:FATAL)/i"


@pytest.mark.parametrize(("flags", "term"), [
    ({}, "/timeout/"),
    ({"ignore_case": True}, "/timeout/i"),
    ({"word": True}, "/timeout/w"),
    ({"ignore_case": True, "word": True}, "/timeout/iw"),
    ({"invert": True}, "-/timeout/"),
    ({"invert": True, "ignore_case": True, "word": True}, "-/timeout/iw"),
])
def test_flags(flags: dict, term: str) -> None:
    assert grep_term(["timeout"], "G", **flags) == term
    assert grep_term(["timeout"], "E", **flags) == term


def test_the_default_syntax_is_basic() -> None:
    assert grep_term(["a+(b)"]) == r"/a\+\(b\)/"
    assert grep_term(["a+(b)"], "E") == "/a+(b)/"


def test_empty_pattern_matches_every_line() -> None:
    assert grep_term([""]) == ""                      # no term: every line
    assert grep_term(["x", ""], "E") == ""
    assert grep_term(["a\n"], "F") == ""              # "a" or the empty line after it
    assert grep_term([""], invert=True) is None       # -v: no line
    with pytest.raises(PatternError, match="-w"):
        grep_term([""], word=True)
    with pytest.raises(PatternError, match="no pattern"):
        grep_term([])


def test_bracket_returns_the_end() -> None:
    assert bracket("x[ab]y", 1) == ("[ab]", 5)
    assert bracket("[]]", 0) == (r"[\]]", 3)
