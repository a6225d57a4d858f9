"""One day of one ALCO index on disk: a SQLite file of blocks (alco.linestore.blocks).

SQLite because it is a well-kept container that already does what the store needs: a commit
that is durable when it returns (WAL, ``synchronous = FULL``: fsynced), writers of several
processes serialised by its locks, readers that go on while a writer appends, an index on the
blocks' id range, and a torn write that can never be read (a transaction is there whole or not
at all).  The day is a directory named like its day index (``<index>_<YYYYMMDD>.lines``), so
retention and size limits remove it with the day's Sphinx files (alco.index.retention).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import zstandard

from alco.index.ids import id_ms
from alco.linestore.blocks import Block, span_end

SUFFIX = ".lines"
FILE = "lines.db"  # a day's first file; a repacked day's is ``lines.<generation>.db``
_GEN_RE = re.compile(r"lines(?:\.(\d+))?\.db")
OPEN_TRIES = 3  # opens of a day's newest file that a repack may make vanish in between
# a block (64 lines, 2-3.5 kB) is one row and a page holds whole rows: 8 kB pages held two
# 3 kB blocks and left a quarter empty (64.3 B/line for 47.6 of blocks, service lines);
# 16 kB pages hold five (52.0) and a lookup costs the same (a file keeps the size it was
# made with)
PAGE_BYTES = 16384
WAL_BYTES = 4 << 20  # the write-ahead log is cut back to this after a checkpoint
BUSY_MS = 30_000  # how long a writer waits for another process's transaction
DATA_PAGE = 500  # blocks whose data one query fetches (SQLite binds at most 999 values)
HEADS_PAGE = 16  # block heads a lookup takes at a time (``heads_first``)
_HEADS_FIRST = ("SELECT rowid, min_id, max_id FROM blocks WHERE max_id >= ? AND max_id < ? "
                "ORDER BY max_id LIMIT ? OFFSET ?")
BLOCKS_TABLE = ("CREATE TABLE IF NOT EXISTS blocks (min_id INTEGER NOT NULL, max_id INTEGER "
                "NOT NULL, count INTEGER NOT NULL, dict INTEGER NOT NULL, data BLOB NOT NULL)")
BLOCKS_INDEX = "CREATE INDEX IF NOT EXISTS blocks_range ON blocks (max_id, min_id)"
DICTS_TABLE = "CREATE TABLE IF NOT EXISTS dicts (id INTEGER PRIMARY KEY, data BLOB NOT NULL)"
SCHEMA = (BLOCKS_TABLE, BLOCKS_INDEX, DICTS_TABLE)


def day_dir(data_dir: Path, day_index: str) -> Path:
    """Where the store keeps the day of ``day_index`` (``<name>_<YYYYMMDD>``)."""
    return data_dir / f"{day_index}{SUFFIX}"


def gen_file(path: Path, gen: int) -> Path:
    """The file of generation ``gen`` of the day ``path`` (1: as the writers made it; each
    repack, alco.linestore.repack, makes the next)."""
    return path / (FILE if gen == 1 else f"lines.{gen}.db")


def generations(path: Path) -> list[int]:
    """The generations of the day ``path`` whose file is there, oldest first (a repack
    makes a file whole under a name of its own before it renames it: one there is whole)."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1) or 1) for name in names if (m := _GEN_RE.fullmatch(name)))


class Superseded(Exception):
    """A repack made a newer file of the day: its blocks go there (``DayFile.put``)."""


