"""The line store on its own: blocks, a day file, lines in and out by id (real SQLite files)."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from alco.index.schema import day_index, day_of_us, id_ms, make_id
from alco.linestore import blocks
from alco.linestore import heads as heads_module
from alco.linestore.daydb import DayFile, day_dir
from alco.linestore.heads import Heads
from alco.linestore.reading import LineReader
from alco.linestore.writing import LineWriter

DAY_MS = 1_796_000_000_000 // 86_400_000 * 86_400_000  # midnight of a day in December 2026


def service_lines(n: int, start_ms: int = DAY_MS + 3_600_000, step_ms: int = 3,
                  seed: int = 1) -> list[tuple]:
    """Lines as a service logs them: random UUIDs, request ids, IPs, numbers, unicode."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ms = start_ms + i * step_ms
        msg = (f"GET /api/orders/{rng.randint(1, 99999)} 200 in {rng.random() * 100:.1f}ms "
               f"req {uuid.UUID(int=rng.getrandbits(128))} from 10.{rng.randint(0, 255)}."
               f"{rng.randint(0, 255)}.{rng.randint(0, 255)} — заказ 订单")
        fields = {"host": f"web-{i % 7}", "levelname": rng.choice(["INFO", "ERROR"]),
                  "request_id": f"{rng.getrandbits(64):016x}", "seq": i}
        out.append((make_id(ms, 3, 0), ms * 1000, msg, fields, {"truncated": True} if i == 5
                    else {}))
    return out


def day_of(lines: list[tuple]) -> str:
    return day_index("logs", day_of_us(lines[0][1]))


def test_blocks_are_cut_small_and_tight_in_time():
    lines = service_lines(300)
    late = (make_id(DAY_MS + 60_000, 3, 0), (DAY_MS + 60_000) * 1000, "late", {}, {})
    runs = list(blocks.cut([blocks.Entry(*x) for x in [*lines, late]]))
    assert [len(r) for r in runs] == [1, 64, 64, 64, 64, 44]  # the late line alone, first
    for run in runs:
        assert run == sorted(run, key=lambda e: e.id)
        assert run[-1].id < blocks.span_end(run[0].id)


def test_a_block_round_trips_with_and_without_a_dictionary():
    import zstandard

    entries = [blocks.Entry(*x) for x in service_lines(64)]
    samples = [f for x in service_lines(3000) for f in blocks.frames([blocks.Entry(*x)])]
    zdict = zstandard.train_dictionary(16 * 1024, samples)
    for z in (None, zdict):
        block = blocks.encode(entries, zdict.dict_id() if z else 0, z)
        assert block.dict_id == (zdict.dict_id() if z else 0)
        assert blocks.decode(block.data, z).entries() == entries


def test_a_scan_of_messages_leaves_the_fields_unparsed_and_old_blocks_still_read():
    import orjson
    import zstandard

    entries = [blocks.Entry(*x) for x in service_lines(64)]
    decoded = blocks.decode(blocks.encode(entries).data)
    ids = [e.id for e in entries]
    assert decoded.columns(ids[0], ids[-1])[2] == [e.message for e in entries]
    assert decoded._fields is None  # (a scan of the messages: the fields stay compressed)
    assert decoded.fields(ids[3], ids[5]) == [e.fields for e in entries[3:6]]
    assert decoded._fields[2] is None  # (only the lines asked for are parsed)
    assert decoded._raw is None  # (each line's fields sliced by their lengths, not split)
    # a block whose fields' frame is a JSON list (written before each line had its own)
    cz = zstandard.ZstdCompressor()
    cols = orjson.dumps({"id": ids, "ts": [e.ts_us for e in entries],
                         "msg": [e.message for e in entries],
                         "m": [e.marks or None for e in entries]})
    frames = cz.compress(cols)
    data = (blocks.TWO_FRAMES + len(frames).to_bytes(4, "little") + frames
            + cz.compress(orjson.dumps([e.fields for e in entries])))
    assert blocks.decode(data).entries() == entries
    # a block whose fields' frame is one line each without their lengths (split to be read)
    data = (blocks.TWO_FRAMES + len(frames).to_bytes(4, "little") + frames
            + cz.compress(b"\n".join(orjson.dumps(e.fields) for e in entries)))
    assert blocks.decode(data).get(ids[7]).fields == entries[7].fields
    assert blocks.decode(data).entries() == entries
    # a block written before the fields had a part of their own: inline, as "f"
    old = {"id": ids, "ts": [e.ts_us for e in entries], "msg": [e.message for e in entries],
           "f": [e.fields for e in entries], "m": [e.marks or None for e in entries]}
    data = zstandard.ZstdCompressor().compress(orjson.dumps(old))
    assert blocks.decode(data).entries() == entries
    # and one of a day whose fields searchd keeps: none
    bare = [blocks.Entry(e.id, e.ts_us, e.message, {}, {}) for e in entries]
    assert blocks.encode(bare).data[:1] != blocks.TWO_FRAMES
    assert blocks.decode(blocks.encode(bare).data).fields(ids[0], ids[1]) == [{}, {}]
    # ids and times are kept as offsets from the first line's: fewer digits than 16-19
    cols = orjson.loads(zstandard.ZstdDecompressor().decompress(blocks.encode(bare).data))
    assert "id" not in cols and "ts" not in cols
    assert (cols["i0"], cols["io"][0]) == (ids[0], 0)
    assert max(map(len, map(str, cols["io"]))) <= 11 and max(map(len, map(str, cols["to"]))) <= 6
    assert blocks.decode(blocks.encode(bare).data).entries() == bare


