"""Line ids: 64-bit, in time order, so that a time range is an id range (pure logic, no I/O).

An id holds the millisecond of its line's time, the writer slot that stored it (a shard's
slots say which shard keeps it) and a counter within the millisecond.  Three forms, one map,
each from its cutover on (a UTC day's first millisecond, the same in every process and host
of a deployment):

* old, before C1 (``[sphinx] dense_ids_from``)::

      id = ms << 22 | slot << 16 | counter                     (6-bit slot, 16-bit counter)

* dense, from C1 on::

      id = B1 + (ms - C1) << 12 | slot << 6 | counter          (6-bit slot, 6-bit counter)

* narrow, from C2 on (``[sphinx] slot_bits``: from 2026-12-08, S = 2 bits)::

      id = B2 + (ms - C2) << (S + 6) | slot << 6 | counter      (S-bit slot, 6-bit counter)

  and so on for each later day the deployment gives its slots another width (C3, B3, ...),

where each form's first id B is the id the form before gives its cutover's millisecond
(``C1 << 22``; ``B1 + (C2 - C1) << 12``).  The map is monotone and continuous at each
cutover: every id of a form is above every id of the forms before, so ids keep one order
across days, shards and forms, and ``id_ms`` tells the form by comparing with the bases.
The forms exist for Sphinx's doclists: each keyword's list stores the delta from one document
id to the next as a varint, and the spare bits of a millisecond (the slots no writer has, the
counters no millisecond fills) are paid in every delta: ``ms << 22`` makes a millisecond's
gap cost 4 bytes where ``ms << 12`` costs 2, and a deployment of four writer slots needs no
more than ``ms << 8`` (bench/tokens.py, bench/layout.py, docs/ingest.md "Ids").  A writer
that fills a millisecond's 64 counters goes on with the next millisecond (``IdAllocator``): a
line's id may then say a millisecond or so later than its time, which the line store keeps
exactly.

A day index written with another map (by code from before a form, or with other cutovers)
is refused at start (``misread_after``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

SLOT_BITS = 6  # the widest a slot is (the old and dense forms)
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
DEFAULT_NARROW_FROM = date(2026, 12, 8)
NARROW_SLOT_BITS = 2  # writer slots of a deployment by default: 4 (``[sphinx] slot_bits``)


class Form:
    """One form of the map: from millisecond ``cut`` on, ids from ``base`` up."""

    __slots__ = ("cut", "base", "slot_bits", "counter_bits", "shift", "max_slot",
                 "max_counter")

    def __init__(self, cut: int, base: int, slot_bits: int, counter_bits: int) -> None:
        self.cut, self.base = cut, base
        self.slot_bits, self.counter_bits = slot_bits, counter_bits
        self.shift = slot_bits + counter_bits
        self.max_slot = (1 << slot_bits) - 1
        self.max_counter = (1 << counter_bits) - 1

    def make(self, ms: int, slot: int, counter: int) -> int:
        return self.base + ((ms - self.cut) << self.shift) | slot << self.counter_bits | counter

    def ms_of(self, doc_id: int) -> int:
        return self.cut + ((doc_id - self.base) >> self.shift)

    def ms_sql(self) -> str:
        if not self.base:
            return f"id DIV {1 << self.shift}"
        return f"({self.cut} + (id - {self.base}) DIV {1 << self.shift})"

    def slot_sql(self) -> str:
        # (every base is a multiple of its form's 1 << shift: the slot is the same bits)
        return f"(id DIV {1 << self.counter_bits}) MOD {1 << self.slot_bits}"


_forms: tuple[Form, ...] = ()
_bases: list[int] = []  # each form's base, in order
_newest_first: tuple[Form, ...] = ()  # (what the lookups by id walk: most ids are the newest's)
# the newest form's numbers, for the readers' hottest calls (``id_ms``, ``slot_of``)
_top_base = _top_cut = _top_shift = _top_counter_bits = _top_max_slot = 0


def set_forms(dense_from: date,
              narrow: Sequence[tuple[date, int]] = ((DEFAULT_NARROW_FROM, NARROW_SLOT_BITS),)
              ) -> None:
    """The deployment's map: dense ids from ``dense_from`` (00:00 UTC) on, then from each
    day of ``narrow`` (in order) ids whose writer slots have that many bits.  ValueError
    when a day is before the one before it or the bits are not 0-6."""
    global _forms, _bases, _newest_first
    global _top_base, _top_cut, _top_shift, _top_counter_bits, _top_max_slot
    old = Form(0, 0, SLOT_BITS, OLD_COUNTER_BITS)
    cut = day_start_ms(dense_from)
    forms = [old, Form(cut, old.make(cut, 0, 0), SLOT_BITS, DENSE_COUNTER_BITS)]
    for day, bits in narrow:
        if not 0 <= bits <= SLOT_BITS:
            raise ValueError(f"{bits}-bit writer slots from {day}: 0-{SLOT_BITS} bits")
        cut = day_start_ms(day)
        if cut < forms[-1].cut:
            raise ValueError(f"writer slots of {bits} bits from {day}, before the form "
                             f"before it ({day_of_ms(forms[-1].cut)})")
        forms.append(Form(cut, forms[-1].make(cut, 0, 0), bits, DENSE_COUNTER_BITS))
    _forms = tuple(forms)
    _bases = [f.base for f in forms]
    _newest_first = tuple(reversed(forms))
    top = forms[-1]
    _top_base, _top_cut, _top_shift = top.base, top.cut, top.shift
    _top_counter_bits, _top_max_slot = top.counter_bits, top.max_slot


def narrow_forms() -> tuple[tuple[date, int], ...]:
    """The days from which ids have narrow writer slots, and their bits (``set_forms``)."""
    return tuple((day_of_ms(f.cut), f.slot_bits) for f in _forms[2:])


def set_dense_from(day: date) -> None:
    """Dense ids from ``day`` on, the narrow forms from as late as the map had them (and not
    before ``day``): what a test of the dense cutover alone sets."""
    set_forms(day, [(max(day, d), bits) for d, bits in narrow_forms()])


def day_start_ms(day: date) -> int:
    """00:00 UTC of ``day``, in ms since the epoch."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS


