"""Line ids: 64-bit, in time order, so that a time range is an id range (pure logic, no I/O).

An id holds the millisecond of its line's time, the writer slot that stored it (a shard's
slots say which shard keeps it) and a counter within the millisecond.  Two forms, one map:

* before the cutover C (a millisecond, ``[sphinx] dense_ids_from``)::

      id = ms << 22 | slot << 16 | counter                          (16-bit counter)

* from C on (dense ids)::

      id = C << 22 + (ms - C) << 12 | slot << 6 | counter           (6-bit counter)

The map is monotone and continuous at C: every id from C on is above every id before it, so
ids keep one order across days, shards and both forms, and ``id_ms`` tells the form by
comparing with ``C << 22``.  Dense ids exist for Sphinx's doclists: each keyword's list
stores the delta from one document id to the next as a varint, and ``ms << 22`` makes a
millisecond's gap cost 4 bytes where ``ms << 12`` costs 2 (bench/layout.py, docs/ingest.md
"Ids").  A writer that fills a millisecond's 64 counters goes on with the next millisecond
(``IdAllocator``): a line's id may then say a millisecond or so later than its time, which
the line store keeps exactly.

C must be the same for every process and host of a deployment; a day index written by code
from before C's form (old-form ids after C) is refused at start (``old_form_after``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

SLOT_BITS = 6
MAX_SLOT = (1 << SLOT_BITS) - 1
OLD_COUNTER_BITS = 16
OLD_SHIFT = SLOT_BITS + OLD_COUNTER_BITS  # 22
DENSE_COUNTER_BITS = 6
DENSE_SHIFT = SLOT_BITS + DENSE_COUNTER_BITS  # 12
OLD_MAX_COUNTER = (1 << OLD_COUNTER_BITS) - 1
DENSE_MAX_COUNTER = (1 << DENSE_COUNTER_BITS) - 1
TOP_ID = (1 << 63) - 1
DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DEFAULT_DENSE_FROM = date(2026, 12, 6)

_cut = 0  # C, in ms since the epoch
_base = 0  # C << 22: the first dense id


def set_dense_from(day: date) -> None:
    """Make ids dense from ``day`` (00:00 UTC) on: the deployment's ``dense_ids_from``."""
    global _cut, _base
    _cut = day_start_ms(day)
    _base = _cut << OLD_SHIFT


def day_start_ms(day: date) -> int:
    """00:00 UTC of ``day``, in ms since the epoch."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS


def day_of_ms(ms: int) -> date:
    """The UTC day of ``ms`` (since the epoch)."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // DAY_MS)


def dense_from_ms() -> int:
    return _cut


def dense_from_day() -> date:
    return datetime.fromtimestamp(_cut / 1000, UTC).date()


set_dense_from(DEFAULT_DENSE_FROM)


def make_id(ts_ms: int, slot: int, counter: int) -> int:
    """The id of a line of ``ts_ms``, writer ``slot`` and ``counter`` (at most
    ``max_counter(ts_ms)``: a larger one would land in the bits of another slot or
    millisecond, ValueError)."""
    if ts_ms < _cut:
        if counter > OLD_MAX_COUNTER:
            raise ValueError(f"counter {counter} past {OLD_MAX_COUNTER}")
        return ts_ms << OLD_SHIFT | slot << OLD_COUNTER_BITS | counter
    if counter > DENSE_MAX_COUNTER:
        raise ValueError(f"counter {counter} past {DENSE_MAX_COUNTER}")
    return _base + ((ts_ms - _cut) << DENSE_SHIFT) | slot << DENSE_COUNTER_BITS | counter


def id_ms(doc_id: int) -> int:
    """The millisecond an id says (its line's, or a little later: ``max_counter``)."""
    if doc_id < _base:
        return doc_id >> OLD_SHIFT
    return _cut + ((doc_id - _base) >> DENSE_SHIFT)


def id_after(doc_id: int, ms: int) -> int:
    """The id ``ms`` milliseconds after ``doc_id`` (before it when negative), at the same
    place within its millisecond as far as the other one's ids reach."""
    at = id_ms(doc_id)
    offset = doc_id - make_id(at, 0, 0)
    to = make_id(at + ms, 0, 0)
    return to + min(offset, make_id(at + ms + 1, 0, 0) - to - 1)


def first_ms_from(doc_id: int) -> int:
    """The first millisecond whose ids all are at least ``doc_id``."""
    ms = id_ms(doc_id)
    return ms if make_id(ms, 0, 0) >= doc_id else ms + 1


def slot_of(doc_id: int) -> int:
    """The writer slot of a line id."""
    if doc_id < _base:
        return (doc_id >> OLD_COUNTER_BITS) & MAX_SLOT
    return (doc_id >> DENSE_COUNTER_BITS) & MAX_SLOT


def counter_of(doc_id: int) -> int:
    return doc_id & (OLD_MAX_COUNTER if doc_id < _base else DENSE_MAX_COUNTER)


def max_counter(ts_ms: int) -> int:
    """The highest counter of a millisecond's ids (past it, a writer takes the next one's)."""
    return OLD_MAX_COUNTER if ts_ms < _cut else DENSE_MAX_COUNTER


def ms_span(doc_id: int, ms: int) -> int:
    """How far apart in ids two lines ``ms`` milliseconds apart are, from ``doc_id`` on."""
    return make_id(id_ms(doc_id) + ms, 0, 0) - make_id(id_ms(doc_id), 0, 0)


def ms_sql(lo: int = 0, hi: int = TOP_ID) -> str:
    """A SphinxQL expression of the millisecond ``id_ms`` gives, for ids in [lo, hi]."""
    return _by_form(lo, hi, f"id DIV {1 << OLD_SHIFT}",
                    f"({_cut} + (id - {_base}) DIV {1 << DENSE_SHIFT})")


def slot_sql(lo: int = 0, hi: int = TOP_ID) -> str:
    """A SphinxQL expression of ``slot_of``, for ids in [lo, hi]."""
    return _by_form(lo, hi, f"(id DIV {1 << OLD_COUNTER_BITS}) MOD {MAX_SLOT + 1}",
                    f"(id DIV {1 << DENSE_COUNTER_BITS}) MOD {MAX_SLOT + 1}")


def _by_form(lo: int, hi: int, old: str, dense: str) -> str:
    """``old`` for ids [lo, hi] all of the old form, ``dense`` for all dense, else the one
    that each id's form asks for."""
    if hi < _base:
        return old
    if lo >= _base:
        return dense
    return f"IF(id < {_base}, {old}, {dense})"


def old_form_after(top_id: int, day_end_ms: int) -> bool:
    """Whether the highest id of a day index ending at ``day_end_ms`` is of the old form
    although the day is past C (written by code from before dense ids): read as a dense id,
    it says a time far past the day's end."""
    return top_id >= _base and id_ms(top_id) > day_end_ms + DAY_MS