def test_the_writers_dictionary_makes_blocks_smaller_than_none():
    """The dictionary a writer trains on a day's first lines (Trainer) is trained on what its
    blocks compress: their blocks come out smaller than without one (trained on the lines one
    by one, it made them larger)."""
    from alco.linestore.training import SAMPLES, Trainer

    lines = [blocks.Entry(*x) for x in service_lines(SAMPLES + 6400, seed=3)]
    trainer = Trainer()
    for i in range(0, SAMPLES, 1000):
        trainer.observe("20261206", lines[i:i + 1000])
    zdict = trainer.current
    assert zdict is not None
    rest = list(blocks.cut(lines[SAMPLES:]))
    with_dict = sum(len(blocks.encode(run, zdict.dict_id(), zdict).data) for run in rest)
    without = sum(len(blocks.encode(run).data) for run in rest)
    assert with_dict < 0.9 * without


def test_lines_come_back_by_id_exactly_and_compressed(tmp_path: Path):
    lines = service_lines(10_000)
    writer = LineWriter(tmp_path)
    for i in range(0, len(lines), 2000):
        writer.put(day_of(lines), lines[i:i + 2000])
    reader = LineReader(tmp_path)
    wanted = random.Random(2).sample(lines, 300) + lines[4000:4100]
    got = reader.fetch("logs", [x[0] for x in wanted])
    assert {i: (e.id, e.ts_us, e.message, e.fields, e.marks) for i, e in got.items()} == {
        x[0]: x for x in wanted}
    # the writer trained a dictionary on its first lines: later blocks use it
    db = DayFile(day_dir(tmp_path, day_of(lines)), create=False)
    used = {r[0] for r in db.db.execute("SELECT DISTINCT dict FROM blocks")}
    assert 0 in used and len(used) == 2
    raw = sum(len(x[2]) + len(str(x[3])) for x in lines)
    stored = sum(r[0] for r in db.db.execute("SELECT SUM(length(data)) FROM blocks"))
    assert stored < raw / 2
    # pages that hold several blocks whole (8 kB ones left a quarter of the file empty)
    assert db.db.execute("PRAGMA page_size").fetchone()[0] == 16384


def test_times_of_lines_a_block_shares_between_two_runs_of_ids(tmp_path: Path):
    """``LineWriter.times_of`` (a redelivered batch's times) looks ids up in runs narrower
    than SPAN_MS; a block that holds the end of one run and the start of the next gives the
    times of both."""
    def line(ms: int) -> tuple:
        return make_id(ms, 3, 0), ms * 1000, f"at {ms}", {}, {}

    day_ms = DAY_MS + 3_600_000
    writer = LineWriter(tmp_path)
    writer.put(day_of([line(day_ms)]), [line(day_ms)])  # a block of its own
    later = [line(day_ms + ms) for ms in range(5_000, 14_001, 1_000)]
    writer.put(day_of(later), later)  # one block: 5 s to 14 s
    wanted = [line(day_ms)[0], line(day_ms + 9_000)[0], line(day_ms + 10_000)[0]]
    assert writer.times_of(day_of(later), wanted) == {i: id_ms(i) * 1000 for i in wanted}


