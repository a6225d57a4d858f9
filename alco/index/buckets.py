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

Two rules, kept per day (``alco.index.schema.DayLayout.id_rule``): rule 1, the first, also
takes a word with a short number for an id (``inventory235``, ``1000ms``, ``user42``); such
words are few (a word's numbers), but as buckets every count of one is checked line by line
against the store (a 4-day histogram of ``inventory235`` at 10M lines: 600 ms).  Rule 2 (day
indexes made since, marked by the ``RULE2_FIELD`` field) keeps them words: a keyword that is
letters then at most four digits, or at most four digits then letters, of at most WORD_MAX
characters, unless it is all hex digits (``deadbeef12``: a hash's piece).  Queries run a
day's rule; a range holding a day of rule 1 runs rule 1 (its buckets are a superset: right on
every day, only slower).

How many buckets a day has is chosen when its index is made (``bits_for``: the fewest of
SIZES that leave at most LINES_PER_BUCKET of the index's busiest recent day's lines a
bucket; alco.index.bucketsizes) and kept in its schema (an empty ``idbits<N>`` field,
``alco.index.schema.DayLayout.bucket_bits``; days made before have 65,536).  A bucket names
its size (``zq<n>`` for 65,536, ``zq<bits>x<n>`` for the others), so a query looks an id up
as each size's bucket (``query_texts``): a day has only its own size's tokens, and one query
reads days of every size.

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
from alco.index.schema import BITS_DEFAULT, MIN_INFIX, PARTS_FIELD, RULE2_FIELD

BITS = BITS_DEFAULT  # the buckets of day indexes made before sizes were chosen: BUCKETS
BUCKETS = 1 << BITS
# the bucket counts (as bits) a day index may be made with: a day's dictionary holds at most
# 2**bits buckets, and a lookup checks about lines * ids a line / 2**bits candidates a day
SIZES = (16, 18, 20, 22)
LINES_PER_BUCKET = 32
RULE = 2  # what new day indexes are made with
WORD_MAX = 32  # rule 2: a longer keyword is no word with a number
BUCKET_PREFIX = "zq"
__all__ = ["BITS", "BUCKETS", "PARTS_FIELD", "RULE", "RULE2_FIELD", "SIZES", "bits_for",
           "bucket", "buckets_of", "fold", "index_text", "is_bucketed", "letters",
           "query_texts"]
_DIGIT_RE = re.compile("[0-9]")
_KEYWORD = charset.regex_class(charset.word_ranges())
# a keyword holding a digit, five characters or more, taken whole (possessive: linear time)
_CANDIDATE_RE = re.compile(f"(?<![{_KEYWORD}])(?=[{_KEYWORD}]*?[0-9])[{_KEYWORD}]{{5,}}+")
_LETTERS_RE = re.compile(f"[^0-9]{{{MIN_INFIX},}}")
# rule 2: a word and a short number, one after the other (``inventory235``, ``1000ms``)
_WORD_NUMBER_RE = re.compile("[^0-9]+[0-9]{1,4}|[0-9]{1,4}[^0-9]+")
_HEX_RE = re.compile("[0-9a-f]+")


@functools.lru_cache(maxsize=1)
def _fold_table() -> dict[int, int]:
    return {c: to for c, to in charset.folding().items() if c != to}


def fold(token: str) -> str:
    """A keyword as the index folds it (alco.index.charset)."""
    return token.lower() if token.isascii() else token.translate(_fold_table())


def is_bucketed(folded: str, rule: int = RULE) -> bool:
    """Whether a (folded) keyword is indexed as its bucket in a day index of ``rule``."""
    n = len(folded)
    if n < 5 or not _DIGIT_RE.search(folded):
        return False
    if folded.isdigit():
        return True
    return n >= 6 and (rule == 1 or n > WORD_MAX or not _word_number(folded))


def _word_number(folded: str) -> bool:
    return _WORD_NUMBER_RE.fullmatch(folded) is not None and not _HEX_RE.fullmatch(folded)


def bits_for(lines: int) -> int:
    """The bucket bits (of SIZES) of a new day index of an index whose busiest recent day
    held ``lines``: the fewest that leave at most LINES_PER_BUCKET lines a bucket."""
    for bits in SIZES:
        if lines <= LINES_PER_BUCKET << bits:
            return bits
    return SIZES[-1]


def bucket(folded: str, bits: int = BITS) -> str:
    """The bucket token of a (folded) keyword in a day index of ``2 ** bits`` buckets."""
    crc = zlib.crc32(folded.encode("utf-8", "surrogatepass"))
    if bits == BITS:
        return f"{BUCKET_PREFIX}{crc % BUCKETS}"
    return f"{BUCKET_PREFIX}{bits}x{crc & ((1 << bits) - 1)}"


def buckets_of(folded: str) -> tuple[str, ...]:
    """The bucket tokens of a (folded) keyword in day indexes of each of SIZES."""
    return tuple(bucket(folded, bits) for bits in SIZES)


def letters(folded: str) -> list[str]:
    """The runs of a bucketed keyword's letters that ``PARTS_FIELD`` holds."""
    return _LETTERS_RE.findall(folded)


def _as_bucket(token: str, rule: int, bits: int) -> tuple[str, str] | None:
    """(folded, bucket) of a keyword ``_CANDIDATE_RE`` found (five characters or more, one
    a digit) when it is an id by ``rule``, else None: the one test of the writer and of
    queries."""
    folded = fold(token)
    return (folded, bucket(folded, bits)) if is_bucketed(folded, rule) else None


def index_text(text: str, rule: int = RULE, bits: int = BITS) -> tuple[str, str]:
    """The message as a day index of ``rule`` and ``2 ** bits`` buckets gets it (bucketed
    keywords as their buckets) and the text of ``PARTS_FIELD`` (their runs of letters)."""
    parts: list[str] = []

    def swap(m: re.Match[str]) -> str:
        found = _as_bucket(m.group(0), rule, bits)
        if found is None:
            return m.group(0)
        parts.extend(letters(found[0]))
        return found[1]

    if not _DIGIT_RE.search(text):
        return text, ""
    return _CANDIDATE_RE.sub(swap, text), " ".join(parts)


def query_texts(text: str, rule: int = RULE) -> tuple[str, ...]:
    """A word or phrase as day indexes with buckets of ``rule`` have it (its ids as their
    buckets), one form for each of SIZES; none when it holds no id."""
    return tuple(out for bits in SIZES if (out := _query_text(text, rule, bits)) is not None)


def _query_text(text: str, rule: int, bits: int) -> str | None:
    changed = False

    def swap(m: re.Match[str]) -> str:
        nonlocal changed
        found = _as_bucket(m.group(0), rule, bits)
        if found is None:
            return m.group(0)
        changed = True
        return found[1]

    out = _CANDIDATE_RE.sub(swap, text)
    return out if changed else None
