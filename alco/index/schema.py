"""Names, ids and fingerprints of what ALCO stores in Sphinx (pure logic, no I/O).

Document ids are 64-bit and ordered by time (alco.index.ids: the millisecond, the writer slot
and a counter), so a time range is an id range.  A writer slot owns its ids; the counter of a
millisecond is kept in memory and, for a millisecond the writer has not seen since it
started, looked up in Sphinx, so a restarted writer never reuses an id (ids are never
overwritten).

Time tokens: every line also carries, in its ``tags`` field, tokens naming its minute, its ten
minutes and its hour (``z1m<minutes since the epoch>``, ``z10m<minutes // 10>``,
``z1h<hours>``).  Sphinx 2.2 does not stop early on an id range: a query for a word on every
third line decodes the word's document list through every chunk the range touches.  ANDed with
the tokens that cover the range (``time_cover``: whole hours in the middle, ten minutes and
minutes at the edges) it skips through it to them.  Day indexes written before the ten-minute
and hour tokens have minute tokens only (``time_cover(..., hours=False)``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import orjson

from alco.config import IndexConfig
from alco.index.ids import (  # noqa: F401  (the id map's names, as schema has them)
    MAX_SLOT,
    SLOT_BITS,
    TOP_ID,
    id_ms,
    make_id,
    max_counter,
    slot_of,
)

_FIELD_RE = re.compile(r"[^a-z0-9_]")


@dataclass(slots=True)
class Record:
    """One log line as stored: time (µs), message text, fields as sent, fingerprint, and ALCO's
    own marks of what it repaired (``truncated``, ``invalid_utf8``, ``bad_timestamp``), kept
    apart from the fields.  ``arrival``: the line carried no time (nor did its message), so
    its time is its arrival's, and a redelivery of it arrives at another."""

    ts_us: int
    message: str
    fields: dict
    fp: int
    degraded: list[str] = field(default_factory=list)
    marks: dict = field(default_factory=dict)
    arrival: bool = False


MIN_INFIX = 3  # day indexes' min_infix_len (or min_prefix_len): the shortest piece looked up

def day_index(name: str, day: date) -> str:
    """The RT index holding one day of an ALCO index: ``<name>_<YYYYMMDD>``."""
    return f"{name}_{day:%Y%m%d}"


def day_of_index(index: str) -> date | None:
    """The day of a day index (``<name>_<YYYYMMDD>``), None for another name."""
    try:
        return datetime.strptime(index.rsplit("_", 1)[1], "%Y%m%d").date()
    except (IndexError, ValueError):
        return None


def day_of_us(ts_us: int) -> date:
    return datetime.fromtimestamp(ts_us / 1_000_000, UTC).date()


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def field_column(col: str) -> str:
    """Sphinx full-text field name of an ``indexed`` column."""
    return "f_" + _FIELD_RE.sub("_", col.lower())


