"""Storing records in the daily RT indexes: ids, duplicates, rows (SphinxQL via sphinxql)."""

from __future__ import annotations

import logging
import operator
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import orjson

from alco.errors import Unavailable
from alco.index import buckets, ids, sphinxql
from alco.index.flushlock import DayBusy, PastDayGuard
from alco.index.ids import counter_of, make_id, ms_sql, slot_sql
from alco.index.rowmemo import RowMemo
from alco.index.schema import (
    CONTEXT_FIELD,
    FP32,
    PARTS_FIELD,
    DayLayout,
    IdAllocator,
    IndexSchema,
    Record,
    day_index,
    day_of_index,
    day_of_us,
    field_column,
    id_ms,
    slot_of,
    unhashed_field,
    value_attr,
    value_text,
)

log = logging.getLogger("alco.store")
# how far before midnight a redelivered line is also looked for in the next day's index: a
# writer whose ids of a day's last milliseconds ran out took the next day's (``_keeping_day``);
# a second is 64,000 lines of one writer slot
EDGE_MS = 1000
DAY_US = ids.DAY_MS * 1000


@dataclass
class StoreResult:
    stored: int = 0
    ids: list[int] = field(default_factory=list)  # of the stored rows
    duplicates: int = 0
    expired: int = 0
    future: int = 0
    rejected: int = 0


@dataclass
class Planned:
    """A batch's rows with their ids, kept between attempts to store it (``DayStore.store``):
    a retry writes the same rows again (a REPLACE of the same ids is idempotent), so a batch
    keeps its ids, and the order they give its lines, whatever failed in between."""

    result: StoreResult = field(default_factory=StoreResult)
    days: list[tuple[date, str, list[list]]] | None = None  # (day, day index, rows)
    written: set[str] = field(default_factory=set)  # the day indexes stored already
    kept: set[str] = field(default_factory=set)  # the day indexes whose lines the store has


class LineKeeper(Protocol):
    """Where lines are kept before searchd gets them (alco.linestore.writing.LineWriter):
    ``put`` is durable when it returns and raises OSError or sqlite3.Error when it is not."""

    def put(self, day_index: str, lines: list[tuple[int, int, str, dict, dict]]) -> None: ...

    def ids_between(self, day_index: str, lo: int, hi: int) -> list[int]: ...

    def times_of(self, day_index: str, ids: list[int]) -> dict[int, int]: ...

    def holding(self, day_index: str, wanted: list[tuple[list[int], str, dict]]
                ) -> list[bool]: ...

    def close(self) -> None: ...


