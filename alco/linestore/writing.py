"""Putting a writer's batches into the line store, durably, before Sphinx sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import zstandard

from alco.config import Config, IndexConfig
from alco.index.ids import ms_span
from alco.index.sphinxconf import line_store
from alco.linestore.blocks import (
    SPAN_MS,
    Entry,
    compressor_for,
    decode,
    encode_lines,
    runs,
    utf8,
)
from alco.linestore.daydb import DATA_PAGE, OPEN_TRIES, DayFile, Superseded, day_dir
from alco.linestore.reading import LineReader
from alco.linestore.training import Trainer

OPEN_DAYS = 4  # day files a writer keeps open (today, yesterday, tomorrow, a late day)


class LineWriter:
    """One writer lane's handle on the store of an ALCO index (not shared between threads)."""

    def __init__(self, data_dir: Path | str, trainer: Trainer | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.trainer = trainer or Trainer()
        self._open: dict[str, DayFile] = {}
        self._reader: LineReader | None = None
        # the trainer's current dictionary (None: none) with its compressor, with its bytes
        self._compressing: tuple[zstandard.ZstdCompressionDict | None,
                                 zstandard.ZstdCompressor] | None = None
        self._dict: tuple[zstandard.ZstdCompressionDict, bytes] | None = None

    def put(self, day_index: str, lines: list[tuple[int, int, str, dict, dict]]) -> None:
        """Store ``lines`` (id, time in µs, message, fields, marks) of the day index
        ``day_index``; durable on return (alco.index.daystore.LineKeeper)."""
        if not lines:
            return
        lines = [(i, t, utf8(m), f, k) for i, t, m, f, k in lines]
        day = day_index.rsplit("_", 1)[-1]
        if self.trainer.wants(day):
            self.trainer.observe(day, [Entry(*line) for line in lines])
        zdict = self.trainer.current
        dict_id = zdict.dict_id() if zdict is not None else 0
        blocks = encode_lines(lines, dict_id, self._compressor(zdict))
        used = {dict_id: self._dict_bytes(zdict)} if zdict is not None else {}
        for _ in range(OPEN_TRIES):  # (a day is repacked once a day at most)
            try:
                self._day(day_index).put(blocks, used)
                return
            except Superseded:  # a repack made the day's next file: put them there
                self._open.pop(day_index).close()
        self._day(day_index).put(blocks, used)

    def _compressor(self, zdict: zstandard.ZstdCompressionDict | None
                    ) -> zstandard.ZstdCompressor:
        """The compressor of ``zdict`` (the trainer's current dictionary), kept while it is
        (one compresses many blocks: making one loads its dictionary anew)."""
        if self._compressing is None or self._compressing[0] is not zdict:
            self._compressing = (zdict, compressor_for(zdict))
        return self._compressing[1]

    def _dict_bytes(self, zdict: zstandard.ZstdCompressionDict) -> bytes:
        if self._dict is None or self._dict[0] is not zdict:
            self._dict = (zdict, zdict.as_bytes())
        return self._dict[1]

    def ids_between(self, day_index: str, lo: int, hi: int) -> list[int]:
        """The ids in [lo, hi] the store holds for ``day_index`` (a writer's id allocator asks:
        a batch kept here whose rows never reached searchd, a crash between the two, keeps
        its ids; they are not handed out again).  Reads the blocks that meet the range."""
        out: list[int] = []
        for ids, _ in self._columns(day_index, [(lo, hi)]):
            out += ids
        return out

    def times_of(self, day_index: str, ids: list[int]) -> dict[int, int]:
        """The times (µs) of the lines ``ids`` the store holds for ``day_index``: the blocks
        that meet each run of ids close in time are read, each once."""
        if not ids:
            return {}
        wanted = set(ids)
        ordered = sorted(wanted)
        out: dict[int, int] = {}
        for found, times in self._columns(day_index,
                                          runs(ordered, ms_span(ordered[0], SPAN_MS))):
            out.update((i, t) for i, t in zip(found, times, strict=True) if i in wanted)
        return out

    def holding(self, day_index: str, wanted: list[tuple[list[int], str, dict]]
                ) -> list[bool]:
        """For each (ids, message, fields) of ``wanted``: whether one of the lines ``ids`` the
        store holds for ``day_index`` has that message and those fields, as ``put`` keeps
        them (a redelivered line stamped at its arrival is told from stored lines so)."""
        ids = sorted({i for found, _, _ in wanted for i in found})
        if not ids:
            return [False] * len(wanted)
        if self._reader is None:
            self._reader = LineReader(self.data_dir)
        kept = self._reader.fetch(day_index.rsplit("_", 1)[0], ids, [day_index])
        out = []
        for found, message, fields in wanted:
            text = utf8(message)
            out.append(any((e := kept.get(i)) is not None and e.message == text
                           and e.fields == fields for i in found))
        return out

    def _columns(self, day_index: str, ranges: list[tuple[int, int]]
                 ) -> Iterator[tuple[list[int], list[int]]]:
        """The ids and times of the lines in ``ranges`` (sorted) of each block of
        ``day_index`` that meets one of them, each block read once, DATA_PAGE blocks in
        memory at a time (a late batch's range may hold an hour of the day's blocks)."""
        if not day_dir(self.data_dir, day_index).exists():
            return
        db = self._day(day_index)
        lo, hi = ranges[0][0], ranges[-1][1]
        rowids = sorted({head[0] for a, b in ranges for head in db.heads(a, b)})
        dctxs: dict[int, zstandard.ZstdDecompressor] = {}
        for at in range(0, len(rowids), DATA_PAGE):
            for dict_id, data in db.data_of(rowids[at:at + DATA_PAGE]).values():
                if dict_id not in dctxs:
                    dctxs[dict_id] = db.decompressor(dict_id)
                ids, times, _ = decode(data, dctx=dctxs[dict_id]).columns(lo, hi)
                yield ids, times

    def _day(self, day_index: str) -> DayFile:
        found = self._open.get(day_index)
        if found is not None and not found.stale():
            return found
        if found is not None:  # its day was dropped (retention) or repacked while open
            self._open.pop(day_index).close()
        while len(self._open) >= OPEN_DAYS:
            self._open.pop(min(self._open)).close()
        self._open[day_index] = opened = DayFile(day_dir(self.data_dir, day_index), True)
        return opened

    def close(self) -> None:
        for day in self._open.values():
            day.close()
        self._open.clear()
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def keeper_for(config: Config, ix: IndexConfig) -> LineWriter | None:
    """What a DayStore of ``ix`` keeps its lines' text with: a LineWriter when new day indexes
    hold no text of their own (alco.index.sphinxconf.line_store), else nothing."""
    return LineWriter(config.sphinx.data_dir) if line_store(config, ix) else None
