"""One block of lines: up to BLOCK_LINES lines close in id, compressed together (pure logic).

A block holds, for each line, its id, time (µs), message, fields as sent and ALCO's marks, as
one orjson document of columns, compressed with zstd (with the writer's trained dictionary
when it has one).  Blocks are cut so that their id range stays tight: at BLOCK_LINES lines,
and wherever two ids of a batch are more than SPAN_MS apart (a late line gets a block of its
own instead of widening its batch's), so a block holding an id always ends before
``span_end(id)`` and a lookup by id reads a bounded stretch of the block list.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import orjson
import zstandard

from alco.index.ids import TOP_ID, id_ms, make_id, slot_of

BLOCK_LINES = 64
SPAN_MS = 10_000  # the widest a block's ids may spread in time
LEVEL = 3


def span_end(first: int) -> int:
    """An id above the last of any block whose first id is at most ``first`` (its ids span
    less than SPAN_MS: ``cut``)."""
    return min(TOP_ID, make_id(id_ms(first) + SPAN_MS + 1, 0, 0))


def runs(ids: list[int], gap: int) -> list[tuple[int, int]]:
    """Sorted ids as ranges narrower than ``gap`` (one look at the index each)."""
    out: list[tuple[int, int]] = []
    for doc_id in ids:
        if out and doc_id - out[-1][0] < gap:
            out[-1] = (out[-1][0], doc_id)
        else:
            out.append((doc_id, doc_id))
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    """A line as the store keeps it."""

    id: int
    ts_us: int
    message: str
    fields: dict
    marks: dict


class Brief(NamedTuple):
    """What a read needs of a line the store keeps: its time (µs), message and marks."""

    ts_us: int
    message: str
    marks: dict


@dataclass(frozen=True, slots=True)
class Block:
    min_id: int
    max_id: int
    count: int
    dict_id: int  # 0: compressed without a dictionary
    data: bytes


def cut(entries: list[Entry]) -> Iterator[list[Entry]]:
    """``entries`` sorted by id, in runs of at most BLOCK_LINES whose ids span < SPAN_MS and
    name one writer slot (a writer stores its own batches: a lookup skips the blocks of
    other slots whose id range holds an id)."""
    entries = sorted(entries, key=lambda e: e.id)
    for a, b in _spans([e.id for e in entries]):
        yield entries[a:b]


def frames(entries: list[Entry]) -> list[bytes]:
    """What a block of ``entries`` compresses (``encode``), uncompressed: its columns and,
    when its lines have some, its fields (what a dictionary is trained on)."""
    cols, fields = _dumps(entries)
    return [cols] if fields is None else [cols, fields]


def utf8(text: str) -> str:
    """``text`` with a lone surrogate (not UTF-8, so not storable) as U+FFFD."""
    return text if text.isascii() else text.encode("utf-8", "surrogatepass").decode(
        "utf-8", "replace")


def _dumps(entries: list[Entry]) -> tuple[bytes, bytes | None]:
    """``_dumps_columns`` of ``entries``."""
    return _dumps_columns([e.id for e in entries], [e.ts_us for e in entries],
                          [e.message for e in entries], [e.fields for e in entries],
                          [e.marks for e in entries])


def _dumps_columns(ids: list[int], times: list[int], messages: list[str], fields: list[dict],
                   marks: list[dict]) -> tuple[bytes, bytes | None]:
    """Columns (ids, times, messages, marks only when a line of the block has some), and the
    fields when a line has some (a day index that keeps the fields in searchd has none
    here): a JSON object a line, one per line of text (JSON has no raw newline), so that a
    lookup of one line parses its own fields only (blocks written before have a JSON list).
    The ids and times go as the first one's (``i0``, ``t0``) and each line's offset from it
    (``io``, ``to``: 5-11 digits a line where the numbers have 16-19, 4-5 B a line less once
    compressed; blocks written before have them whole, ``id`` and ``ts``).  ``fl``: the
    length of each line's fields, so that a lookup slices its own (blocks written before:
    the frame is split)."""
    i0, t0 = ids[0], times[0]
    cols: dict = {"i0": i0, "t0": t0, "io": list(map(i0.__rsub__, ids)),
                  "to": list(map(t0.__rsub__, times)), "msg": messages}
    if any(marks):
        cols["m"] = [m or None for m in marks]
    frame = None
    if any(fields):
        each = list(map(orjson.dumps, fields))
        cols["fl"] = list(map(len, each))  # (a lookup slices its line's: no split)
        frame = b"\n".join(each)
    return orjson.dumps(cols), frame


TWO_FRAMES = b"\x01"  # a block's first byte when its fields are a frame of their own


def encode(entries: list[Entry], dict_id: int = 0,
           zdict: zstandard.ZstdCompressionDict | None = None,
           compressor: zstandard.ZstdCompressor | None = None) -> Block:
    """One block of ``entries`` (sorted by id, as ``cut`` gives them): the columns as one
    zstd frame and, when the lines have fields, the fields as a second one after it
    (``TWO_FRAMES``, the first frame's length, the two frames): a scan of the messages
    decompresses the first only.  (A zstd frame starts with 0x28: a block of one frame.)
    ``compressor``: ``compressor_for(zdict)``, kept by the caller (making one loads its
    dictionary anew)."""
    return _block(*_dumps(entries), entries[0].id, entries[-1].id, len(entries),
                  dict_id if zdict else 0, compressor or compressor_for(zdict))


def recompress(data: bytes, dctx: zstandard.ZstdDecompressor,
               cctx: zstandard.ZstdCompressor) -> bytes:
    """Block ``data`` with each of its frames decompressed (``dctx``: with the block's
    dictionary) and compressed again by ``cctx`` (the same dictionary, another level): the
    same lines, read as before (alco.linestore.repack)."""
    if data[:1] != TWO_FRAMES:
        return cctx.compress(dctx.decompress(data))
    size = int.from_bytes(data[1:5], "little")
    cols = cctx.compress(dctx.decompress(data[5:5 + size]))
    return TWO_FRAMES + len(cols).to_bytes(4, "little") + cols + cctx.compress(
        dctx.decompress(data[5 + size:]))


def compressor_for(zdict: zstandard.ZstdCompressionDict | None) -> zstandard.ZstdCompressor:
    """What compresses blocks with ``zdict`` (or none): one may compress many blocks, one
    at a time (the same frames as a compressor a block)."""
    return zstandard.ZstdCompressor(level=LEVEL, dict_data=zdict)


def _block(cols: bytes, fields: bytes | None, min_id: int, max_id: int, count: int,
           dict_id: int, compressor: zstandard.ZstdCompressor) -> Block:
    data = compressor.compress(cols)
    if fields is not None:
        data = TWO_FRAMES + len(data).to_bytes(4, "little") + data + compressor.compress(fields)
    return Block(min_id, max_id, count, dict_id, data)


def encode_lines(lines: list[tuple[int, int, str, dict, dict]], dict_id: int,
                 compressor: zstandard.ZstdCompressor) -> list[Block]:
    """The blocks of ``lines`` (id, time, message, fields, marks; messages as ``utf8``
    made them): ``encode`` of each run ``cut`` makes of them as Entry objects, without
    them.  ``dict_id``: 0, or the dictionary's of ``compressor``."""
    lines = sorted(lines, key=_first)
    ids, times, messages, fields, marks = (list(c) for c in zip(*lines, strict=True))
    return [_block(*_dumps_columns(ids[a:b], times[a:b], messages[a:b], fields[a:b],
                                   marks[a:b]), ids[a], ids[b - 1], b - a, dict_id, compressor)
            for a, b in _spans(ids)]


def _first(line: tuple) -> int:
    return line[0]


def _spans(ids: list[int]) -> Iterator[tuple[int, int]]:
    """Where ``cut`` cuts sorted ``ids``: [a, b) of each run."""
    ms, slots = list(map(id_ms, ids)), list(map(slot_of, ids))
    n, a = len(ids), 0
    while a < n:
        b = min(a + BLOCK_LINES, n)
        # (a whole run at once when it may be: its ids span < SPAN_MS in one slot)
        if not (ms[b - 1] - ms[a] < SPAN_MS and slots[a:b].count(slots[a]) == b - a):
            b = a + 1
            while b < n and b - a < BLOCK_LINES and ms[b] - ms[a] < SPAN_MS \
                    and slots[b] == slots[a]:
                b += 1
        yield a, b
        a = b


class Decoded:
    """A block's lines, made into Entry objects only when asked for; its fields decompressed
    only when asked for (with ``dctx``, the block's decompressor), and each line's parsed
    only when asked for."""

    __slots__ = ("_cols", "_i0", "_t0", "_ids", "_ts", "_fields", "_raw", "_frame", "_dctx",
                 "_data", "_ends")

    def __init__(self, cols: dict, frame: bytes | None = None,
                 dctx: zstandard.ZstdDecompressor | None = None) -> None:
        # the ids and times as offsets from the first line's (_dumps; blocks written before:
        # whole, from 0)
        self._i0, self._t0 = cols.get("i0", 0), cols.get("t0", 0)
        self._ids: list[int] = cols["io"] if "io" in cols else cols["id"]
        self._ts: list[int] = cols["to"] if "to" in cols else cols["ts"]
        self._cols = cols
        self._frame, self._dctx = frame, dctx
        # each line's fields, parsed (blocks written before: inline, or a list a frame)
        self._fields: list[dict | None] | None = cols.get("f")
        self._raw: list[bytes] | None = None  # each line's fields as JSON
        self._data: bytes | None = None  # the fields' frame, where ``fl`` slices it
        # where each line's fields end in it, but for the newlines between them
        self._ends: list[int] | None = None

    def _position(self, doc_id: int) -> int | None:
        ids, offset = self._ids, doc_id - self._i0
        n = bisect.bisect_left(ids, offset)
        return n if n < len(ids) and ids[n] == offset else None

    def _field(self, n: int) -> dict:
        """The fields of the block's ``n``-th line."""
        if self._fields is None:
            if self._frame is None:
                return {}
            assert self._dctx is not None
            data = self._dctx.decompress(self._frame)
            self._frame = self._dctx = None
            if data[:1] == b"[":  # (a block written before: a list)
                self._fields = orjson.loads(data)
            elif "fl" in self._cols:
                self._data = data
                self._ends = list(itertools.accumulate(self._cols["fl"]))
                self._fields = [None] * len(self._ids)
            else:  # (a block written before the lengths)
                self._raw = data.split(b"\n")
                self._fields = [None] * len(self._raw)
        got = self._fields[n]
        if got is None:
            if self._ends is not None:
                assert self._data is not None
                ends = self._ends  # (line n's starts after the n newlines before it)
                raw = self._data[ends[n - 1] + n if n else 0:ends[n] + n]
            else:
                assert self._raw is not None
                raw = self._raw[n]
            got = self._fields[n] = orjson.loads(raw)
        return got

    def get(self, doc_id: int) -> Entry | None:
        n = self._position(doc_id)
        if n is None:
            return None
        c = self._cols
        marks = c.get("m")
        return Entry(doc_id, self._t0 + self._ts[n], c["msg"][n], self._field(n),
                     (marks[n] if marks else None) or {})

    def brief(self, doc_id: int) -> Brief | None:
        n = self._position(doc_id)
        if n is None:
            return None
        c = self._cols
        marks = c.get("m")
        return Brief(self._t0 + self._ts[n], c["msg"][n], (marks[n] if marks else None) or {})

    def _span(self, lo: int, hi: int) -> tuple[int, int]:
        """The positions [a, b) of the block's lines with ids in [lo, hi]."""
        ids = self._ids
        return bisect.bisect_left(ids, lo - self._i0), bisect.bisect_right(ids, hi - self._i0)

    def columns(self, lo: int, hi: int) -> tuple[list[int], list[int], list[str]]:
        """The ids, times and messages of the block's lines with ids in [lo, hi]."""
        ids, t0, ts, messages = self.scan(lo, hi)
        return ids, [t0 + t for t in ts] if t0 else ts, messages

    def scan(self, lo: int, hi: int) -> tuple[list[int], int, list[int], list[str]]:
        """``columns`` with the times left as offsets from a time of the block (returned
        second): a scan adds it to the times of the lines it keeps only."""
        a, b = self._span(lo, hi)
        ids, i0 = self._ids[a:b], self._i0
        return [i0 + i for i in ids] if i0 else ids, self._t0, self._ts[a:b], \
            self._cols["msg"][a:b]

    def fields(self, lo: int, hi: int) -> list[dict]:
        """The fields of the block's lines with ids in [lo, hi] (``columns``' lines)."""
        a, b = self._span(lo, hi)
        return [self._field(n) for n in range(a, b)]

    def entries(self) -> list[Entry]:
        return [e for e in map(self.get, map(self._i0.__add__, self._ids)) if e is not None]


def decode(data: bytes, zdict: zstandard.ZstdCompressionDict | None = None,
           dctx: zstandard.ZstdDecompressor | None = None) -> Decoded:
    """A block's lines; ``dctx``: a decompressor made with the block's dictionary, kept by
    the caller (making one loads its dictionary anew)."""
    dctx = dctx or zstandard.ZstdDecompressor(dict_data=zdict)
    if data[:1] != TWO_FRAMES:
        return Decoded(orjson.loads(dctx.decompress(data)))
    size = int.from_bytes(data[1:5], "little")
    return Decoded(orjson.loads(dctx.decompress(data[5:5 + size])), data[5 + size:], dctx)
