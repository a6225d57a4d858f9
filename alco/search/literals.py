"""Which keywords a pattern needs in the full-text index: the index narrows, the check decides.

A pattern's required literal text, cut at Sphinx's separators, gives keywords a matching line
must hold.  A keyword whose ends are both inside the literal, or at a known boundary (grep
-w, ``^``, ``$``, a space), is searched as itself; one that may continue into the line's
neighbouring characters needs the index's wildcards, each at least MIN_INFIX characters long
(alco.index.sphinxconf): infixes (``*ayment*``, ``*orders``, ``500*``: ``min_infix_len``) or,
in day indexes made with ``infixes = false``, prefixes only (``500*``, a keyword that may go
on to its right: ``min_prefix_len``, which costs searchd no memory).  ``WILD`` names the three
kinds of day index.  What cannot be narrowed this way is left to the check: a scan.

The result is a list of clauses, all required; a clause is a tuple of alternatives, each a
MATCH() expression (``/ERROR|FATAL/`` gives one clause of two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alco.index import buckets, charset
from alco.index.schema import MIN_INFIX, PARTS_FIELD
from alco.search.language import KEYWORD_RUN_RE
from alco.search.patterns import is_keyword_char

try:
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11 layout
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

Clause = tuple[str, ...]
INFIX, PREFIX, WORDS = "infix", "prefix", "words"  # what a day index can look up
WILD = (WORDS, PREFIX, INFIX)  # weakest first: each can run the queries of those before it
# RE2 syntax Python's parser reads otherwise (POSIX classes, \pL, \Q..\E, \C, \z, \x{..},
# flags Python lacks): such a pattern is not narrowed, only checked
_RE2_ONLY = re.compile(r"\[:|\\[pPQECz]|\\x\{|\(\?[a-zA-Z]*U")
_SPACE_CATEGORIES = {sre_c.CATEGORY_SPACE}
_KEYWORD_RANGES = tuple(charset.word_ranges())  # (alco.search.language.KEYWORD_CHARS)
_SEGMENT_RE = re.compile("[^0-9]+")  # a keyword's runs of letters (alco.index.buckets)


@dataclass(frozen=True)
class Literal:
    """Text a match must contain; ``open_left``/``open_right``: the line's characters next
    to it may be keyword characters (the first/last keyword may be part of a longer one)."""

    text: str
    open_left: bool = True
    open_right: bool = True


def literal_terms(lit: Literal, wild: str) -> list[str]:
    """The MATCH() terms every line holding ``lit`` has (lower-case keywords, ``*`` where a
    keyword may go on, as far as day indexes of kind ``wild`` can look that up), in a day
    index whose ids are not buckets."""
    terms: list[str] = []
    for token, left, right in _runs(lit):
        term = _term(token.lower(), left, right, wild)
        if term:
            terms.append(term)
    return terms


def literal_clauses(lit: Literal, wild: str) -> list[Clause]:
    """The clauses of ``lit``, in day indexes of either kind: those whose ids are buckets
    (alco.index.buckets; a keyword of the literal may be one, or lie inside one: its letters
    are then in the parts field) and those made before."""
    clauses: list[Clause] = []
    for token, left, right in _runs(lit):
        folded = buckets.fold(token)
        if not left and not right:
            # (by rule 1, whose buckets hold rule 2's: a pattern is checked line by line)
            clauses.append((folded, *buckets.buckets_of(folded))
                           if buckets.is_bucketed(folded, 1)
                           else (folded,))
            continue
        # the keyword holding it: itself (a day made before buckets, or not an id) or an id
        # (its letters in the parts field); a clause that cannot look up both is left out
        whole, inside = _term(folded, left, right, wild), _inside(folded, left, right, wild)
        if whole and inside:
            clauses.append((whole, inside))
    return clauses


def _runs(lit: Literal) -> list[tuple[str, bool, bool]]:
    """The literal's keywords, each with whether it may go on to its left and right."""
    return [(run.group(0), run.start() == 0 and lit.open_left,
             run.end() == len(lit.text) and lit.open_right)
            for run in KEYWORD_RUN_RE.finditer(lit.text)]


