"""What a line costs with the line store against the text in searchd (issue 32).

    .venv/bin/python bench/linestore.py              # 200,000 lines per run (~3 minutes)
    .venv/bin/python bench/linestore.py -n 1000000 --save
    .venv/bin/python bench/linestore.py --fetch -n 600000   # lookups by id only (~1 minute)

For two kinds of lines — the bench's (bench/common.py: templates, hosts, a request id shared
by four lines) and lines as services log them (a random UUID, a random request id, an IP and
a number in every line) — and two layouts — the text in searchd (``line_store = false``) and
the line store — the same lines are stored through the writer's own DayStore into a searchd
of their own, the day compacted (FLUSH RAMCHUNK, OPTIMIZE INDEX) and searchd restarted; then
bytes per line on disk (searchd's files by type, the store) and searchd's memory that stays
(RssShmem).  A second table compares the store's containers on the same blocks: the SQLite
file it uses against an append-only segment file with an index file beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import storage
from common import bodies, progress, report, table

from alco.config import parse
from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, day_index, make_id
from alco.index.searchd import ManagedSearchd
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore.blocks import Entry, cut, encode
from alco.linestore.writing import LineWriter
from tests.helpers import free_port

BATCH = 2000
STEP_US = 3_000


def service_bodies(count: int, first_us: int, step_us: int) -> list[bytes]:
    rng = random.Random(32)
    out = []
    for n in range(count):
        stamp = datetime.fromtimestamp((first_us + n * step_us) / 1e6, UTC).isoformat()
        out.append(orjson.dumps({
            "@timestamp": stamp, "host": f"web{n % 8}", "levelname": "INFO",
            "logger": "shop.views", "process": 1000 + n % 16,
            "message": f"order {uuid.UUID(int=rng.getrandbits(128))} paid in "
                       f"{rng.randint(1, 5000)}ms from 10.{rng.randint(0, 255)}."
                       f"{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "request_id": f"{rng.getrandbits(64):016x}"}))
    return out


def one_run(kind: str, lines: list[bytes], store_on: bool) -> list:
    tmp = Path(tempfile.mkdtemp(prefix="alco-bench-linestore-"))
    cfg = parse({"sphinx": {"port": free_port(), "data_dir": str(tmp)},
                 "index": [{"name": "bench", "retention_days": 1, "line_store": store_on}]},
                "bench.toml", env={})
    ix = cfg.index("bench")
    searchd = ManagedSearchd(cfg)
    searchd.start()
    try:
        sx = Sphinx("127.0.0.1", cfg.sphinx.port)
        store = DayStore(sx, IndexSchema.of(ix), 1, 1,
                         lines=LineWriter(tmp) if store_on else None)
        options = options_for(cfg, ix)
        today = datetime.now(UTC).date()
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(lines), BATCH):
            store.store([normalise(b, options=options) for b in lines[i:i + BATCH]], today,
                        False)
        rate = len(lines) / (time.perf_counter() - start)
        cpu_us = (time.process_time() - cpu) / len(lines) * 1e6
        name = day_index("bench", today)
        compact(sx, name)
        heap = storage.memory(searchd.proc.pid).get("RssAnon", 0) / 2**20
        sx.close()
        searchd.stop()
        searchd.start()
        sx = Sphinx("127.0.0.1", cfg.sphinx.port)
        sx.query(f"SELECT id FROM {name} WHERE MATCH('order') LIMIT 10", [])
        mem = storage.memory(searchd.proc.pid)
        scan_rate = scan(cfg, ix, sx)
        sx.close()
        by, _ = storage.index_files(tmp, "bench")
        kept = sum(p.stat().st_size for p in tmp.glob("*.lines/*") if p.is_file())
        n = len(lines)
        raw = sum(len(b) + 1 for b in lines) / n
        sps, rest = by.get("sps", 0) / n, (sum(by.values()) - by.get("sps", 0)) / n
        return [kind, "line store" if store_on else "text in searchd", f"{raw:.0f}",
                f"{sps:.1f}", f"{rest:.1f}", f"{kept / n:.1f}",
                f"**{(sum(by.values()) + kept) / n:.1f}**",
                f"{mem.get('RssShmem', 0) / n:.1f}", f"{heap:.0f}", f"{rate:,.0f}",
                f"{cpu_us:.1f}",
                f"{scan_rate:,.0f}"]
    finally:
        searchd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scan(cfg: object, ix: object, sx: Sphinx) -> float:
    """Candidates a literal-free pattern's read checks per second (the best of three reads
    of a request's worth, newest first, matching (almost) nothing): searchd's rows checked
    (alco.search.reads.passing), or the store's lines checked as read (Texts.scan_matching)."""
    import alco.search.reader as reader
    import alco.search.reads as reads
    from alco.search.texts import Texts

    seen = [0]
    real, real_scan = reads.passing, Texts.scan_matching

    def counting(c: object, rows: list[dict]) -> list[dict]:
        seen[0] += len(rows)
        return real(c, rows)

    def counting_scan(self: Texts, *args: object) -> tuple:
        got = real_scan(self, *args)
        seen[0] += got[1]
        return got

    reads.passing, Texts.scan_matching = counting, counting_scan
    best = 0.0
    try:
        for _ in range(3):
            seen[0] = 0
            start = time.perf_counter()
            reader.Searcher(cfg, sx).lines(ix, reader.LineQuery(q=r"/\d{4}[a-z]{6}\d/"))
            best = max(best, seen[0] / (time.perf_counter() - start))
    finally:
        reads.passing, Texts.scan_matching = real, real_scan
    return best