def fingerprint(data: bytes) -> int:
    """Signed 64-bit fingerprint (Sphinx bigint) of a message body."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


FP32 = 0xFFFFFFFF  # the part of a fingerprint a day index with a 32-bit ``fp`` keeps


_ABSENT = object()


def tag_token(col: str, value: object) -> str:
    """A single full-text token standing for ``col == value`` (exact match through MATCH)."""
    if isinstance(value, str) and len(value) > 200:
        return _tag_token(col, value)
    return _cached_tag_token(col, value)  # filtered values repeat: hash each once


def _tag_token(col: str, value: object) -> str:
    raw = f"{col}\x00{value_text(value)}".encode("utf-8", "surrogatepass")
    return "t" + hashlib.blake2b(raw, digest_size=8).hexdigest()


_cached_tag_token = functools.lru_cache(maxsize=65536, typed=True)(_tag_token)


MINUTE_MS, TEN_MINUTES_MS, HOUR_MS = 60_000, 600_000, 3_600_000
_TIME_PREFIX = {MINUTE_MS: "z1m", TEN_MINUTES_MS: "z10m", HOUR_MS: "z1h"}


def unit_token(size_ms: int, k: int) -> str:
    """The time token of the ``k``-th minute, ten minutes or hour (``size_ms``) since the
    epoch."""
    return f"{_TIME_PREFIX[size_ms]}{k}"


def time_token(ms: int) -> str:
    """The time tokens of a line stamped ``ms`` (epoch milliseconds): its minute, its ten
    minutes and its hour."""
    return " ".join(unit_token(size, ms // size) for size in _TIME_PREFIX)


def time_cover(lo_ms: int, hi_ms: int, hours: bool = False) -> list[str]:
    """Tokens that match exactly the lines of every minute [lo_ms, hi_ms] touches: with
    ``hours``, the whole hours and ten minutes inside it as one token each (at most 9 + 5
    tokens at either end, one per hour between); else one token per minute."""
    minute, last = lo_ms // MINUTE_MS, hi_ms // MINUTE_MS
    out = []
    while minute <= last:
        if hours and minute % 60 == 0 and minute + 59 <= last:
            out.append(unit_token(HOUR_MS, minute // 60))
            minute += 60
        elif hours and minute % 10 == 0 and minute + 9 <= last:
            out.append(unit_token(TEN_MINUTES_MS, minute // 10))
            minute += 10
        else:
            out.append(unit_token(MINUTE_MS, minute))
            minute += 1
    return out


def value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def id_range_of_us(from_us: int | None, to_us: int | None) -> tuple[int, int]:
    """Inclusive id bounds covering the time range [from_us, to_us]."""
    lo = 0 if from_us is None else make_id(from_us // 1000, 0, 0)
    hi = TOP_ID if to_us is None else make_id(to_us // 1000 + 1, 0, 0) - 1
    return lo, hi


# the full-text field of the text of ``context`` columns; day indexes made before it have
# none (the reader's MATCH() is @@relaxed about it, the writer leaves it out for them)
CONTEXT_FIELD = "context"
# the full-text field of the letters of a line's bucketed keywords (alco.index.buckets): day
# indexes made for the line store have it, and their messages' ids are indexed as buckets
PARTS_FIELD = "parts"
# an empty field that marks a day index whose ids follow rule 2 (alco.index.buckets)
RULE2_FIELD = "idrule2"
# an empty field ``idbits<N>`` marks a day index whose ids are in 2**N buckets, not 65,536
BITS_FIELD = "idbits"
_BITS_RE = re.compile(BITS_FIELD + "([0-9]{1,2})")
BITS_DEFAULT = 16


def bits_field(bits: int) -> tuple[str, ...]:
    """The field marking a day index of ``2 ** bits`` id buckets (none for 65,536)."""
    return () if bits == BITS_DEFAULT else (f"{BITS_FIELD}{bits}",)


# an empty field ``cv<crc><token><value attr>`` names a value common on a day index's lines
# (alco.index.commonvalues): its lines have no tag token of it and are found by ``v_<column>
# = <crc>``; a line of another value with the same CRC gets another hash there (``apart``)
COMMON_FIELD = "cv"
_COMMON_RE = re.compile(COMMON_FIELD + "([0-9a-f]{8})t([0-9a-f]{16})(v_[a-z0-9_]+)")


@dataclass(frozen=True, order=True)
class Common:
    """A value common on a day's lines: the value attribute of its column, its value hash
    and its tag token."""

    attr: str
    crc: int
    token: str

    @property
    def field(self) -> str:
        """The empty full-text field naming it in its day index's schema."""
        return f"{COMMON_FIELD}{self.crc:08x}{self.token}{self.attr}"

    @classmethod
    def of(cls, col: str, text: str) -> Common:
        return cls(value_attr(col), value_hash(text), tag_token(col, text))

    @classmethod
    def parse(cls, name: str) -> Common | None:
        m = _COMMON_RE.fullmatch(name)
        return None if m is None else cls(m.group(3), int(m.group(1), 16), "t" + m.group(2))