def test_ids_it_does_not_hold_are_absent_not_errors(tmp_path: Path):
    lines = service_lines(100)
    LineWriter(tmp_path).put(day_of(lines), lines)
    reader = LineReader(tmp_path)
    other = make_id(DAY_MS + 7_200_000, 5, 0)
    assert reader.fetch("logs", [other, make_id(DAY_MS - 86_400_000, 1, 1)]) == {}
    assert reader.fetch("audit", [lines[0][0]]) == {}


def test_a_line_dated_after_its_day_is_found_in_the_day_that_kept_it(tmp_path: Path):
    ahead = service_lines(3, start_ms=DAY_MS + 40 * 86_400_000)  # dated weeks ahead
    kept_in = day_index("logs", day_of_us(DAY_MS * 1000))
    LineWriter(tmp_path).put(kept_in, ahead)
    got = LineReader(tmp_path).fetch("logs", [x[0] for x in ahead], [kept_in])
    assert sorted(got) == [x[0] for x in ahead]


def test_a_dropped_day_is_gone_for_an_open_reader_and_writer(tmp_path: Path):
    import shutil

    lines = service_lines(50)
    writer, reader = LineWriter(tmp_path), LineReader(tmp_path)
    writer.put(day_of(lines), lines)
    assert len(reader.fetch("logs", [lines[0][0]])) == 1
    shutil.rmtree(day_dir(tmp_path, day_of(lines)))
    assert reader.fetch("logs", [lines[0][0]]) == {}
    writer.put(day_of(lines), lines[:1])  # a writer makes the day anew
    assert len(LineReader(tmp_path).fetch("logs", [lines[0][0]])) == 1


def test_kill_9_in_the_middle_of_writes_leaves_every_committed_block_whole(tmp_path: Path):
    """A writer killed at any moment: what a put returned from is there, whole; the put it was
    in is there whole or not at all (SQLite's transaction)."""
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys\n"
        "from tests.unit.linestore.test_linestore import service_lines, day_of\n"
        "from alco.linestore.writing import LineWriter\n"
        "w = LineWriter(sys.argv[1])\n"
        "lines = service_lines(40_000)\n"
        "for i in range(0, len(lines), 500):\n"
        "    w.put(day_of(lines), lines[i:i + 500])\n"
        "    print(i + 500, flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    done = 0
    deadline = time.monotonic() + 60
    while done < 5_000 and time.monotonic() < deadline:
        done = int(proc.stdout.readline() or done)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = service_lines(40_000)
    got = LineReader(tmp_path).fetch("logs", [x[0] for x in lines])
    assert len(got) >= done and len(got) % 500 == 0
    assert all(got[x[0]].message == x[2] for x in lines[:len(got)])


def test_a_line_that_is_not_utf8_is_kept_with_a_replacement_character(tmp_path: Path):
    line = (make_id(DAY_MS + 1000, 1, 0), (DAY_MS + 1000) * 1000, "bad \ud800 end", {}, {})
    LineWriter(tmp_path).put(day_index("logs", day_of_us(line[1])), [line])
    got = LineReader(tmp_path).briefs("logs", [line[0]])
    assert got == {line[0]: (line[1], "bad \ufffd\ufffd\ufffd end", {})}