def compact(sx: Sphinx, name: str) -> None:
    sx.execute(f"FLUSH RAMCHUNK {name}")
    sx.execute(f"OPTIMIZE INDEX {name}")
    for _ in range(3600):  # OPTIMIZE runs in a thread of its own: wait for one disk chunk
        chunks = [r for r in sx.query(f"SHOW INDEX {name} STATUS", [])
                  if r["Variable_name"] == "disk_chunks"]
        if chunks and int(chunks[0]["Value"]) <= 1:
            return
        time.sleep(1)
    raise TimeoutError(f"{name}: OPTIMIZE not done in an hour")


def containers(lines: list[bytes]) -> list[list]:
    """The same blocks into SQLite (what the store uses) and into a segment file."""
    entries = []
    for k, body in enumerate(lines):
        rec = orjson.loads(body)
        entries.append(Entry(make_id(1_796_000_000_000 + k, 0, 0), k, rec.pop("message"), {},
                             {}))
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="alco-bench-containers-"))
    try:
        writer = LineWriter(tmp)
        start = time.perf_counter()
        for i in range(0, len(entries), BATCH):
            writer.put("bench_20261206", [(e.id, e.ts_us, e.message, e.fields, e.marks)
                                          for e in entries[i:i + BATCH]])
        took = time.perf_counter() - start
        writer.close()  # (the write-ahead log checkpointed and cut back)
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        rows.append(["SQLite (WAL, synchronous = FULL), dictionary", f"{size / len(lines):.1f}",
                     f"{len(lines) / took:,.0f}"])
        seg, idx = tmp / "segment", tmp / "segment.idx"
        zdict = writer.trainer.current
        start = time.perf_counter()
        with open(seg, "ab") as data, open(idx, "ab") as index:
            for i in range(0, len(entries), BATCH):
                for b in (encode(run, 1, zdict) for run in cut(entries[i:i + BATCH])):
                    index.write(b.min_id.to_bytes(8, "little") + b.max_id.to_bytes(8, "little")
                                + data.tell().to_bytes(8, "little"))
                    data.write(b.data)
                data.flush()
                index.flush()
                os.fsync(data.fileno())
                os.fsync(index.fileno())
        took = time.perf_counter() - start
        size = seg.stat().st_size + idx.stat().st_size
        rows.append(["segment file + index file, the same dictionary",
                     f"{size / len(lines):.1f}", f"{len(lines) / took:,.0f}"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def fetch_run(n: int, trials: int = 20) -> list[list]:
    """Lines by id from the store (LineReader.fetch, what a page of hits costs): ``n`` service
    lines from two writer slots, interleaved as two writers store them, then pages of 1,000
    ids scattered over all of them and of 1,000 consecutive ones, each by a new reader (its
    block cache empty; the file in the page cache)."""
    from alco.index.schema import day_of_us, make_id, slot_of
    from alco.linestore.reading import LineReader

    tmp = Path(tempfile.mkdtemp(prefix="alco-bench-fetch-"))
    try:
        first_ms = int(time.time() * 1000) - n // 13 - 60_000  # ~13,000 lines/s
        rng = random.Random(5)
        lines = []
        counters: dict[tuple[int, int], int] = {}  # (ms, slot) -> the last counter given
        for k, body in enumerate(service_bodies(n, first_ms * 1000, 1)):
            rec = orjson.loads(body)
            ms = first_ms + k * 2 // 26
            fields = {f: rec[f] for f in ("host", "levelname", "logger", "process",
                                          "request_id")}
            # what python-logstash's formatter adds to every record
            fields |= {"path": "/srv/shop/views.py", "funcName": "create_order",
                       "lineno": rng.randrange(40, 900), "thread_name": "MainThread",
                       "process_name": "MainProcess", "stack_info": None, "type": "logstash",
                       "tags": [], "seq": k}
            slot = 1 + k % 2  # (~7 lines a millisecond and slot: below max_counter)
            counter = counters[ms, slot] = counters.get((ms, slot), -1) + 1
            lines.append((make_id(ms, slot, counter), ms * 1000,
                          rec["message"], fields, {}))
        day = day_index("bench", day_of_us(lines[0][1]))
        writer = LineWriter(tmp)
        for i in range(0, n, BATCH):  # each writer stores its own batches
            for slot in (1, 2):
                writer.put(day, [x for x in lines[i:i + BATCH] if slot_of(x[0]) == slot])
        ids = [x[0] for x in lines]
        rows = []
        for label, pick in (("1,000 ids scattered", lambda t: rng.sample(ids, 1000)),
                            ("1,000 consecutive ids", lambda t: ids[t * 997 % (n - 1000):]
                             [:1000])):
            times = []
            for t in range(trials):
                wanted = pick(t)
                reader = LineReader(tmp)
                start = time.perf_counter()
                got = reader.fetch("bench", wanted)
                times.append((time.perf_counter() - start) * 1000)
                assert len(got) == len(set(wanted))
            times.sort()
            rows.append([label, f"{n:,}", f"{times[len(times) // 2]:.1f}",
                         f"{times[-1]:.1f}", f"{times[len(times) // 2] * 1000 / 1000:.0f}"])
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="lines per run")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    parser.add_argument("--fetch", action="store_true",
                        help="only the store's lookups by id (pages of 1,000 ids), N lines")
    args = parser.parse_args()
    if args.fetch:
        rows = fetch_run(args.n)
        report(f"line store lookups by id, N = {args.n:,} lines of two writers", [
            ("LineReader.fetch of a page of ids, a new reader each time (20 pages)",
             table(["page", "lines stored", "p50 ms", "slowest ms", "µs a line (p50)"],
                   rows))], args.save)
        return
    first_us = int((time.time() - args.n * STEP_US / 1e6 - 60) * 1e6)
    if datetime.fromtimestamp(first_us / 1e6, UTC).date() != datetime.now(UTC).date():
        sys.exit("the lines would cross midnight: run later in the day or with a smaller -n")
    kinds = {"bench": list(bodies(0, args.n, first_us, STEP_US)),
             "service (random ids)": service_bodies(args.n, first_us, STEP_US)}
    rows = []
    for kind, lines in kinds.items():
        for store_on in (False, True):
            rows.append(one_run(kind, lines, store_on))
            progress(f"  {kind}, line store {store_on}: {rows[-1][6]} B/line")
    head = ["lines", "layout", "raw NDJSON", "searchd .sps", "searchd rest", "line store",
            "B/line on disk", "RssShmem B/line", "heap MiB after compaction", "lines/s stored",
            "CPU µs/line (writer)", "literal-free scan, lines/s"]
    contain = containers(kinds["service (random ids)"])
    report(f"line store against text in searchd, N = {args.n:,} lines per run, compacted",
           [("bytes per line (one day index, infixes, ondisk_attrs; searchd restarted after "
             "compaction)", table(head, rows)),
            ("the store's container, same blocks of 64 service lines (batches of 2000, each "
             "durable before the next)", table(["container", "B/line", "lines/s"], contain))],
           args.save)


if __name__ == "__main__":
    sys.exit(main())