def apart(crc: int, taken: Collection[int]) -> int:
    """The value hash a line gets whose value shares the CRC of a day's common value
    (``taken``: those values' CRCs) without being it: the next that is none of them."""
    while crc in taken or crc == 0:
        crc = (crc + 0x9E3779B9) & 0xFFFFFFFF
    return crc


@dataclass(frozen=True)
class DayLayout:
    """What a day index was made with, as its DESCRIBE says (a day index keeps the schema it
    was made with): the line text in its ``logline`` attribute (made before the line store,
    or a shard's), the ``context`` field, the ``parts`` field (its messages' ids are indexed
    as buckets, alco.index.buckets), and the fields as sent in its ``js`` JSON attribute
    (made before the line store kept them: a day without it has a ``v_<column>`` value hash
    per ``filtered`` column instead, ``value_attr``), and its lines' times and marks in its
    ``ts`` and ``meta`` attributes (made before the line store kept them alone)."""

    keeps_text: bool
    has_context: bool
    has_parts: bool = False
    keeps_fields: bool = True
    rule2: bool = False  # its ids are buckets by rule 2 (alco.index.buckets), not rule 1
    # its ``ts`` (µs) and ``meta`` (ALCO's marks) attributes: a day made without them keeps
    # both in the line store only (the time to the millisecond is also the id's)
    keeps_times: bool = True
    # its ``fp`` is 32 bits (a uint): a line is known by its millisecond and fingerprint
    fp32: bool = False
    bucket_bits: int = BITS_DEFAULT  # its ids are in 2**bucket_bits buckets
    # the values common on its lines (``Common``): no tag token, found by their value hash
    common: frozenset[Common] = frozenset()

    @property
    def id_rule(self) -> int:
        """Which ids the day's messages have as buckets: 0 none, else rule 1 or 2."""
        return 0 if not self.has_parts else 2 if self.rule2 else 1

    @classmethod
    def of(cls, columns: set[tuple[str, str]]) -> DayLayout:
        """From (column, type) pairs.  An index that lists no field (distributed: its agents
        are shards, which keep the text) is taken to keep the text and the fields."""
        distributed = not any(t == "field" for _, t in columns)
        return cls(("logline", "string") in columns or distributed,
                   any(name == CONTEXT_FIELD for name, _ in columns),
                   (PARTS_FIELD, "field") in columns,
                   ("js", "json") in columns or distributed,
                   (RULE2_FIELD, "field") in columns,
                   ("ts", "bigint") in columns or distributed,
                   ("fp", "uint") in columns,
                   next((int(m.group(1)) for name, t in columns if t == "field"
                         if (m := _BITS_RE.fullmatch(name))), BITS_DEFAULT),
                   frozenset(cv for name, t in columns if t == "field"
                             and name.startswith(COMMON_FIELD)
                             and (cv := Common.parse(name)) is not None))

    @property
    def common_tokens(self) -> frozenset[str]:
        return frozenset(cv.token for cv in self.common)


def value_attr(col: str) -> str:
    """The uint attribute of a ``filtered`` column in a day index that keeps no ``js``: a
    hash of the line's value (``value_hash``), what facets group by."""
    return "v_" + _FIELD_RE.sub("_", col.lower())


def unhashed_field(col: str) -> str:
    """The empty full-text field that marks a ``filtered`` column a day index was made
    without a value hash for (no line of its index had the column then): its lines have the
    column's tag tokens all the same, and facets count its values from the line store."""
    return "n" + value_attr(col)


def facet_text(value: object) -> str | None:
    """A field's value as facets group and show it: text, numbers as text, objects and
    lists as JSON; None for a line without it."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value_text(value)


def value_hash(text: str | None) -> int:
    """The ``value_attr`` of a value as facets show it (text; None: the line has none): 0
    for none, else its CRC32 (1 for the values whose CRC32 is 0)."""
    if text is None:
        return 0
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) or 1


def field_hash(value: object) -> int:
    """``value_hash`` of a field's value as sent (filtered values repeat: each hashed once)."""
    if value is None:
        return 0
    if isinstance(value, dict | list):
        return value_hash(facet_text(value))
    return _cached_field_hash(value)