class DayFile:
    """An open day: blocks in, blocks by id range out, the dictionaries they need.  It opens
    the day's newest file (``generations``); ``stale`` tells when that is no longer it."""

    def __init__(self, path: Path, create: bool) -> None:
        self.path = path
        if create:
            path.mkdir(parents=True, exist_ok=True)
        for _ in range(OPEN_TRIES):
            gens = generations(path)
            if not gens and not create:
                raise FileNotFoundError(path / FILE)
            self.gen = gens[-1] if gens else 1
            self.file = gen_file(path, self.gen)
            try:  # (a file is made here only for a day that has none: a repack's old file
                # vanishes once the new one is in place, and must not be made anew)
                mode = "rwc" if create and not gens else "rw"
                self.db = sqlite3.connect(f"file:{quote(str(self.file))}?mode={mode}", uri=True,
                                          timeout=BUSY_MS / 1000, isolation_level=None,
                                          check_same_thread=False)
                break
            except sqlite3.OperationalError:
                if self.file.exists():
                    raise
        else:
            raise FileNotFoundError(self.file)
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        if create and self.gen == 1:
            self.db.execute(f"PRAGMA page_size = {PAGE_BYTES}")
            self.db.execute("PRAGMA journal_mode = WAL")
            for statement in SCHEMA:
                self.db.execute(statement)
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute(f"PRAGMA journal_size_limit = {WAL_BYTES}")

    def close(self) -> None:
        self.db.close()

    def superseded(self) -> bool:
        """Whether a repack made the day's next file (whose blocks are these with the same
        rowids, and any added since)."""
        return os.path.exists(gen_file(self.path, self.gen + 1))

    def stale(self) -> bool:
        """Whether this is no longer the day's newest file: ``superseded``, or the day was
        dropped (retention)."""
        return self.superseded() or not self.file.exists()

    def put(self, blocks: list[Block], zdicts: dict[int, bytes]) -> None:
        """Add ``blocks`` (and the dictionaries they were compressed with) in one durable
        transaction: when this returns, they survive a crash of the process or the machine.
        Raises Superseded (nothing added) when a repack made a newer file of the day: it
        makes that file while it holds this one's write lock, which this takes first."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        if self.superseded():
            db.execute("ROLLBACK")
            raise Superseded(self.path)
        try:
            for dict_id, data in zdicts.items():
                db.execute("INSERT OR IGNORE INTO dicts (id, data) VALUES (?, ?)",
                           (dict_id, data))
            db.executemany(
                "INSERT INTO blocks (min_id, max_id, count, dict, data) VALUES (?, ?, ?, ?, ?)",
                [(b.min_id, b.max_id, b.count, b.dict_id, b.data) for b in blocks])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def heads(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(rowid, min_id, max_id) of the blocks whose id range meets [lo, hi], from the
        index alone (``data_of`` reads the blocks wanted).  A block's ids span less than
        SPAN_MS, so only blocks ending before ``span_end(hi)`` are looked at."""
        return self.db.execute(
            "SELECT rowid, min_id, max_id FROM blocks "
            "WHERE max_id >= ? AND max_id < ? AND min_id <= ?",
            (lo, span_end(hi), hi)).fetchall()

    def blocks_per_ms(self) -> float:
        """How many blocks the day holds a millisecond of its ids, over the span they cover
        (from the index and the last rowid: no scan)."""
        row = self.db.execute("SELECT max(rowid), min(max_id), max(max_id) FROM blocks").fetchone()
        if not row or row[0] is None or row[2] <= row[1]:
            return 0.0
        return row[0] / max(1, id_ms(row[2]) - id_ms(row[1]))

    def heads_first(self, lo: int, hi: int, extra: int,
                    expect: int = 0) -> list[tuple[int, int, int]]:
        """``heads(lo, hi)`` as far as the first ``extra`` blocks ending past ``hi`` (in the
        order of their last id, a page at a time, from the index alone): where the blocks
        holding [lo, hi] are unless a writer's block stays open while others end ``extra``
        (``heads`` then finds it: a block may end up to SPAN_MS past ``hi``, and thousands
        of blocks may end in that span).  ``expect``: how many blocks the range is thought
        to hold (the first page's size).  One statement, prepared once: a page of scattered
        ids runs it for each (a compound SELECT of 400 ids took 3x as long: SQLite planned
        it anew each time).  alco.linestore.heads does the same from memory."""
        out: list[tuple[int, int, int]] = []
        past, offset = 0, 0
        size = max(HEADS_PAGE, expect + extra + 4)
        while True:
            page = self.db.execute(_HEADS_FIRST, (lo, span_end(hi), size, offset)).fetchall()
            past = _holding(page, hi, extra, past, out)
            if past > extra or len(page) < size:
                return out
            offset += size

    def heads_past(self, max_id: int, n: int) -> list[tuple[int, int, int]]:
        """(rowid, min_id, max_id) of the ``n`` blocks ending next after ``max_id``, in the
        order of their last id (from the index alone; a block's last id is its own: ids are
        unique)."""
        return self.db.execute("SELECT rowid, min_id, max_id FROM blocks WHERE max_id > ? "
                               "ORDER BY max_id LIMIT ?", (max_id, n)).fetchall()

    def heads_after(self, rowid: int) -> list[tuple[int, int, int]]:
        """(rowid, min_id, max_id) of the blocks added after block ``rowid``, in the order they
        were added (rowids only grow: blocks are never deleted)."""
        return self.db.execute("SELECT rowid, min_id, max_id FROM blocks WHERE rowid > ? "
                               "ORDER BY rowid", (rowid,)).fetchall()

    def last_rowid(self) -> int:
        """The rowid of the block added last (0: none): how many blocks the day holds."""
        return self.db.execute("SELECT max(rowid) FROM blocks").fetchone()[0] or 0

    def heads_in_order(self, lo: int, hi: int, upward: bool, offset: int,
                       n: int) -> list[tuple[int, int, int, int, bytes]]:
        """``heads(lo, hi)`` ordered by their last id (descending when not ``upward``), ``n``
        from ``offset`` on (the index gives the order: nothing is sorted), each with its
        block's data (a scan reads them all: one query, not one a block)."""
        return self.db.execute(
            "SELECT rowid, min_id, max_id, dict, data FROM blocks "
            "WHERE max_id >= ? AND max_id < ? AND min_id <= ? "
            f"ORDER BY max_id {'ASC' if upward else 'DESC'} LIMIT ? OFFSET ?",
            (lo, span_end(hi), hi, n, offset)).fetchall()

    def data_of(self, rowids: list[int]) -> dict[int, tuple[int, bytes]]:
        """The dictionary and the data of blocks ``rowids``, DATA_PAGE a query."""
        out: dict[int, tuple[int, bytes]] = {}
        for at in range(0, len(rowids), DATA_PAGE):
            part = rowids[at:at + DATA_PAGE]
            out.update((rowid, (dict_id, data)) for rowid, dict_id, data in self.db.execute(
                f"SELECT rowid, dict, data FROM blocks WHERE rowid IN "
                f"({','.join('?' * len(part))})", part))
        return out

    def zdict(self, dict_id: int) -> bytes | None:
        row = self.db.execute("SELECT data FROM dicts WHERE id = ?", (dict_id,)).fetchone()
        return row[0] if row else None

    def decompressor(self, dict_id: int) -> zstandard.ZstdDecompressor:
        """A decompressor for this file's blocks compressed with dictionary ``dict_id`` (0:
        none); making one loads the dictionary, so callers keep it."""
        if not dict_id:
            return zstandard.ZstdDecompressor()
        data = self.zdict(dict_id)
        if data is None:
            raise LookupError(f"line store {self.path}: dictionary {dict_id} missing")
        return zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(data))


def _holding(heads: Iterable[tuple[int, int, int]], hi: int, extra: int, past: int,
             out: list[tuple[int, int, int]]) -> int:
    """Add to ``out`` the heads (in the order of their last id) of blocks that may hold ids up
    to ``hi``, until more than ``extra`` blocks ended past ``hi`` (``past`` of them before
    these); how many did."""
    for head in heads:
        if head[2] > hi:
            past += 1
            if past > extra:
                return past
        if head[1] <= hi:
            out.append(head)
    return past