class TransientError(Unavailable):
    """Sphinx cannot take the batch right now (down, index not loaded yet): retry later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, service="searchd", transient=True)


# Sphinx decodes \u0000-\u001f in JSON strings and returns them raw (invalid JSON): store
# such control characters as their visible Unicode pictures (U+2400-U+241F) instead.
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u00([01][0-9a-fA-F])")


def json_for_sphinx(fields: dict) -> bytes:
    """The ``js`` attribute: compact JSON whose control characters are made visible."""
    data = orjson.dumps(fields)
    if b"\\u00" not in data:
        return data
    return _CONTROL_ESCAPE.sub(
        lambda m: m.group(1) + chr(0x2400 + int(m.group(2), 16)).encode(), data)


class DayStore:
    """Writes batches of records of one ALCO index into its daily RT indexes."""

    def __init__(self, sphinx: sphinxql.Sphinx, schema: IndexSchema, slot: int,
                 retention_days: int, guard: PastDayGuard | None = None,
                 ids: IdAllocator | None = None, lines: LineKeeper | None = None) -> None:
        self.sphinx = sphinx
        self.lines = lines  # the line store (alco.linestore): written before searchd
        self._layouts: dict[str, DayLayout] = {}  # day index -> what it was made with
        self._names: dict[str, frozenset[str]] = {}  # day index -> its columns (DESCRIBE)
        self._told: set[str] = set()  # day indexes whose missing columns were logged
        self.guard = guard  # announces writes to past days to compaction (alco.index.flushlock)
        self.schema = schema
        # several stores of one writer slot (one per connection) share its ids
        self.ids = ids or IdAllocator(slot)
        self.slot = slot
        self.retention_days = retention_days
        self.columns = ["id", *schema.fields_with_parts(), "js", "meta", "ts", "fp"]
        self.memo = RowMemo(schema)  # each line's tags, value hashes and time tokens
        self._days: dict[int, date] = {}  # day since the epoch -> its date (``_plan_days``)

    def store(self, records: list[Record], today: date, redelivered: bool,
              allocated: Callable[[], None] | None = None,
              planned: Planned | None = None) -> StoreResult:
        """Store records; raise TransientError when Sphinx cannot take them now.  Every id
        of the batch is allocated before the first row is written; then ``allocated()`` is
        called (a later batch may then be stored at the same time without taking ids before
        this one's).  Given the same ``planned`` again (a retry), the rows planned the first
        time are written, those of the days not stored yet."""
        planned = planned or Planned()
        try:
            if planned.days is None:  # (counted once: a plan cut short is made anew)
                result = StoreResult()
                planned.days = self._plan_days(records, today, redelivered, result)
                planned.result = result
            if allocated is not None:
                allocated()
            for day, index, rows in planned.days:
                if not rows or index in planned.written:
                    continue
                if self.lines is None:
                    self._check_text_kept(index)
                elif index not in planned.kept:
                    self._keep(index, rows)
                    planned.kept.add(index)
                if self.guard is None or day >= today:
                    self._write(index, rows, planned.result)
                else:
                    self._write_past(index, rows, planned.result)
                planned.written.add(index)
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                raise TransientError(exc.message) from exc
            raise
        return planned.result

    def _layout(self, index: str) -> DayLayout:
        """What ``index`` was made with (DESCRIBE, once per index)."""
        if index not in self._layouts:
            described = sphinxql.describe(self.sphinx, index)
            self._check_id_form(index)
            self._layouts[index] = DayLayout.of(described)
            self._names[index] = frozenset(name for name, _ in described)
        return self._layouts[index]

    def _check_id_form(self, index: str) -> None:
        """Refuse to write into a day index that holds ids of the old form past the cutover
        to dense ids (written by code from before them, or with another ``dense_ids_from``):
        its ids and the new ones would not keep one order.  The batch waits (retried)."""
        problem = id_form_problem(self.sphinx, index)
        if problem:
            raise TransientError(problem)

    def _check_text_kept(self, index: str) -> None:
        """Refuse to write lines whose text nothing would keep: a day index made for the line
        store, and this store without one."""
        if not self._layout(index).keeps_text:
            raise sphinxql.SphinxQueryError(
                f"{index} keeps its lines' text in the line store, and this DayStore has none "
                "(lines=alco.linestore.writing.keeper_for(config, ix))")

    def _keep(self, index: str, rows: list[list]) -> None:
        """The rows' lines into the line store, durably: a line is findable in searchd only
        once its text is kept.  A crash after this and before searchd has the rows leaves
        lines no id of searchd's leads to: the batch is stored again under new ids (the id
        allocator skips the ids the store holds, ``_highest_counters``).  The store keeps the
        fields too, but for a day index that keeps them in its ``js`` attribute (made before:
        its filters and facets read them there)."""
        assert self.lines is not None
        message, ts, js, meta = (self.columns.index(c) for c in ("logline", "ts", "js", "meta"))
        fields = not self._layout(index).keeps_fields
        try:
            self.lines.put(index, [(row[0], row[ts], sphinxql.visible(row[message]),
                                    row[js] if fields else {}, row[meta]) for row in rows])
        except (OSError, sqlite3.Error) as exc:
            raise TransientError(f"line store: {exc}") from exc

    def put_rows(self, index: str, rows: list[list]) -> None:
        """Rows made by ``_row`` under ids of the caller's own into ``index``, as ``store``
        writes them (the text kept in the line store first, ids as buckets where the day has
        them), without ``store``'s checks: a loader of made-up lines (bench/search.py)."""
        if self.lines is not None:
            self._keep(index, rows)
        self._replace(index, rows)

    def _write_past(self, index: str, rows: list[list], result: StoreResult) -> None:
        """Rows into a past day: not while compaction flushes its RAM chunk."""
        assert self.guard is not None
        try:
            self.guard.enter(index)
        except DayBusy as exc:
            raise TransientError(str(exc)) from None
        try:
            self._write(index, rows, result)
        finally:
            self.guard.leave(index)

    def _plan_days(self, records: list[Record], today: date, redelivered: bool,
                   result: StoreResult) -> list[tuple[date, str, list[list]]]:
        first_day = today - timedelta(days=self.retention_days - 1)
        tomorrow = today + timedelta(days=1)
        by_day: dict[date, list[Record]] = defaultdict(list)
        days = self._days
        for rec in records:
            day = days.get(rec.ts_us // DAY_US)
            if day is None:
                if len(days) > 1000:
                    days.clear()
                day = days[rec.ts_us // DAY_US] = day_of_us(rec.ts_us)
            if day < first_day:
                result.expired += 1
                continue
            if day > tomorrow:
                day = today
                result.future += 1
            by_day[day].append(rec)
        rows: dict[date, list[list]] = defaultdict(list)
        for day, recs in sorted(by_day.items()):
            later = make_id(ids.day_start_ms(day + timedelta(days=1)), 0, 0)  # (a later day's)
            for row in self._plan(day, recs, redelivered, result, tomorrow):
                rows[day if row[0] < later else
                     _keeping_day(id_ms(row[0]), day, tomorrow)].append(row)
        return [(day, day_index(self.schema.name, day), rows[day]) for day in sorted(rows)]

    def _plan(self, day: date, recs: list[Record], redelivered: bool, result: StoreResult,
              tomorrow: date) -> list[list]:
        """The rows of the lines of ``day``: those not stored yet (a redelivered batch), with
        their ids."""
        if redelivered:
            before = len(recs)
            recs = self._unstored(day, recs, tomorrow)
            result.duplicates += before - len(recs)
        if not recs:
            return []
        ids = self.ids.allocate((r.ts_us // 1000 for r in recs),
                                lambda ms: self._counters(day, tomorrow, ms))
        # (a day's common values have no tag token: alco.index.commonvalues)
        common = self._layout(day_index(self.schema.name, day)).common
        tags, hashes = self.memo.tags_and_hashes([r.fields for r in recs], common)
        return [self._row(doc_id, r, t, h)
                for doc_id, r, t, h in zip(ids, recs, tags, hashes, strict=True)]

    def _unstored(self, day: date, recs: list[Record], tomorrow: date) -> list[Record]:
        """The lines of ``recs`` (of ``day``) that are not stored yet: looked for in the day's
        index and, for those of its last second, in the next day's too (``_keeping_day``);
        those stamped at their arrival (``Record.arrival``) also in the day before's, within
        retention (a first delivery before midnight, a redelivery after: the collector was
        down over midnight; one query more, and only for a redelivered batch's such lines)."""
        groups = [(day, recs)]
        nxt = day + timedelta(days=1)
        edge_ms = ids.day_start_ms(nxt) - EDGE_MS
        late = [r for r in recs if r.ts_us // 1000 >= edge_ms]
        if late and nxt <= tomorrow:
            groups.append((nxt, late))
        arrived = [r for r in recs if r.arrival]
        before = day - timedelta(days=1)
        if arrived and before > tomorrow - timedelta(days=self.retention_days + 1):
            groups.append((before, arrived))
        stored: set[int] = set()  # (the records stored, by identity)
        for of, group in groups:
            index = day_index(self.schema.name, of)
            fp32 = self._layout(index).fp32
            key = _key(fp32)
            known = self._stored_keys(index, group, fp32)
            stored.update(id(r) for r in group if key(r) in known)
        return [r for r in recs if id(r) not in stored] if stored else recs

    def _counters(self, day: date, tomorrow: date, ms_values: set[int]) -> dict[int, int]:
        """``_highest_counters`` of milliseconds a line of ``day`` may take ids of: each
        looked up in the index that keeps its ids (``_keeping_day``: ``day``'s own for the
        milliseconds before its end)."""
        end = ids.day_start_ms(day + timedelta(days=1))
        by_index: dict[str, set[int]] = defaultdict(set)
        later = {ms for ms in ms_values if ms >= end}
        if later:
            for ms in later:
                by_index[day_index(self.schema.name,
                                   _keeping_day(ms, day, tomorrow))].add(ms)
            ms_values = ms_values - later
        if ms_values:
            by_index[day_index(self.schema.name, day)].update(ms_values)
        top: dict[int, int] = {}
        for ix, group in by_index.items():
            top.update(self._highest_counters(ix, group))
        return top

    def _write(self, index: str, rows: list[list], result: StoreResult) -> None:
        try:
            self._replace(index, rows)
            result.stored += len(rows)
            result.ids.extend(row[0] for row in rows)
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                raise
            log.warning("sphinx refused a batch for %s (%s); storing row by row", index,
                        exc.message)
            for row in rows:
                self._store_one(index, row, result)

    def _store_one(self, index: str, row: list, result: StoreResult) -> None:
        try:
            self._replace(index, [row])
            result.stored += 1
            result.ids.append(row[0])
            return
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                raise
            error = exc.message
        row = list(row)
        row[self.columns.index("js")] = {}  # what searchd refused: the fields
        row[self.columns.index("meta")] = {"rejected": error[:500]}
        row[len(self.columns)] = None  # (its value hashes: those of no fields)
        try:
            self._replace(index, [row])
            result.stored += 1
            result.ids.append(row[0])
        except sphinxql.SPHINX_ERRORS as again:
            if again.transient:
                raise
            log.error("sphinx rejected a record for %s: %s", index, error)
            result.rejected += 1

    def _row(self, doc_id: int, rec: Record, tags: str | None = None,
             hashes: tuple[int, ...] | None = None) -> list:
        """The row of a line: a value of each of ``columns``, then its ``filtered`` columns'
        value hashes (``RowMemo.hashes_of``; None: made from the ``js`` column by
        ``searchd_rows``).  ``tags``: its ``RowMemo.tags_of``, made here when None (on the
        day of its id, with that day's common values)."""
        fields = rec.fields
        if tags is None:
            day = day_index(self.schema.name, ids.day_of_ms(id_ms(doc_id)))
            tags = self.memo.tags_of([fields], self._layout(day).common)[0]
        row: list = [doc_id, rec.message, f"{tags} {self.memo.time_token(id_ms(doc_id))}"]
        for col in self.schema.indexed:
            value = fields.get(col)
            row.append("" if value is None else value_text(value))
        row += [self.schema.context_text(fields), ""]  # (the parts: made by searchd_rows)
        # (the fields as sent: searchd_rows makes them what the day index keeps of them)
        # (the marks: JSON where the day has a ``meta`` attribute, made by searchd_rows)
        row += [fields, rec.marks, rec.ts_us, rec.fp, hashes]
        return row

    def _replace(self, index: str, rows: list[list]) -> None:
        self.sphinx.replace_rows(index, *self.searchd_rows(index, rows))

    def searchd_rows(self, index: str, rows: list[list]) -> tuple[list[str], list[list]]:
        """The columns and values to REPLACE of ``rows`` (made by ``_row``) into ``index``, as
        it was made: with the ids of a day made for the line store as buckets
        (alco.index.buckets); the fields as its ``js`` attribute where it has one, else as
        the value hashes of the ``filtered`` columns; without the parts, the context field or
        the times and marks (``ts``, ``meta``) where it has none."""
        layout = self._layout(index)
        message, parts = self.columns.index("logline"), self.columns.index(PARTS_FIELD)
        js = self.columns.index("js")
        if layout.has_parts:
            indexed = [self.columns.index(field_column(c)) for c in self.schema.indexed]
            rows = [_bucketed(row, message, parts, indexed, layout.id_rule, layout.bucket_bits)
                    for row in rows]
        meta = self.columns.index("meta")
        drop = (set() if layout.has_parts else {parts}) | \
            (set() if layout.has_context else {self.columns.index(CONTEXT_FIELD)}) | \
            (set() if layout.keeps_times else {meta, self.columns.index("ts")})
        keep = [i for i in range(len(self.columns)) if i not in drop]
        columns = [self.columns[i] for i in keep]
        marks = keep.index(meta) if layout.keeps_times else None
        fp = keep.index(self.columns.index("fp")) if layout.fp32 else None
        if layout.keeps_fields:
            out = [[json_for_sphinx(row[i]) if i == js else row[i] for i in keep]
                   for row in rows]
        else:
            at = keep.index(js)
            del columns[at]
            columns += self.schema.value_attrs
            hashes = [row[len(self.columns)] for row in rows]  # (made by _row)
            if None in hashes:
                made = iter(self.memo.hashes_of([row[js] for row, h in zip(rows, hashes,
                                                                           strict=True)
                                                 if h is None], layout.common))
                hashes = [next(made) if h is None else h for h in hashes]
            take = operator.itemgetter(*(i for i in keep if i != js))  # (id, message, ...)
            out = [[*take(row), *h] for row, h in zip(rows, hashes, strict=True)]
            if marks is not None and marks > at:
                marks -= 1
            if fp is not None and fp > at:
                fp -= 1
        if marks is not None:  # (the marks as the ``meta`` attribute's JSON)
            for values in out:
                values[marks] = json_for_sphinx(values[marks]) if values[marks] else b"{}"
        if fp is not None:  # (a 32-bit fingerprint)
            for values in out:
                values[fp] &= FP32
        return self._made_with(index, columns, out)

    def _made_with(self, index: str, columns: list[str], rows: list[list]
                   ) -> tuple[list[str], list[list]]:
        """``columns`` and ``rows`` without the columns ``index`` was made without: a day
        index keeps the schema it was made with, so a column made ``filtered`` or
        ``indexed`` in the config after the day was made has no value hash or field there
        (searchd would refuse every row; the line store keeps the fields as sent, and reads
        of that day check such a column against them)."""
        names = self._names.get(index)
        absent = [i for i, c in enumerate(columns) if c != "id" and names and c not in names]
        if not absent:
            return columns, rows
        # (a value hash the day was made without on purpose, ``unhashed_field``, is no news)
        marked = {value_attr(c) for c in self.schema.filtered
                  if unhashed_field(c) in (names or ())}
        told = [columns[i] for i in absent if columns[i] not in marked]
        if told and index not in self._told:
            self._told.add(index)
            log.warning("%s was made before %s were in the config: its lines are written "
                        "without them (days made from now on have them)", index,
                        ", ".join(told))
        keep = [i for i in range(len(columns)) if i not in absent]
        return [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]

    def _stored_keys(self, index: str, recs: list[Record], fp32: bool) -> set:
        """The keys (``_key``) of the lines of ``recs`` ``index`` holds: their fingerprints,
        or on a day whose ``fp`` is 32 bits (``fp32``) their milliseconds and fingerprints
        (the line store's time where the id's is not the line's: a millisecond's ids ran out
        and the next one's were taken, alco.index.ids)."""
        pairs: list[tuple[int, int]] = []
        items = sorted({r.fp & FP32 if fp32 else r.fp for r in recs})
        for i in range(0, len(items), 1000):
            part = items[i:i + 1000]
            marks = ",".join(["%s"] * len(part))
            n = len(part) * 2
            rows = self.sphinx.query(
                f"SELECT id, fp FROM {sphinxql.ident(index)} WHERE fp IN ({marks}) "
                f"LIMIT {n} OPTION max_matches={n}", part)
            pairs += [(int(r["id"]), int(r["fp"])) for r in rows]
        wanted = {_key(fp32)(r) for r in recs}
        if not fp32:
            return {fp for _, fp in pairs if fp in wanted}
        found = {(id_ms(i), fp) for i, fp in pairs}
        later = [i for i, fp in pairs if (id_ms(i), fp) not in wanted]
        if later and self.lines is not None:
            try:
                times = self.lines.times_of(index, later)
            except (OSError, sqlite3.Error) as exc:
                raise TransientError(f"line store: {exc}") from exc
            found.update((times[i] // 1000, fp) for i, fp in pairs if i in times)
        found &= wanted
        return found | self._same_lines(index, [r for r in recs if r.arrival], pairs, found)

    def _same_lines(self, index: str, recs: list[Record], pairs: list[tuple[int, int]],
                    found: set) -> set:
        """The keys of the lines of ``recs`` stamped at their arrival (``Record.arrival``)
        that ``index`` holds at another millisecond: a redelivery arrived later than the
        first delivery.  Such a line is the stored one whose 32 fingerprint bits and text
        (message and fields, read from the line store: ``holding``) are its own, as a whole
        fingerprint tells it on other days."""
        key = _key(True)
        recs = [r for r in recs if key(r) not in found]
        if not recs or self.lines is None:
            return set()
        by_fp: dict[int, list[int]] = defaultdict(list)
        for doc_id, fp in pairs:
            by_fp[fp].append(doc_id)
        try:
            held = self.lines.holding(
                index, [(by_fp.get(r.fp & FP32, []), r.message, r.fields) for r in recs])
        except (OSError, sqlite3.Error) as exc:
            raise TransientError(f"line store: {exc}") from exc
        return {key(r) for r, kept in zip(recs, held, strict=True) if kept}

    def _highest_counters(self, index: str, ms_values: set[int]) -> dict[int, int]:
        """For each millisecond, the highest counter this slot already used in ``index``:
        stored in searchd, or kept in the line store by a batch that never reached searchd
        (a crash between the two: its ids must not be given to other lines)."""
        lo = make_id(min(ms_values), self.slot, 0)
        hi = make_id(max(ms_values) + 1, 0, 0) - 1
        n = 100_000
        rows = self.sphinx.query(
            f"SELECT {ms_sql(lo, hi)} AS ms, MAX(id) AS top, {slot_sql(lo, hi)} AS slot "
            f"FROM {sphinxql.ident(index)} WHERE id BETWEEN %s AND %s AND slot = %s "
            f"GROUP BY ms LIMIT {n} OPTION max_matches={n}", (lo, hi, self.slot))
        top = {int(r["ms"]): counter_of(int(r["top"])) for r in rows
               if int(r["ms"]) in ms_values}
        if self.lines is not None:
            for a, b in _ms_groups(sorted(ms_values)):
                kept = self._kept_ids(index, make_id(a, self.slot, 0),
                                      make_id(b + 1, 0, 0) - 1)
                for doc_id in kept:
                    ms = id_ms(doc_id)
                    if slot_of(doc_id) == self.slot and ms in ms_values:
                        top[ms] = max(top.get(ms, -1), counter_of(doc_id))
        return top

    def _kept_ids(self, index: str, lo: int, hi: int) -> list[int]:
        assert self.lines is not None
        try:
            return self.lines.ids_between(index, lo, hi)
        except (OSError, sqlite3.Error) as exc:
            raise TransientError(f"line store: {exc}") from exc


def _keeping_day(ms: int, day: date, tomorrow: date) -> date:
    """The day whose index and day file keep a line of ``day`` whose id says ``ms``: the
    id's, when a millisecond's ids ran out at the end of ``day`` and the line took those of
    the next day's first milliseconds (alco.index.ids), so that its day index and day file
    are those its id says, as for every other line; else ``day`` (a line dated after
    tomorrow is kept in today's)."""
    of_id = ids.day_of_ms(ms)
    return of_id if day < of_id <= tomorrow else day


def _ms_groups(ms: list[int], gap: int = 10_000) -> list[tuple[int, int]]:
    """Sorted milliseconds as ranges without gaps of ``gap`` or more (a late batch spread
    over hours is looked up a few seconds at a time, not as one range)."""
    out: list[tuple[int, int]] = []
    for m in ms:
        if out and m - out[-1][1] < gap:
            out[-1] = (out[-1][0], m)
        else:
            out.append((m, m))
    return out


def day_indexes(sphinx: sphinxql.Sphinx, name: str) -> list[str]:
    """The daily RT indexes of ALCO index ``name`` that searchd serves, oldest first."""
    pattern = re.compile(rf"^{re.escape(name)}_\d{{8}}$")
    return sorted(ix for ix in sphinx.indexes() if pattern.match(ix))


def iter_stored(sphinx: sphinxql.Sphinx, index: str, page: int = 1000,
                lines: FieldSource | None = None) -> Iterator[tuple[int, dict]]:
    """Every record of one daily index as ``(ts_us, fields)``, in id order, a page at a time:
    the fields (and the time) from its ``js`` (``ts``) attribute or, for a day that keeps them
    in the line store, from ``lines`` (a record the store does not hold: no fields, the
    time of its id)."""
    name = index.rsplit("_", 1)[0]
    layout = DayLayout.of(sphinxql.describe(sphinx, index))
    in_js, times = layout.keeps_fields, layout.keeps_times
    if not (in_js and times) and lines is None:
        raise ValueError(f"{index} keeps its fields or times in the line store: pass lines=")
    last = 0
    while True:
        rows = sphinx.query(
            f"SELECT id{', ts' if times else ''}{', js' if in_js else ''} "
            f"FROM {sphinxql.ident(index)} "
            f"WHERE id > %s ORDER BY id ASC LIMIT {int(page)} OPTION max_matches={int(page)}",
            (last,))
        kept = {} if (in_js and times) or lines is None else \
            lines.fetch(name, [int(r["id"]) for r in rows], [index])
        for row in rows:
            doc_id = int(row["id"])
            entry = kept.get(doc_id)
            fields = _loads(row["js"]) if in_js else entry.fields if entry is not None else {}
            ts = int(row["ts"]) if times else entry.ts_us if entry is not None else \
                id_ms(doc_id) * 1000
            yield ts, fields
        if len(rows) < page:
            return
        last = int(rows[-1]["id"])


def _loads(js: str | bytes | None) -> dict:
    try:
        fields = orjson.loads(js or "{}")
    except orjson.JSONDecodeError:
        return {}
    return fields if isinstance(fields, dict) else {}


class FieldSource(Protocol):
    """Where the fields of a day that keeps them in the line store are read
    (alco.linestore.reading.LineReader)."""

    def fetch(self, name: str, ids: list[int], indexes: list[str] = ()) -> dict: ...


def id_form_problem(sphinx: sphinxql.Sphinx, index: str) -> str | None:
    """What is wrong when the day index ``index`` holds ids of another form than the map
    gives its day (alco.index.ids: written by code from before dense or narrow ids, or with
    other cutovers), else None."""
    day = day_of_index(index)
    if day is None:
        return None
    end_ms = ids.day_start_ms(day) + ids.DAY_MS
    if end_ms <= ids.dense_from_ms():
        return None
    rows = sphinx.query(f"SELECT id FROM {sphinxql.ident(index)} ORDER BY id DESC LIMIT 1")
    if not rows or not ids.misread_after(int(rows[0]["id"]), end_ms):
        return None
    narrow = [(d, bits) for d, bits in ids.narrow_forms() if d <= day]
    if not narrow:
        return (f"{index} holds ids of the form from before dense ids, which [sphinx] "
                f"dense_ids_from ({ids.dense_from_day()}) says its day has: set "
                f"dense_ids_from to a day after {day} in the config of every ALCO process "
                "of the deployment")
    since, bits = narrow[-1]
    return (f"{index} holds ids of another form than the {bits}-bit writer slots [sphinx] "
            f"slot_bits says its day has (\"{since}:{bits}\"; written by ALCO from before "
            f"them, or with other slot_bits): move that entry's day after {day} in the "
            "config of every ALCO process of the deployment")


def _key(fp32: bool) -> Callable[[Record], object]:
    """What tells a stored line from another in a day index: its fingerprint, or where the
    day keeps 32 bits of it, its millisecond (the id's) and those 32 bits (two lines of one
    millisecond share them once in 4 billion)."""
    if fp32:
        return lambda r: (r.ts_us // 1000, r.fp & FP32)
    return lambda r: r.fp


def _bucketed(row: list, message: int, parts: int, indexed: list[int], rule: int,
              bits: int) -> list:
    """A row with the ids (by ``rule``) of its message and ``indexed`` columns as buckets
    (of ``2 ** bits``), and the letters of the message's in the parts field."""
    row = list(row)
    row[message], row[parts] = buckets.index_text(row[message], rule, bits)
    for i in indexed:
        row[i] = buckets.index_text(row[i], rule, bits)[0]
    return row