def _term(token: str, left: bool, right: bool, wild: str) -> str | None:
    if not left and not right:
        return token
    if len(token) >= MIN_INFIX and (wild == INFIX or (wild == PREFIX and not left)):
        return ("*" if left else "") + token + ("*" if right else "")
    return None


def _inside(folded: str, left: bool, right: bool, wild: str) -> str | None:
    """The parts field's terms a bucketed keyword holding ``folded`` has (its runs of
    letters), None when none can be looked up."""
    terms = []
    for seg in _SEGMENT_RE.finditer(folded):
        text = seg.group(0)
        if len(text) < MIN_INFIX:
            continue
        term = _term(text, left and seg.start() == 0, right and seg.end() == len(folded), wild)
        if term:
            terms.append(term)
    return f"@{PARTS_FIELD} ({' '.join(terms)})" if terms else None


def text_clauses(text: str, word: bool, wild: str) -> list[Clause]:
    """Clauses of a substring (``word``: bounded like grep -w)."""
    return literal_clauses(Literal(text, not word, not word), wild)


def regex_clauses(source: str, word: bool, wild: str) -> list[Clause]:
    """Clauses of an RE2 regex: those of its required literals; none when it has none or
    uses syntax this analysis does not read."""
    if _RE2_ONLY.search(source):
        return []
    try:
        tree = sre_parse.parse(source)
    except (re.error, RecursionError, OverflowError, ValueError):
        return []
    return _sequence(list(tree), not word, not word, wild)


def _separator(op: object, av: object) -> bool:
    """Whether a node matches only characters that separate keywords (one or more)."""
    if op is sre_c.IN:
        items = list(av)  # type: ignore[call-overload]
        if not items or items[0][0] is sre_c.NEGATE:
            return False
        return all(_separator(o, a) for o, a in items)
    if op is sre_c.LITERAL:
        return not is_keyword_char(chr(av))  # type: ignore[arg-type]
    if op is sre_c.CATEGORY:
        return av in _SPACE_CATEGORIES
    if op is sre_c.RANGE:
        lo, hi = av  # type: ignore[misc]
        return not any(lo <= b and a <= hi for a, b in _KEYWORD_RANGES)
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        lo, _, sub = av  # type: ignore[misc]
        return lo >= 1 and len(sub) == 1 and _separator(*sub[0])
    return False


def _anchor(op: object, av: object, begin: bool) -> bool:
    if op is not sre_c.AT:
        return False
    return av in ((sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING) if begin
                  else (sre_c.AT_END, sre_c.AT_END_STRING))


def _expression(clauses: list[Clause]) -> str:
    parts = [c[0] if len(c) == 1 else "(" + " | ".join(f"({a})" for a in c) + ")"
             for c in clauses]
    return " ".join(parts)


def _sequence(items: list, open_left: bool, open_right: bool, wild: str) -> list[Clause]:
    clauses: list[Clause] = []
    run: list[str] = []
    run_open_left = open_left

    def end_run(open_right_here: bool) -> None:
        if run:
            lit = Literal("".join(run), run_open_left, open_right_here)
            clauses.extend(literal_clauses(lit, wild))
        run.clear()

    for op, av in items:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        bounded_before = _separator(op, av) or _anchor(op, av, begin=False)
        end_run(not bounded_before)
        run_open_left = not (_separator(op, av) or _anchor(op, av, begin=True))
        clauses += _node(op, av, wild)
    end_run(open_right)
    return clauses


def _node(op: object, av: object, wild: str) -> list[Clause]:
    """Clauses of a node that is not a literal (groups, repeats at least once, branches)."""
    if op is sre_c.SUBPATTERN:
        return _sequence(list(av[-1]), True, True, wild)  # type: ignore[index]
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        lo, _, sub = av  # type: ignore[misc]
        return _sequence(list(sub), True, True, wild) if lo >= 1 else []
    if op is sre_c.BRANCH:
        alternatives = [_sequence(list(alt), True, True, wild) for alt in av[1]]  # type: ignore[index]
        if not alternatives or not all(alternatives):
            return []
        return [tuple(dict.fromkeys(_expression(a) for a in alternatives))]
    return []


def match_text(clauses: list[Clause]) -> str:
    """The MATCH() expression of clauses ("" when there are none)."""
    return _expression(clauses)
