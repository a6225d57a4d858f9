"""A day index's words: its charset_table folds as Python's re.IGNORECASE does; scripts
written without spaces are indexed by character."""

from __future__ import annotations

import re
from datetime import date

from alco.config import parse
from alco.index import charset, sphinxconf


def test_the_folding_is_pythons_ignore_case() -> None:
    fold = charset.folding()
    for a, b in ["Aa", "Éé", "Σσ", "σς", "Жж", "İi", "ıI", "ſs", "\u212ak", "ẞß", "µμ"]:
        assert re.fullmatch(re.escape(a), b, re.IGNORECASE)
        assert fold[ord(a)] == fold[ord(b)], (a, b)
    for c in "ab9_éß결제שआ":
        assert ord(c) in fold
    for c in " .-:/订单ไทย":
        assert ord(c) not in fold


def test_every_character_ignore_case_makes_equal_to_a_word_character_is_one() -> None:
    fold = charset.folding()
    word = re.compile(f"[{charset.regex_class(charset.word_ranges())}]", re.IGNORECASE)
    for code in range(0x3000):
        if word.fullmatch(chr(code)):
            assert code in fold, hex(code)


def test_day_indexes_get_the_table_and_ngrams() -> None:
    text = sphinxconf.render(parse({}, "<defaults>", env={}), date(2026, 11, 24))
    assert "    charset_table = U+30..U+39, \\\n        U+41..U+5A->U+61..U+7A," in text
    assert "U+AC00..U+D7A3" in text  # Hangul syllables: words
    assert "    ngram_len = 1\n    ngram_chars = U+E01..U+E5B, " in text  # Thai ...
    assert "U+4E00..U+9FFF" in text.split("ngram_chars")[1].split("\n")[0]