def test_a_checked_scan_keeps_what_the_check_keeps_of_the_first_lines_read(tmp_path: Path):
    """Two writer slots whose blocks overlap in time, read both ways with small limits: the
    lines kept are those among the first ``limit`` read (in id order) that pass."""
    lines = sorted(service_lines(3000) + [(make_id(ms, 4, 0), ts, m, f, k) for _, ts, m, f, k
                                          in service_lines(3000, seed=2)
                                          for ms in [ts // 1000]])
    writer = LineWriter(tmp_path)
    for i in range(0, len(lines), 500):
        writer.put(day_of(lines), lines[i:i + 500])
    reader = LineReader(tmp_path)

    def keep(messages: list[str], fields: list[dict] | None) -> list[bool]:
        assert fields is None
        return ["/orders/1" in m for m in messages]

    def keep_by_fields(messages: list[str], fields: list[dict] | None) -> list[bool]:
        assert fields is not None and len(fields) == len(messages)
        return [f.get("levelname") == "ERROR" for f in fields]

    top = (1 << 63) - 1
    for upward in (True, False):
        order = lines if upward else lines[::-1]
        for limit in (1, 64, 700, 10_000):
            got, read, last = reader.scan_matching([day_of(lines)], 0, top, upward, limit, keep)
            first = order[:limit]
            assert read == len(first)
            assert last == (first[-1][0] if limit <= len(lines) else None)
            assert got == [(i, ts, m, None) for i, ts, m, _, _ in first if "/orders/1" in m]
            got, read, last = reader.scan_matching([day_of(lines)], 0, top, upward, limit,
                                                   keep_by_fields, fields=True)
            assert got == [(i, ts, m, f) for i, ts, m, f, _ in first
                           if f.get("levelname") == "ERROR"]
    lo, hi = lines[100][0], lines[2000][0]  # a window inside
    got, read, last = reader.scan_matching([day_of(lines)], lo, hi, True, 10_000, keep)
    assert read == 1901 and last is None
    assert got == [(i, ts, m, None) for i, ts, m, _, _ in lines[100:2001] if "/orders/1" in m]


def test_a_quiet_writers_block_is_found_among_a_busy_writers(tmp_path: Path):
    """Lookups take the blocks ending next after a range first (DayFile.heads_first); a quiet
    writer's block, open for seconds while a busy one ends hundreds, is found all the same."""
    busy = service_lines(6_000, step_ms=1)
    quiet = [(make_id(ms, 5, 0), ms * 1000, f"quiet {n}", {"n": n}, {})
             for n, ms in enumerate(range(DAY_MS + 3_600_000, DAY_MS + 3_606_000, 500))]
    writer = LineWriter(tmp_path)
    writer.put(day_of(busy), busy)
    writer.put(day_of(quiet), quiet)
    wanted = random.Random(3).sample(busy, 200) + quiet
    got = LineReader(tmp_path).fetch("logs", [x[0] for x in wanted])
    assert {i: (e.id, e.ts_us, e.message, e.fields, e.marks) for i, e in got.items()} == {
        x[0]: x for x in wanted}
    db = DayFile(day_dir(tmp_path, day_of(busy)), create=False)
    first = quiet[0][0]  # (not among the first blocks: found by the fallback)
    holding = [h for h in db.heads(first, first) if h[1] == first]
    assert len(holding) == 1 and holding[0] not in db.heads_first(first, first, 8)
    assert holding[0] not in whole_heads(db).heads_first(first, first, 8)


def whole_heads(db: DayFile) -> Heads:
    heads = Heads()
    while not heads.load(db):
        pass
    return heads


def index_walk(db: DayFile, x: int, extra: int) -> list[tuple[int, int, int]]:
    """What DayFile.heads_first(x, x, extra) says, from every head of the day: the blocks in
    the order of their last id from x on, as far as ``extra`` blocks ending past x."""
    every = db.db.execute("SELECT rowid, min_id, max_id FROM blocks").fetchall()
    ordered = sorted((h for h in every if x <= h[2] < blocks.span_end(x)), key=lambda h: h[2])
    past, want = 0, []
    for h in ordered:
        if h[2] > x:
            past += 1
            if past > extra:
                break
        if h[1] <= x:
            want.append(h)
    return want


def test_heads_in_memory_are_the_index_s_as_the_day_grows(tmp_path: Path, monkeypatch):
    """A reader's heads of a day (alco.linestore.heads), read a chunk at a time while
    writers add blocks (some ending before the chunk read: a late line's) and then only the
    blocks added since: each id's blocks are what the blocks index gives."""
    monkeypatch.setattr(heads_module, "CHUNK", 3)
    rng = random.Random(7)
    lines = service_lines(4_000, step_ms=2)
    day = day_of(lines)
    writer = LineWriter(tmp_path)
    heads = Heads()
    for n, at in enumerate(range(0, len(lines), 500)):
        late = [(make_id(id_ms(x[0]) - 1, 3, n), x[1] - 1000, "late", {}, {})
                for x in rng.sample(lines[:at + 3], 3)]  # (ends before the last blocks)
        writer.put(day, lines[at:at + 500] + late)
        db = DayFile(day_dir(tmp_path, day), create=False)
        if not heads.whole:
            heads.load(db)  # (one chunk a batch: whole only after the writes)
        else:
            heads.refresh(db)
    db = DayFile(day_dir(tmp_path, day), create=False)
    assert not heads.whole
    while not heads.load(db):
        pass
    writer.put(day, [(make_id(DAY_MS + 60_000, 3, 0), (DAY_MS + 60_000) * 1000, "later", {},
                      {})])  # (a block ending before every other, once the heads are whole)
    heads.refresh(db)
    fresh = whole_heads(db)
    assert len(heads) == len(fresh) == db.last_rowid()
    for x in [*rng.sample([x[0] for x in lines], 300), make_id(DAY_MS + 60_000, 3, 0)]:
        found = heads.heads_first(x, x, 8)
        assert sorted(found) == sorted(fresh.heads_first(x, x, 8)) == sorted(
            db.heads_first(x, x, 8)) == sorted(index_walk(db, x, 8))
        assert any(h[1] <= x <= h[2] for h in found)


def test_a_reader_reads_a_day_s_heads_once_its_lookups_would_have_paid_for_them(
        tmp_path: Path, monkeypatch):
    """Pages of scattered lines: the first ones from SQLite; once their lookups add up to
    LOAD_SHARE of the day's blocks the reader reads the heads, a chunk a page, and the pages
    after come from memory; every page finds every line, lines written since too."""
    monkeypatch.setattr(heads_module, "CHUNK", 40)
    lines = service_lines(8_000, step_ms=2)
    day = day_of(lines)
    writer = LineWriter(tmp_path)
    writer.put(day, lines)
    reader = LineReader(tmp_path)
    used = []
    real = Heads.heads_first
    monkeypatch.setattr(Heads, "heads_first",
                        lambda self, *a: used.append(1) or real(self, *a))
    rng = random.Random(5)
    blocks_of_day = DayFile(day_dir(tmp_path, day), create=False).last_rowid()
    for page in range(12):
        if page == 8:
            more = service_lines(300, start_ms=DAY_MS + 3_600_000 + 20_000, seed=9)
            more = [(make_id(id_ms(x[0]), 4, 0), *x[1:]) for x in more]
            writer.put(day, more)
            lines += more
        wanted = [x[0] for x in rng.sample(lines, 3)]
        got = reader.fetch("logs", wanted)
        assert sorted(got) == sorted(wanted)
        if page == 0:
            assert not used  # (3 lookups: far less than a sixteenth of the day's blocks)
    assert blocks_of_day > 3 * 40 and reader._heads[day].whole and used


def test_encode_lines_makes_the_blocks_cut_and_encode_make():
    """The writer's path (tuples, one compressor for every block) writes the very bytes of
    Entry objects cut into runs and each encoded with a compressor of its own."""
    import zstandard

    lines = service_lines(700)
    late = [(make_id(DAY_MS + 60_000_000 + i, 3, 0), (DAY_MS + 60_000_000 + i) * 1000, "late",
             {}, {}) for i in range(3)]
    other_slot = [(make_id(DAY_MS + 3_600_000 + 30, 5, i), 0, "x", {"a": i}, {})
                  for i in range(3)]
    mixed = [*lines[::-1], *late, *other_slot]
    samples = [f for x in service_lines(3000, seed=2)
               for f in blocks.frames([blocks.Entry(*x)])]
    zdict = zstandard.train_dictionary(16 * 1024, samples)
    for dict_id, z in [(0, None), (zdict.dict_id(), zdict)]:
        want = [blocks.encode(run, dict_id, z) for run in
                blocks.cut([blocks.Entry(*x) for x in mixed])]
        assert blocks.encode_lines(mixed, dict_id, blocks.compressor_for(z)) == want
