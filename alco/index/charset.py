"""Which characters make words in a day index, one table for searchd and for Python.

searchd's default ``charset_table`` knows ASCII and Russian only: every other letter
separates words, so ``ошибка`` is found but ``café``, ``결제`` or ``χρόνος`` are not, and
Chinese, Japanese and Thai, written without spaces, never make a word.  Day indexes made since
this table get:

- ``charset_table``: ASCII letters, digits and ``_``, and the letters, digits and marks of the
  alphabets and syllabaries in ``WORD_BLOCKS`` (Latin, Greek, Cyrillic, Armenian, Hebrew,
  Arabic, the Indic scripts, Georgian, Ethiopic, Hangul: Korean is matched as words), each
  folded to one character of its case class *as Python's ``re.IGNORECASE`` has them* (simple
  lower case plus ``re._casefix``: ``İ``, ``ı``, ``I`` and ``i`` are one), so what a pattern
  matches with ``-i`` is what the index narrows to (alco.search.literals);
- ``ngram_chars`` with ``ngram_len = 1``: the characters of the scripts written without
  spaces (``NGRAM_BLOCKS``: Han, kana, Thai, Lao, Khmer, Myanmar) are each a word of its own,
  and a word typed of them is searched as the phrase of its characters (``订单已支付``).

Day indexes made before keep the default; their settings are fixed when they are made.
"""

from __future__ import annotations

import _sre
import functools
import unicodedata
from re import _casefix  # type: ignore[attr-defined]

ASCII = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
WORD_BLOCKS = (
    (0x00C0, 0x024F), (0x1E00, 0x1EFF),  # Latin-1 letters, Latin Extended A/B, Additional
    (0x0370, 0x03FF), (0x1F00, 0x1FFF),  # Greek
    (0x0400, 0x052F),  # Cyrillic
    (0x0530, 0x058F),  # Armenian
    (0x05D0, 0x05EA),  # Hebrew letters
    (0x0620, 0x06FF),  # Arabic
    (0x0900, 0x0DFF),  # Devanagari ... Sinhala
    (0x10A0, 0x10FF),  # Georgian
    (0x1200, 0x137F),  # Ethiopic
    (0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3),  # Hangul
)
NGRAM_BLOCKS = (
    (0x0E01, 0x0E5B),  # Thai
    (0x0E81, 0x0EDF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17F9),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x3038, 0x303C),
    (0x3041, 0x3096), (0x309D, 0x309F), (0x30A1, 0x30FA), (0x30FC, 0x30FF),  # kana
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),  # Han
    (0xFF66, 0xFF9F),  # halfwidth katakana
    (0x20000, 0x2FA1F),  # Han, supplementary planes
)
_WORD_CATEGORIES = ("L", "Nd", "Mn", "Mc")


def _word_char(code: int) -> bool:
    return unicodedata.category(chr(code)).startswith(_WORD_CATEGORIES)


def _extra_cases() -> dict[int, tuple[int, ...]]:
    return _casefix._EXTRA_CASES


@functools.lru_cache(maxsize=1)
def folding() -> dict[int, int]:
    """Every word character -> the character of its case class it is indexed as."""
    chars = {c for lo, hi in ASCII for c in range(lo, hi + 1)}
    chars |= {c for lo, hi in WORD_BLOCKS for c in range(lo, hi + 1) if _word_char(c)}
    lows = {_sre.unicode_tolower(c) for c in chars}
    classes: dict[int, set[int]] = {}
    for c in range(0x30000):  # every character Python's -i makes equal to a word character
        low = _sre.unicode_tolower(c)
        if low in lows:
            classes.setdefault(low, set()).add(c)
    for low, extra in _extra_cases().items():
        if low in classes:
            for other in extra:
                classes[low] |= classes.pop(other, set()) | {other}
    return {c: low for low, members in classes.items() for c in members}


def word_ranges() -> list[tuple[int, int]]:
    """The word characters as ranges (for a regex class)."""
    return _ranges(sorted(folding()))


def ngram_ranges() -> list[tuple[int, int]]:
    return [(lo, hi) for lo, hi in NGRAM_BLOCKS]


def _ranges(codes: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in codes:
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def regex_class(ranges: list[tuple[int, int]]) -> str:
    """A regex character class's body (without brackets) of ``ranges``."""
    return "".join(_escaped(lo) if lo == hi else f"{_escaped(lo)}-{_escaped(hi)}"
                   for lo, hi in ranges)


def _escaped(code: int) -> str:
    return f"\\U{code:08x}"


def charset_table() -> str:
    """searchd's ``charset_table``: runs of characters folded to a parallel run."""
    entries: list[tuple[int, int, int]] = []  # (first, last, first's folding)
    for c, to in sorted(folding().items()):
        if entries:
            first, last, start = entries[-1]
            if c == last + 1 and to - c == start - first:
                entries[-1] = (first, c, start)
                continue
        entries.append((c, c, to))
    return ", ".join(_entry(first, last, start) for first, last, start in entries)


def _entry(first: int, last: int, start: int) -> str:
    span = f"U+{first:X}" if first == last else f"U+{first:X}..U+{last:X}"
    if start == first:
        return span
    target = f"U+{start:X}" if first == last else f"U+{start:X}..U+{start + last - first:X}"
    return f"{span}->{target}"


def ngram_chars() -> str:
    return ", ".join(f"U+{lo:X}..U+{hi:X}" if lo != hi else f"U+{lo:X}"
                     for lo, hi in ngram_ranges())


def config_lines() -> list[str]:
    """The settings of a day index's section (its charset_table one entry a line)."""
    table = charset_table().replace(", ", ", \\\n        ")
    return [f"    charset_table = {table}", "    ngram_len = 1",
            f"    ngram_chars = {ngram_chars()}"]
