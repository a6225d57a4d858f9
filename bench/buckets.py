"""What a day's id bucket count does to a lookup of an id and to the dictionary (issue 32).

    .venv/bin/python bench/buckets.py                 # 1,000,000 lines, 2^12 / 2^14 / 2^16
    .venv/bin/python bench/buckets.py -n 300000 --bits 12 16 --save

Lines as services log them (a random UUID, a random request id, an IP and a number in each:
bench/linestore.py's) are stored through the writer's own DayStore and line store into one
day index of a searchd of its own, made with ``2 ** bits`` id buckets
(alco.index.bucketsizes); the day is compacted and searchd restarted.  Then random lookups
through the reader (in-process, one at a time, first page of 8, the whole day): a request id
(``request_id:<id>``, an ``indexed`` column) and a whole UUID (a phrase of its groups), each
of a line picked at random.  What a lookup costs is the candidates its bucket holds, each
checked against the store: a day of N lines in 2^b buckets is as loaded as a day of 4N lines
in 2^(b+2), so a small day with few buckets is a scale model of a big day: 1M lines in 2^12
buckets hold as many lines a bucket (~244) as a day of 16M in the 65,536 that every day had
before a day's count was chosen from its index's lines (alco.index.buckets.bits_for: at
most 32 lines a bucket).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import storage
from common import bench_columns, percentile, progress, report, table
from linestore import BATCH, STEP_US, compact, service_bodies

from alco.config import parse
from alco.index import buckets
from alco.index.daystore import DayStore
from alco.index.schema import DayLayout, IndexSchema, day_index
from alco.index.searchd import ManagedSearchd
from alco.index.sphinxql import Sphinx, describe
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore.writing import LineWriter
from alco.search import reader
from tests.helpers import free_port


def one_run(lines: list[bytes], bits: int, lookups: int) -> list:
    tmp = Path(tempfile.mkdtemp(prefix="alco-bench-buckets-"))
    cfg = parse({"sphinx": {"port": free_port(), "data_dir": str(tmp)},
                 "index": [{"name": "bench", "retention_days": 1,
                            "columns": bench_columns()}]}, "bench.toml", env={})
    ix = cfg.index("bench")
    real_bits_for, real_sizes = buckets.bits_for, buckets.SIZES
    buckets.bits_for = lambda n: bits  # (a new day of this many buckets)
    buckets.SIZES = tuple(sorted({*real_sizes, bits}))  # (and queries look its size up)
    searchd = ManagedSearchd(cfg)
    try:
        searchd.start()
        sx = Sphinx("127.0.0.1", cfg.sphinx.port)
        name = day_index("bench", datetime.now(UTC).date())
        assert DayLayout.of(describe(sx, name)).bucket_bits == bits
        store = DayStore(sx, IndexSchema.of(ix), 1, 1, lines=LineWriter(tmp))
        options = options_for(cfg, ix)
        today = datetime.now(UTC).date()
        start = time.perf_counter()
        for i in range(0, len(lines), BATCH):
            store.store([normalise(b, options=options) for b in lines[i:i + BATCH]], today,
                        False)
            progress(f"2^{bits}: {i + BATCH:,} lines stored")
        rate = len(lines) / (time.perf_counter() - start)
        compact(sx, name)
        sx.close()
        searchd.stop()
        searchd.start()
        sx = Sphinx("127.0.0.1", cfg.sphinx.port)
        mem = storage.memory(searchd.proc.pid)
        by, _ = storage.index_files(tmp, "bench")
        rng = random.Random(bits)
        picks = [orjson.loads(lines[rng.randrange(len(lines))]) for _ in range(lookups)]
        times: dict[str, list[float]] = {"request id": [], "UUID": []}
        searcher = reader.Searcher(cfg, sx)
        for rec in picks[:5]:  # (warm: the first reads of a restarted searchd load its files)
            searcher.lines(ix, reader.LineQuery(q=rec["message"].split()[1], limit=8))
        for rec in picks:
            for kind, q in (("request id", f"request_id:{rec['request_id']}"),
                            ("UUID", rec["message"].split()[1])):
                t0 = time.perf_counter()
                page = searcher.lines(ix, reader.LineQuery(q=q, limit=8))
                times[kind].append((time.perf_counter() - t0) * 1000)
                assert page.lines, q  # (every picked line is found)
        sx.close()
        n = len(lines)
        out = []
        for kind, ms in times.items():
            out.append([f"2^{bits} ({1 << bits:,})", f"{n:,}", kind,
                        f"{percentile(ms, 50):.1f}", f"{percentile(ms, 99):.1f}",
                        f"{max(ms):.1f}", f"{by.get('spi', 0) / 2**20:.1f}",
                        f"{mem.get('RssShmem', 0) / n:.1f}",
                        f"{sum(by.values()) / n:.1f}", f"{rate:,.0f}"])
        return out
    finally:
        buckets.bits_for, buckets.SIZES = real_bits_for, real_sizes
        searchd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="lines of the day")
    parser.add_argument("--bits", type=int, nargs="+", default=[12, 14, 16])
    parser.add_argument("--lookups", type=int, default=200, help="of each kind, per run")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    first_us = int(datetime.now(UTC).replace(hour=0, minute=0, second=0,
                                             microsecond=0).timestamp() * 1e6)
    lines = service_bodies(args.n, first_us, min(STEP_US, 86_000_000_000 // args.n))
    rows = [row for bits in args.bits for row in one_run(lines, bits, args.lookups)]
    headers = ["buckets", "lines", "lookup", "p50 ms", "p99 ms", "slowest ms",
               "dictionary (.spi) MiB", "RssShmem B/line", "index B/line", "lines/s stored"]
    report(f"id buckets, N = {args.n:,} service lines, one day compacted", [
        (f"A lookup's first page (8 lines, the whole day, in-process, {args.lookups} "
         "random lines) by the day's bucket count; searchd restarted after the "
         "compaction", table(headers, rows))], args.save)


if __name__ == "__main__":
    sys.exit(main())
