"""A past day of the line store compressed again, harder, into a file that takes its place.

A writer compresses its blocks at zstd level 3 (alco.linestore.blocks.LEVEL): what keeps up
with ingest.  A day that is over is only read (but for a late line now and then), so at the
compaction hour its blocks are compressed again at LEVEL: each frame decompressed and
compressed with the same dictionary, the lines, their order and their blocks unchanged.

``repack`` writes the day's blocks, **with their rowids**, into the file of the day's next
generation (alco.linestore.daydb.gen_file) and swaps it in:

* the rowids kept, what readers keep of the day (its block heads, alco.linestore.heads; its
  decoded blocks) stays right; a reader opens the new file when it sees it
  (``DayFile.stale``);
* the new file is made under a name of its own (``.tmp``) and renamed once whole and synced,
  while the repack holds the old file's write lock: the blocks a writer of late lines added
  before are copied under that lock, and a writer that takes the lock after sees the new
  file and puts its blocks there (``DayFile.put`` raises Superseded; ``LineWriter`` opens
  the new one).  No block is lost or doubled;
* a crash (kill -9, the machine) at any point leaves the day readable: before the rename the
  old file is the day's and a ``.tmp`` is left (``tidy`` removes it); after it the new file is
  (the old one is removed by ``tidy`` if the crash came before that).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import zstandard

from alco.config import Config
from alco.index import diskspace
from alco.index.compaction import compact_hour
from alco.index.diskspace import free_and_total, mib
from alco.index.schema import day_of_index
from alco.linestore.blocks import recompress
from alco.linestore.daydb import (
    BLOCKS_INDEX,
    BLOCKS_TABLE,
    DICTS_TABLE,
    PAGE_BYTES,
    SUFFIX,
    DayFile,
    gen_file,
    generations,
)

log = logging.getLogger("alco.linestore")
# zstd's level for a past day (200,000 bench lines' blocks, 29.4 B/line at the writer's 3:
# 25.1 at 9 in 4.6 µs/line, 24.6 at 12 in 6.6, 23.3 at 15 in 34; bench/HISTORY.md 2026-12-07)
LEVEL = 12
COPY_ROWS = 1000  # blocks read and written at a time
TMP = ".tmp"


@dataclass(frozen=True)
class Repacked:
    """What a repack did: the day's blocks, its file's bytes before and after, seconds."""

    blocks: int
    bytes_before: int
    bytes_after: int
    seconds: float


def repacked(path: Path) -> bool:
    """Whether the day ``path`` (a ``.lines`` directory) was repacked."""
    gens = generations(path)
    return bool(gens) and gens[-1] > 1


def tidy(path: Path) -> None:
    """Remove what a repack interrupted left in the day ``path``: a file not made whole
    (``.tmp``) and the files of generations before the newest."""
    gens = generations(path)
    for gen in gens[:-1]:
        _remove(gen_file(path, gen))
    if gens:
        _remove(Path(str(gen_file(path, gens[-1] + 1)) + TMP))


class NoRoom(Exception):
    """Too little free space to repack a day: its new file is made beside the old one."""


def repack(path: Path, level: int = LEVEL, reserve: int = 0) -> Repacked | None:
    """Compress the blocks of the day ``path`` again at ``level`` into its next file (see
    the module's docstring); None when the day has no file.  Raises NoRoom, having done
    nothing, unless the filesystem has the old file's size free and ``reserve`` more (what
    the writers need free to go on storing, alco.index.diskspace).  Runs for seconds to
    minutes (~6 µs a line at level 12): the caller runs it apart from its loop."""
    tidy(path)
    try:
        old = DayFile(path, create=False)
    except FileNotFoundError:
        return None
    space, need = free_and_total(path), _size(old.file) + reserve
    if space is not None and space[0] < need:
        old.close()
        raise NoRoom(f"{mib(space[0])} free, {mib(need)} needed (the day's file and what "
                     f"storing needs free)")
    started = time.monotonic()
    target = gen_file(path, old.gen + 1)
    tmp = Path(str(target) + TMP)
    new = sqlite3.connect(tmp, isolation_level=None)
    try:
        new.execute(f"PRAGMA page_size = {PAGE_BYTES}")
        new.execute("PRAGMA journal_mode = OFF")  # (a file not renamed yet is thrown away)
        new.execute("PRAGMA synchronous = OFF")  # (synced once whole, below)
        new.execute(BLOCKS_TABLE)
        new.execute(DICTS_TABLE)
        codecs: dict[int, tuple[zstandard.ZstdDecompressor, zstandard.ZstdCompressor]] = {}
        last, copied = _copy(old, new, 0, level, codecs)
        new.execute(BLOCKS_INDEX)  # (the index made once: smaller and faster than kept up)
        _sync(tmp)  # (the bulk of it, before writers of late lines wait for the rest)
        old.db.execute("BEGIN IMMEDIATE")  # writers of late lines wait from here on
        try:
            last, more = _copy(old, new, last, level, codecs)
            new.execute("PRAGMA journal_mode = WAL")  # (what a day's file is read and written in)
            new.close()
            _sync(tmp)
            os.replace(tmp, target)
            _sync(path)
        finally:
            old.db.execute("ROLLBACK")  # (nothing was written to it)
    except BaseException:
        new.close()
        _remove(tmp)
        old.close()
        raise
    before = _size(old.file)
    old.close()
    tidy(path)
    done = Repacked(copied + more, before, _size(target), time.monotonic() - started)
    log.info("line store: %s repacked at zstd level %d in %.1f s: %d blocks, %.1f -> %.1f MiB",
             path.name, level, done.seconds, done.blocks, before / 2**20, done.bytes_after / 2**20)
    return done


def _copy(old: DayFile, new: sqlite3.Connection, after: int, level: int,
          codecs: dict[int, tuple[zstandard.ZstdDecompressor, zstandard.ZstdCompressor]]
          ) -> tuple[int, int]:
    """Copy the dictionaries and the blocks of ``old`` past rowid ``after`` into ``new``,
    each block recompressed at ``level`` (kept as it was when that is not smaller), with its
    rowid: the last rowid copied and how many blocks."""
    copied = 0
    new.execute("BEGIN")
    for dict_id, data in old.db.execute("SELECT id, data FROM dicts").fetchall():
        new.execute("INSERT OR IGNORE INTO dicts (id, data) VALUES (?, ?)", (dict_id, data))
    new.execute("COMMIT")
    while True:
        rows = old.db.execute(
            "SELECT rowid, min_id, max_id, count, dict, data FROM blocks WHERE rowid > ? "
            "ORDER BY rowid LIMIT ?", (after, COPY_ROWS)).fetchall()
        if not rows:
            return after, copied
        out = []
        for rowid, min_id, max_id, count, dict_id, data in rows:
            if dict_id not in codecs:
                codecs[dict_id] = _codec(old, dict_id, level)
            again = recompress(data, *codecs[dict_id])
            out.append((rowid, min_id, max_id, count, dict_id,
                        again if len(again) < len(data) else data))
        new.execute("BEGIN")
        new.executemany("INSERT INTO blocks (rowid, min_id, max_id, count, dict, data) "
                        "VALUES (?, ?, ?, ?, ?, ?)", out)
        new.execute("COMMIT")
        after, copied = rows[-1][0], copied + len(rows)


def _codec(old: DayFile, dict_id: int, level: int
           ) -> tuple[zstandard.ZstdDecompressor, zstandard.ZstdCompressor]:
    """What reads a block of ``old`` compressed with dictionary ``dict_id`` (0: none), and
    what compresses it again at ``level`` with the same dictionary."""
    dctx = old.decompressor(dict_id)  # (LookupError when the dictionary is missing)
    zdict = zstandard.ZstdCompressionDict(old.zdict(dict_id)) if dict_id else None
    return dctx, zstandard.ZstdCompressor(level=level, dict_data=zdict)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(file: Path) -> int:
    return sum(p.stat().st_size for p in (file, Path(f"{file}-wal")) if p.exists())


def _remove(file: Path) -> None:
    for p in (file, Path(f"{file}-wal"), Path(f"{file}-shm"), Path(f"{file}-journal")):
        p.unlink(missing_ok=True)


class Repacker:
    """The store's past days repacked in ``[sphinx] compact_hour`` (UTC), the oldest first,
    one at a time, each in a thread of its own (zstd lets go of the GIL while it works; the
    caller's loop goes on).  A day that fails is logged and tried again the next day."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = Path(config.sphinx.data_dir)
        self.working: Path | None = None
        self.thread: threading.Thread | None = None
        self.failed: set[Path] = set()
        self.failed_on: date | None = None

    def step(self, now: datetime | None = None) -> Path | None:
        """One look: the day being repacked, or the next one started (None: none)."""
        hour = compact_hour(self.config)
        if hour < 0:
            return None
        now = now or datetime.now(UTC)
        if self.failed_on != now.date():
            self.failed, self.failed_on = set(), now.date()
        if self.thread is not None and self.thread.is_alive():
            return self.working
        self.thread = self.working = None
        if now.hour != hour:
            return None
        for path in self.past_days(now.date()):
            if path not in self.failed and not repacked(path):
                self.working = path
                self.thread = threading.Thread(target=self._run, args=(path,),
                                               name=f"repack {path.name}", daemon=True)
                self.thread.start()
                return path
        return None

    def past_days(self, today: date) -> Iterator[Path]:
        """The store's days of the configured indexes before ``today``, oldest first."""
        found = []
        for ix in self.config.indexes:
            for path in self.data_dir.glob(f"{ix.name}_*{SUFFIX}"):
                index = path.name[:-len(SUFFIX)]
                day = day_of_index(index)
                if day is not None and day < today and index.rsplit("_", 1)[0] == ix.name:
                    found.append((day, path))
        yield from (path for _, path in sorted(found))

    def _run(self, path: Path) -> None:
        try:
            disk = diskspace.measure(self.config, None)
            repack(path, reserve=disk.need if disk is not None else 0)
        except NoRoom as exc:
            log.warning("line store: %s not repacked: %s; trying again tomorrow", path.name,
                        exc)
            self.failed.add(path)
        except Exception:  # housekeeping never stops alco run (DESIGN.md 1)
            log.exception("line store: repacking %s failed; trying again tomorrow", path.name)
            self.failed.add(path)
