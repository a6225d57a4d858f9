"""Tokens that would grow the dictionary with every line enter it as one of BUCKETS tokens.

Sphinx 2.2 keeps every disk chunk's dictionary in RAM, and what grows it with the lines is the
distinct tokens services log: UUIDs, request and trace ids, hashes, long numbers.  In a day
index made for the line store (it has the ``PARTS_FIELD`` field) such a token (``is_bucketed``:
six or more characters holding a digit, or a number of five or more digits) is indexed in the
message as ``bucket(token)``, one of BUCKETS tokens named by a hash of the folded token, at the
token's own position (phrases keep working).  A lookup of the token looks up its bucket, and
the line's text, from the line store, is checked exactly (alco.search.compile): candidates
of other tokens of the bucket are dropped there.  Words without digits (``timeout``, ``GET``),
short numbers, IP octets and the four-digit groups of a UUID stay themselves: they are few.

A substring (a pattern's literal, ``*meou*``) may lie inside a bucketed token
(``timeout2``): the letters of such a token, each run of MIN_INFIX or more between its digits,
are indexed in ``PARTS_FIELD`` too, so a pattern narrows there as well
(alco.search.literals).  Runs of hex letters are few; random letters in ids still add words.
"""

from __future__ import annotations

import functools
import re
import zlib

from alco.index import charset
from alco.index.schema import MIN_INFIX, PARTS_FIELD

BUCKETS = 65_536
BUCKET_PREFIX = "zq"
__all__ = ["BUCKETS", "PARTS_FIELD", "bucket", "fold", "index_text", "is_bucketed", "letters",
           "query_text"]
_DIGIT_RE = re.compile("[0-9]")
_KEYWORD = charset.regex_class(charset.word_ranges())
# a keyword holding a digit, five characters or more, taken whole (possessive: linear time)
_CANDIDATE_RE = re.compile(f"(?<![{_KEYWORD}])(?=[{_KEYWORD}]*?[0-9])[{_KEYWORD}]{{5,}}+")
_LETTERS_RE = re.compile(f"[^0-9]{{{MIN_INFIX},}}")


@functools.lru_cache(maxsize=1)
def _fold_table() -> dict[int, int]:
    return {c: to for c, to in charset.folding().items() if c != to}


def fold(token: str) -> str:
    """A keyword as the index folds it (alco.index.charset)."""
    return token.lower() if token.isascii() else token.translate(_fold_table())


def is_bucketed(folded: str) -> bool:
    """Whether a (folded) keyword is indexed as its bucket."""
    n = len(folded)
    if n < 5 or not _DIGIT_RE.search(folded):
        return False
    return n >= 6 or folded.isdigit()


def bucket(folded: str) -> str:
    """The bucket token of a (folded) keyword."""
    return f"{BUCKET_PREFIX}{zlib.crc32(folded.encode('utf-8', 'surrogatepass')) % BUCKETS}"


def letters(folded: str) -> list[str]:
    """The runs of a bucketed keyword's letters that ``PARTS_FIELD`` holds."""
    return _LETTERS_RE.findall(folded)


def _as_bucket(token: str) -> tuple[str, str] | None:
    """(folded, bucket) of a keyword ``_CANDIDATE_RE`` found (five characters or more, one
    a digit) when it is an id, else None: the one rule of the writer and of queries."""
    folded = fold(token)
    if len(folded) < 6 and not folded.isdigit():
        return None
    return folded, bucket(folded)


def index_text(text: str) -> tuple[str, str]:
    """The message as the index gets it (bucketed keywords as their buckets) and the text of
    ``PARTS_FIELD`` (their runs of letters)."""
    parts: list[str] = []

    def swap(m: re.Match[str]) -> str:
        found = _as_bucket(m.group(0))
        if found is None:
            return m.group(0)
        parts.extend(letters(found[0]))
        return found[1]

    if not _DIGIT_RE.search(text):
        return text, ""
    return _CANDIDATE_RE.sub(swap, text), " ".join(parts)


def query_text(text: str) -> str | None:
    """A word or phrase as a day index with buckets has it (its ids as their buckets), None
    when it holds no id."""
    changed = False

    def swap(m: re.Match[str]) -> str:
        nonlocal changed
        found = _as_bucket(m.group(0))
        if found is None:
            return m.group(0)
        changed = True
        return found[1]

    out = _CANDIDATE_RE.sub(swap, text)
    return out if changed else None