@functools.lru_cache(maxsize=16384, typed=True)
def _cached_field_hash(value: object) -> int:
    return value_hash(facet_text(value))


@dataclass(frozen=True)
class IndexSchema:
    """The Sphinx columns of one ALCO index."""

    name: str
    filtered: tuple[str, ...]
    indexed: tuple[str, ...]
    context: tuple[str, ...] = ()  # columns whose text words find too (tracebacks)

    @classmethod
    def of(cls, ix: IndexConfig) -> IndexSchema:
        return cls(ix.name, ix.columns_with("filtered"), ix.columns_with("indexed"),
                   ix.columns_with("context"))

    @property
    def fields(self) -> tuple[str, ...]:
        """The full-text fields: the message, tag and time tokens, ``indexed`` columns and
        the text of ``context`` columns (``CONTEXT_FIELD``, searched with the message)."""
        return ("logline", "tags", *(field_column(c) for c in self.indexed), CONTEXT_FIELD)

    def fields_with_parts(self) -> tuple[str, ...]:
        """The full-text fields of a day index made for the line store (which also has the
        empty ``RULE2_FIELD``, the mark of its ids' rule: a REPLACE leaves it out)."""
        return (*self.fields, PARTS_FIELD)

    @property
    def value_attrs(self) -> tuple[str, ...]:
        """The value hashes of the ``filtered`` columns (``value_attr``)."""
        return tuple(value_attr(c) for c in self.filtered)

    def context_text(self, fields: dict[str, object]) -> str:
        """The text of a line's ``context`` columns (``exc_info``, ``stack_trace``): the
        words of a traceback find its line as the message's do."""
        return "\n".join(text for c in self.context
                         if isinstance(text := fields.get(c), str))


Lookup = Callable[[set[int]], dict[int, int]]
"""Given milliseconds, return for each the highest counter this slot already stored."""


BORROW = 64  # milliseconds a full millisecond's lookup asks for at once (IdAllocator)


class IdAllocator:
    """Hands out unique, time-ordered ids for one writer slot (to several threads: the
    writer's lanes share it, one batch's ids at a time)."""

    def __init__(self, slot: int, cache_size: int = 50_000) -> None:
        if not 0 <= slot <= MAX_SLOT:
            raise ValueError(f"writer slot {slot} out of range 0..{MAX_SLOT}")
        self.slot = slot
        self.cache_size = cache_size
        self._next: OrderedDict[int, int] = OrderedDict()
        self._lock = threading.Lock()

    def allocate(self, ms_values: Iterable[int], lookup: Lookup) -> list[int]:
        with self._lock:
            return self._allocate(list(ms_values), lookup)

    def _allocate(self, ms_list: list[int], lookup: Lookup) -> list[int]:
        self._fill(set(ms_list), lookup)
        ids = []
        for ms in ms_list:
            counter = self._next[ms]
            while counter > max_counter(ms):  # this millisecond is full: borrow the next one
                ms += 1
                if ms not in self._next:  # (the next BORROW ms in one lookup)
                    self._fill(set(range(ms, ms + BORROW)), lookup)
                counter = self._next[ms]
            self._next[ms] = counter + 1
            ids.append(make_id(ms, self.slot, counter))
        self._trim()
        return ids

    def _fill(self, wanted: set[int], lookup: Lookup) -> None:
        misses = {ms for ms in wanted if ms not in self._next}
        if not misses:
            return
        found = lookup(misses)
        for ms in sorted(misses):
            self._next[ms] = found.get(ms, -1) + 1

    def _trim(self) -> None:
        while len(self._next) > self.cache_size:
            self._next.popitem(last=False)
