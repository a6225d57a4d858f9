"""Fetching lines from the line store by id, a page at a time (the web app's side)."""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import compress
from pathlib import Path

import zstandard

from alco.index.ids import DAY_MS, day_of_ms, id_ms, ms_span
from alco.index.schema import day_index, slot_of
from alco.linestore.blocks import (
    BLOCK_LINES,
    SPAN_MS,
    Brief,
    Decoded,
    Entry,
    decode,
    runs,
    span_end,
)
from alco.linestore.daydb import DayFile, day_dir
from alco.linestore.heads import HEAD_DAYS, LOAD_SHARE, Heads

EARLY_MS = 1000  # ids this close after midnight may be of a line of the day before
SCAN_HEADS = 64  # blocks a scan looks up at a time
OPEN_DAYS = 64  # day files kept open
CACHED_BLOCKS = 1024  # decoded blocks kept (a page read twice, paging back and forth)
# ids further apart than this many blocks are looked up in queries of their own (a query costs
# about as much as reading 30 heads more)
GAP_BLOCKS = 30
DENSITY_S = 60.0  # how long a day file's blocks per ms (its ids' density) is kept
# blocks ending past a range's last id that a lookup takes before it looks at every block
# that may hold the range (DayFile.heads_first: a few writers' blocks interleave)
EXTRA_HEADS = 8


