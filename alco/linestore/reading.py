"""Fetching lines from the line store by id, a page at a time (the web app's side)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import zstandard

from alco.index.schema import day_index, day_of_us, id_ms
from alco.linestore.blocks import MAX_SPAN, Decoded, Entry, decode
from alco.linestore.daydb import DayFile, day_dir

OPEN_DAYS = 64  # day files kept open
CACHED_BLOCKS = 512  # decoded blocks kept (a page read twice, paging back and forth)
GAP = MAX_SPAN  # ids further apart than this are looked up in queries of their own


class LineReader:
    """Lines of an ALCO index's days by id.  Thread-safe: one lock around the lookups."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._lock = threading.Lock()
        self._days: OrderedDict[str, DayFile] = OrderedDict()
        self._blocks: OrderedDict[tuple[str, int], Decoded] = OrderedDict()
        self._zdicts: dict[tuple[str, int], zstandard.ZstdCompressionDict] = {}

    def fetch(self, name: str, ids: list[int], indexes: list[str] = ()) -> dict[int, Entry]:
        """The lines of ALCO index ``name`` among ``ids`` that the store holds.  An id is
        looked for in the day of its time, then in ``indexes`` (the day indexes read: a line
        dated after tomorrow is kept in the day it arrived)."""
        by_day: dict[str, list[int]] = {}
        for doc_id in sorted(set(ids)):
            by_day.setdefault(day_index(name, day_of_us(id_ms(doc_id) * 1000)), []).append(doc_id)
        found: dict[int, Entry] = {}
        with self._lock:
            for day, wanted in by_day.items():
                found.update(self._fetch_day(day, wanted))
            rest = [i for i in ids if i not in found]
            for day in indexes:
                if not rest:
                    break
                if day not in by_day:
                    found.update(self._fetch_day(day, rest))
                    rest = [i for i in rest if i not in found]
        return found

    def has_day(self, day: str) -> bool:
        return self._day(day) is not None

    def _fetch_day(self, day: str, ids: list[int]) -> dict[int, Entry]:
        """Lines of one day file: the blocks that hold a wanted id (by their id range) are
        read and decoded, no others."""
        db = self._day(day)
        if db is None:
            return {}
        found: dict[int, Entry] = {}
        for lo, hi in _groups(ids):
            wanted = [i for i in ids if lo <= i <= hi]
            for rowid, first, last, dict_id in db.heads(lo, hi):
                if not any(first <= i <= last for i in wanted):
                    continue
                block = self._decoded(day, db, rowid, dict_id)
                for doc_id in wanted:
                    entry = block.get(doc_id)
                    if entry is not None:
                        found[doc_id] = entry
        return found

    def _decoded(self, day: str, db: DayFile, rowid: int, dict_id: int) -> Decoded:
        key = (day, rowid)
        block = self._blocks.get(key)
        if block is not None:
            self._blocks.move_to_end(key)
            return block
        zdict = self._zdict(day, db, dict_id) if dict_id else None
        block = decode(db.data(rowid), zdict)
        self._blocks[key] = block
        if len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return block

    def _zdict(self, day: str, db: DayFile, dict_id: int) -> zstandard.ZstdCompressionDict:
        key = (day, dict_id)
        if key not in self._zdicts:
            data = db.zdict(dict_id)
            if data is None:
                raise LookupError(f"line store {db.path}: dictionary {dict_id} missing")
            self._zdicts[key] = zstandard.ZstdCompressionDict(data)
        return self._zdicts[key]

    def _day(self, day: str) -> DayFile | None:
        db = self._days.get(day)
        if db is not None:
            if db.path.exists():
                self._days.move_to_end(day)
                return db
            self._forget(day)
        try:
            db = DayFile(day_dir(self.data_dir, day), create=False)
        except FileNotFoundError:
            return None
        self._days[day] = db
        if len(self._days) > OPEN_DAYS:
            self._forget(next(iter(self._days)))
        return db

    def _forget(self, day: str) -> None:
        self._days.pop(day).close()
        for key in [k for k in self._blocks if k[0] == day]:
            del self._blocks[key]
        for key in [k for k in self._zdicts if k[0] == day]:
            del self._zdicts[key]


def _groups(ids: list[int]) -> list[tuple[int, int]]:
    """Sorted ids as ranges narrower than GAP (one look at the index each)."""
    out: list[tuple[int, int]] = []
    for doc_id in ids:
        if out and doc_id - out[-1][0] < GAP:
            out[-1] = (out[-1][0], doc_id)
        else:
            out.append((doc_id, doc_id))
    return out