def day_of_ms(ms: int) -> date:
    """The UTC day of ``ms`` (since the epoch)."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // DAY_MS)


def dense_from_ms() -> int:
    return _forms[1].cut


def dense_from_day() -> date:
    return datetime.fromtimestamp(_forms[1].cut / 1000, UTC).date()


def slot_bits_from(ms: int) -> int:
    """How many bits a writer slot has in the ids of millisecond ``ms``."""
    return _form_of_ms(ms).slot_bits


set_forms(DEFAULT_DENSE_FROM)


def _form_of_ms(ms: int) -> Form:
    for form in _newest_first:
        if ms >= form.cut:
            return form
    return _forms[0]


def _index_of_id(doc_id: int) -> int:
    """Which of ``_forms`` an id is of (the newest whose base it reaches)."""
    for n in range(len(_bases) - 1, 0, -1):
        if doc_id >= _bases[n]:
            return n
    return 0


def _form_of_id(doc_id: int) -> Form:
    return _forms[_index_of_id(doc_id)]


def make_id(ts_ms: int, slot: int, counter: int) -> int:
    """The id of a line of ``ts_ms``, writer ``slot`` and ``counter`` (at most
    ``max_counter(ts_ms)``: a larger one would land in the bits of another slot or
    millisecond, ValueError; so would a slot past the form's)."""
    form = _form_of_ms(ts_ms)
    if counter > form.max_counter:
        raise ValueError(f"counter {counter} past {form.max_counter}")
    if slot > form.max_slot:
        raise ValueError(f"writer slot {slot} past {form.max_slot} (ids of "
                         f"{day_of_ms(ts_ms)} have {form.slot_bits}-bit slots: "
                         "[sphinx] slot_bits)")
    return form.make(ts_ms, slot, counter)


def id_ms(doc_id: int) -> int:
    """The millisecond an id says (its line's, or a little later: ``max_counter``)."""
    if doc_id >= _top_base:  # (the readers' hottest call: most ids are the newest form's)
        return _top_cut + ((doc_id - _top_base) >> _top_shift)
    form = _form_of_id(doc_id)
    return form.cut + ((doc_id - form.base) >> form.shift)


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
    if doc_id >= _top_base:
        return (doc_id >> _top_counter_bits) & _top_max_slot
    form = _form_of_id(doc_id)
    return (doc_id >> form.counter_bits) & form.max_slot


def counter_of(doc_id: int) -> int:
    return doc_id & _form_of_id(doc_id).max_counter


def max_counter(ts_ms: int) -> int:
    """The highest counter of a millisecond's ids (past it, a writer takes the next one's)."""
    return _form_of_ms(ts_ms).max_counter


def ms_span(doc_id: int, ms: int) -> int:
    """How far apart in ids two lines ``ms`` milliseconds apart are, from ``doc_id`` on."""
    return make_id(id_ms(doc_id) + ms, 0, 0) - make_id(id_ms(doc_id), 0, 0)


def ms_sql(lo: int = 0, hi: int = TOP_ID) -> str:
    """A SphinxQL expression of the millisecond ``id_ms`` gives, for ids in [lo, hi]."""
    return _by_form(lo, hi, Form.ms_sql)


def slot_sql(lo: int = 0, hi: int = TOP_ID) -> str:
    """A SphinxQL expression of ``slot_of``, for ids in [lo, hi]."""
    return _by_form(lo, hi, Form.slot_sql)


def _by_form(lo: int, hi: int, expr: Callable[[Form], str]) -> str:
    """``expr`` of the form of ids [lo, hi] when they are all of one, else the one that each
    id's form asks for (``IF(id < base, ...)``, nested)."""
    first, last = _index_of_id(lo), _index_of_id(hi)
    out = expr(_forms[last])
    for n in range(last - 1, first - 1, -1):
        out = f"IF(id < {_bases[n + 1]}, {expr(_forms[n])}, {out})"
    return out


def misread_after(top_id: int, day_end_ms: int) -> bool:
    """Whether the highest id of a day index ending at ``day_end_ms`` says a time past the
    day after it: written with another map (by code from before the day's form, or with
    other cutovers), whose ids this map reads as far later than they are."""
    return top_id >= _forms[1].base and id_ms(top_id) > day_end_ms + DAY_MS