class LineReader:
    """Lines of an ALCO index's days by id.  Thread-safe: one lock around the lookups."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._lock = threading.Lock()
        self._days: OrderedDict[str, DayFile] = OrderedDict()
        self._blocks: OrderedDict[tuple[str, int], Decoded] = OrderedDict()
        self._zdicts: dict[tuple[str, int], zstandard.ZstdDecompressor] = {}
        self._density: dict[str, tuple[float, float]] = {}  # day -> (when, blocks per ms)
        self._heads: OrderedDict[str, Heads] = OrderedDict()
        self._spent: dict[str, int] = {}  # lookups of a day's blocks in SQLite

    def fetch(self, name: str, ids: list[int], indexes: list[str] = ()) -> dict[int, Entry]:
        """The lines of ALCO index ``name`` among ``ids`` that the store holds.  An id is
        looked for in the day of its time, then in ``indexes`` (the day indexes read: a line
        dated after tomorrow is kept in the day it arrived)."""
        return self._find(name, ids, indexes, Decoded.get)

    def briefs(self, name: str, ids: list[int], indexes: list[str] = ()) -> dict[int, Brief]:
        """Only the times, messages and marks of ``fetch``'s lines (what a read needs of the
        store: their fields are left compressed)."""
        return self._find(name, ids, indexes, Decoded.brief)

    def _find(self, name: str, ids: list[int], indexes: list[str], pick: Callable) -> dict:
        by_day: dict[int, list[int]] = {}
        for doc_id in sorted(set(ids)):
            by_day.setdefault(id_ms(doc_id) // DAY_MS, []).append(doc_id)
        found: dict = {}
        chunks = [1]  # chunks of a day's heads this lookup may read (alco.linestore.heads)
        with self._lock:
            days = []
            for day_no, wanted in by_day.items():
                day = day_index(name, day_of_ms(day_no * DAY_MS))
                days.append(day)
                found.update(self._fetch_day(day, wanted, pick, chunks))
            rest = sorted(i for i in set(ids) if i not in found)
            for day in indexes:
                if not rest:
                    break
                if day not in days:
                    found.update(self._fetch_day(day, rest, pick, chunks))
                    rest = [i for i in rest if i not in found]
            # a line of a day's last millisecond whose id is of the next day's first ones (a
            # writer that used that millisecond's ids takes the next one's, alco.index.ids)
            # was kept in its own day's file until writers kept it in the id's day
            # (alco.index.daystore._keeping_day)
            day_before: dict[int, list[int]] = {}
            for doc_id in rest:
                day_no, ms = divmod(id_ms(doc_id), DAY_MS)
                if ms < EARLY_MS:
                    day_before.setdefault(day_no - 1, []).append(doc_id)
            for day_no, wanted in day_before.items():
                found.update(self._fetch_day(day_index(name, day_of_ms(day_no * DAY_MS)),
                                             wanted, pick, chunks))
        return found

    def scan_matching(self, days: list[str], lo: int, hi: int, upward: bool, limit: int,
                      keep: Callable[[list[str], list[dict] | None], list[bool]],
                      fields: bool = False
                      ) -> tuple[list[tuple[int, int, str, dict | None]], int, int | None]:
        """The first ``limit`` lines with ids in [lo, hi] in the direction read, from the day
        files ``days`` (oldest first), checked as they are read: ``keep`` is given the
        messages (and, with ``fields``, the fields) of a page of blocks at a time (one
        pattern pass over many lines) and only the lines it keeps are made.  Returns those
        lines (id, time, message, fields or None, in the direction read), how many lines were
        read (at most ``limit``) and, when ``limit``
        were, the last one's id.  Blocks are taken in the order of their last id; a block's
        ids span less than SPAN_MS, so once ``limit`` lines are read, blocks ending past
        ``span_end`` of the limit-th are not.  Lines of a batch kept here whose rows never
        reached searchd (a crash between the two) are among them: the caller checks what it
        keeps against searchd."""
        seen: list[int] = []  # the id of every line read
        kept: dict[int, tuple[int, int, str, dict | None]] = {}
        with self._lock:
            for day in days if upward else days[::-1]:
                db = self._day(day)
                if db is None:
                    continue
                self._scan_checked(day, db, lo, hi, upward, limit, keep, fields, seen, kept)
                if len(seen) >= limit:
                    break
        last = None
        if len(seen) >= limit:
            seen.sort(reverse=not upward)
            last = seen[limit - 1]
        inside = (lambda i: i <= last) if upward else (lambda i: i >= last)  # noqa: E731
        ids = sorted((i for i in kept if last is None or inside(i)), reverse=not upward)
        return [kept[i] for i in ids], min(len(seen), limit), last

    def _scan_checked(self, day: str, db: DayFile, lo: int, hi: int, upward: bool,
                      limit: int, keep: Callable[[list[str], list[dict] | None], list[bool]],
                      fields: bool, seen: list[int],
                      kept: dict[int, tuple[int, int, str, dict | None]]) -> None:
        offset, edge = 0, None  # edge: the limit-th id read, as of the last page of blocks
        while True:
            # a page of blocks as many as should hold the lines left to read (and a few more:
            # blocks of other slots interleave), SCAN_HEADS at most
            size = min(SCAN_HEADS, max(0, limit - len(seen)) // BLOCK_LINES + 4)
            heads = db.heads_in_order(lo, hi, upward, offset, size)
            ids: list[int] = []
            times: list[int] = []  # offsets from the time of their block in bases
            bases: list[int] = []
            messages: list[str] = []
            values: list[dict] = []
            for rowid, _, last, dict_id, data in heads:
                if edge is not None and ((last >= span_end(edge)) if upward else last < edge):
                    heads = []
                    break
                # (read once: decoded, not kept, so the blocks lookups use stay in the cache)
                block = self._blocks.get((day, rowid)) or decode(
                    data, dctx=self._dctx(day, db, dict_id))
                i, t0, t, m = block.scan(lo, hi)
                ids += i
                times += t
                bases += [t0] * len(t)
                messages += m
                if fields:
                    values += block.fields(lo, hi)
            seen += ids
            for n in compress(range(len(ids)), keep(messages, values if fields else None)):
                kept[ids[n]] = (ids[n], bases[n] + times[n], messages[n],
                                values[n] if fields else None)
            if len(heads) < size:
                return
            offset += size
            if len(seen) >= limit:
                edge = sorted(seen, reverse=not upward)[limit - 1]

    def has_day(self, day: str) -> bool:
        return self._day(day) is not None

    def _fetch_day(self, day: str, ids: list[int], pick: Callable, chunks: list[int]) -> dict:
        """Lines of one day file (``ids`` sorted): the blocks that hold a wanted id (by their
        id range) are read and decoded, no others."""
        db = self._day(day)
        if db is None:
            return {}
        found: dict = {}
        density = self._blocks_per_ms(day, db)
        gap = int(min(max(GAP_BLOCKS / density, 1), SPAN_MS) if density else SPAN_MS)
        spans = list(runs(ids, ms_span(ids[0], gap)))
        known: DayFile | Heads = self._heads_of(day, db, len(spans), chunks) or db
        looked: list[tuple[list[tuple], list[int]]] = []  # (heads, the ids they may hold)
        for lo, hi in spans:
            wanted = ids[bisect.bisect_left(ids, lo):bisect.bisect_right(ids, hi)]
            looked.append((known.heads_first(lo, hi, EXTRA_HEADS,
                                             int((id_ms(hi) - id_ms(lo)) * density)), wanted))
        self._take(day, db, looked, pick, found)
        again = []
        for _, wanted in looked:
            missing = [i for i in wanted if i not in found]
            if missing:  # (a block of a writer that stayed open while others wrote)
                again.append((db.heads(missing[0], missing[-1]), missing))
        if again:
            self._take(day, db, again, pick, found)
        return found

    def _take(self, day: str, db: DayFile, looked: list[tuple[list[tuple], list[int]]],
              pick: Callable, found: dict) -> None:
        """Put in ``found`` what ``pick`` gives of the ids (sorted) in the blocks of each pair
        of ``looked``: (heads (rowid, min_id, max_id), ids).  The blocks that hold one are
        read in one query (DATA_PAGE blocks a query)."""
        wanted = []
        for heads, ids in looked:
            slots = None  # each id's writer slot, once one of the heads meets an id
            for head in heads:
                first = head[1]
                a = bisect.bisect_left(ids, first)
                b = bisect.bisect_right(ids, head[2], a)
                if a == b:
                    continue
                if slots is None:
                    slots = list(map(slot_of, ids))
                slot = slot_of(first)  # (a block holds one writer slot's lines: blocks.cut)
                inside = [ids[n] for n in range(a, b) if slots[n] == slot]
                if inside:
                    wanted.append((head, inside))
        # the data of the blocks not cached
        data = db.data_of(list(dict.fromkeys(
            head[0] for head, _ in wanted if (day, head[0]) not in self._blocks)))
        for head, inside in wanted:
            block = self._decoded(day, db, head[0], data.get(head[0]))
            for doc_id in inside:
                got = pick(block, doc_id)
                if got is not None:
                    found[doc_id] = got

    def _heads_of(self, day: str, db: DayFile, spans: int, chunks: list[int]) -> Heads | None:
        """The day's heads in memory, as of now, when they are whole (alco.linestore.heads:
        read once the day's SQLite lookups add up to LOAD_SHARE of its blocks, ``spans`` of
        them now, a chunk a lookup while ``chunks`` has one, HEAD_DAYS days kept); None: look
        up in SQLite."""
        heads = self._heads.get(day)
        if heads is not None and heads.whole:
            self._heads.move_to_end(day)
            heads.refresh(db)
            return heads
        if heads is None:
            spent = self._spent[day] = self._spent.get(day, 0) + spans
            if spent < LOAD_SHARE * db.last_rowid():
                return None
            heads = self._heads[day] = Heads()
            if len(self._heads) > HEAD_DAYS:
                self._heads.popitem(last=False)
        if chunks[0] <= 0:
            return None
        chunks[0] -= 1
        return heads if heads.load(db) else None

    def _blocks_per_ms(self, day: str, db: DayFile) -> float:
        """How dense the day's blocks are (DayFile.blocks_per_ms, kept DENSITY_S): ids are
        looked up together up to GAP_BLOCKS blocks apart (at 13,000 lines/s, ~150 ms)."""
        kept = self._density.get(day)
        now = time.monotonic()
        if kept is None or now - kept[0] > DENSITY_S:
            kept = self._density[day] = (now, db.blocks_per_ms())
        return kept[1]

    def _decoded(self, day: str, db: DayFile, rowid: int,
                 data: tuple[int, bytes] | None) -> Decoded:
        """Block ``rowid`` of ``day``: the one cached, else decoded from ``data`` (its
        dictionary and bytes, ``DayFile.data_of``)."""
        key = (day, rowid)
        block = self._blocks.get(key)
        if block is not None:
            self._blocks.move_to_end(key)
            return block
        if data is None:  # (dropped from the cache since: read again)
            data = db.data_of([rowid])[rowid]
        block = decode(data[1], dctx=self._dctx(day, db, data[0]))
        self._blocks[key] = block
        if len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return block

    def _dctx(self, day: str, db: DayFile, dict_id: int) -> zstandard.ZstdDecompressor:
        """The day's decompressor for dictionary ``dict_id``, kept (used under the lock: one
        thread at a time)."""
        key = (day, dict_id)
        if key not in self._zdicts:
            self._zdicts[key] = db.decompressor(dict_id)
        return self._zdicts[key]

    def _day(self, day: str) -> DayFile | None:
        db = self._days.get(day)
        if db is not None:
            if not db.stale():
                self._days.move_to_end(day)
                return db
            try:  # repacked: the same blocks at the same rowids (what is kept stays right)
                self._days[day] = newer = DayFile(db.path, create=False)
                db.close()
                return newer
            except FileNotFoundError:  # dropped (retention)
                self._forget(day)
        try:
            db = DayFile(day_dir(self.data_dir, day), create=False)
        except FileNotFoundError:
            return None
        self._days[day] = db
        if len(self._days) > OPEN_DAYS:
            self._forget(next(iter(self._days)))
        return db

    def close(self) -> None:
        with self._lock:
            for day in list(self._days):
                self._forget(day)

    def _forget(self, day: str) -> None:
        self._days.pop(day).close()
        self._density.pop(day, None)
        self._heads.pop(day, None)
        self._spent.pop(day, None)
        for key in [k for k in self._blocks if k[0] == day]:
            del self._blocks[key]
        for key in [k for k in self._zdicts if k[0] == day]:
            del self._zdicts[key]

