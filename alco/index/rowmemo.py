"""What a writer makes of its lines' ``filtered`` columns and times, remembered (pure logic).

A service's lines repeat their hosts, loggers, levels and processes, each column on its own
(the combinations of them hardly repeat), and thousands of lines share a minute: the tag
tokens and value hashes of a batch's lines are looked up a column at a time, per value, and
their time tokens per minute, instead of being made anew for each line.  A line's tags
are the ``tag_token`` of each of its ``filtered`` values (not objects or lists), its hashes
the ``field_hash`` of each (0 for none), its time token ``time_token``'s: what they are on
a miss.  On a day with common values (``DayLayout.common``) such a value has no tag token, and
a value sharing its CRC another hash (``schema.apart``): a day's lines are made with the
memo of its common values.
"""

from __future__ import annotations

from operator import itemgetter

from alco.index.schema import (
    MINUTE_MS,
    Common,
    IndexSchema,
    apart,
    field_hash,
    tag_token,
    time_token,
    value_attr,
)

MAX_MEMO = 65_536  # values a column (minutes) remembers before it starts again
MAX_KEY_LEN = 200  # a longer text is not remembered (as tag_token's own cache does)
MAX_SETS = 4  # sets of common values (days) remembered at once
_ABSENT = object()
_NONE = ("", 0)  # a column a line has not: no tag token, value hash 0
Pair = tuple[str, int]  # a value's tag token ("": none, for an object or a list) and hash
Memo = dict[tuple[type, object], Pair]  # a column's values, by type and value -> Pair
_tag, _hash = itemgetter(0), itemgetter(1)


class RowMemo:
    """Tags, value hashes and time tokens of lines of one ALCO index (one writer lane)."""

    def __init__(self, schema: IndexSchema) -> None:
        self.columns = schema.filtered
        # per set of common values, per column: (type, value) -> Pair (the type: 1, 1.0 and
        # True are equal keys), and the common values' CRC -> tag token
        self._sets: dict[frozenset[Common], list[tuple[Memo, dict[int, str]]]] = {}
        self._minutes: dict[int, str] = {}

    def tags_of(self, lines: list[dict], common: frozenset[Common] = frozenset()) -> list[str]:
        """The tag tokens of the fields of each of ``lines`` (on a day with ``common``)."""
        return self.tags_and_hashes(lines, common)[0]

    def hashes_of(self, lines: list[dict], common: frozenset[Common] = frozenset()
                  ) -> list[tuple[int, ...]]:
        """The ``IndexSchema.value_attrs`` of the fields of each of ``lines``."""
        return self.tags_and_hashes(lines, common)[1]

    def tags_and_hashes(self, lines: list[dict], common: frozenset[Common] = frozenset()
                        ) -> tuple[list[str], list[tuple[int, ...]]]:
        """``tags_of(lines)`` and ``hashes_of(lines)``, each column looked at once."""
        if not self.columns:
            return [""] * len(lines), [()] * len(lines)
        memos = self._sets.get(common)
        if memos is None:
            if len(self._sets) >= MAX_SETS:
                self._sets.clear()
            memos = self._sets[common] = [
                ({}, {cv.crc: cv.token for cv in common if cv.attr == value_attr(col)})
                for col in self.columns]
        cols = [self._column(k, lines, *memos[k]) for k in range(len(self.columns))]
        tags = [" ".join(filter(None, t))
                for t in zip(*(map(_tag, c) for c in cols), strict=True)]
        return tags, list(zip(*(map(_hash, c) for c in cols), strict=True))

    def _column(self, k: int, lines: list[dict], memo: Memo, common: dict[int, str]
                ) -> list[Pair]:
        """The Pair of the ``k``-th column's value in each of ``lines`` (``common``: its
        common values' CRC -> tag token)."""
        col = self.columns[k]
        values = [fields.get(col, _ABSENT) for fields in lines]
        keys = list(zip(map(type, values), values, strict=True))
        try:
            got: list[Pair | None] = list(map(memo.get, keys))
        except TypeError:  # (an object or a list among them: not a key)
            got = [None] * len(keys)
        if None in got:
            for n, pair in enumerate(got):
                if pair is None:
                    got[n] = self._miss(col, values[n], keys[n], memo, common)
        return got  # type: ignore[return-value]  (no None left)

    def _miss(self, col: str, value: object, key: tuple[type, object],
              memo: Memo, common: dict[int, str]) -> Pair:
        if value is _ABSENT:
            return _NONE
        if isinstance(value, dict | list):
            crc = field_hash(value)
            return "", apart(crc, common) if crc in common else crc
        pair = (tag_token(col, value), field_hash(value))
        if pair[1] in common:  # the common value (no tag token), or one sharing its CRC
            pair = ("", pair[1]) if common[pair[1]] == pair[0] else \
                (pair[0], apart(pair[1], common))
        if not (isinstance(value, str) and len(value) > MAX_KEY_LEN):
            if len(memo) >= MAX_MEMO:
                memo.clear()
            memo[key] = pair
        return pair

    def time_token(self, ms: int) -> str:
        """``time_token(ms)``: the tokens of its minute, ten minutes and hour."""
        minute = ms // MINUTE_MS
        got = self._minutes.get(minute)
        if got is None:
            if len(self._minutes) >= MAX_MEMO:
                self._minutes.clear()
            got = self._minutes[minute] = time_token(ms)
        return got
