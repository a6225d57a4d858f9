"""What infixes (``min_infix_len = 3``, for substrings and regexes) cost the ingest: searchd's
CPU per line and the index's bytes per line, with and without, alternating runs.

    .venv/bin/python bench/infixes.py              # 1,000,000 lines, two runs each
    .venv/bin/python bench/infixes.py -n 300000 --save

The bench's logcollect-shaped lines are normalised and bulk-REPLACEd (2000 a statement, as the
writers do) into one day index of an own searchd; searchd's CPU (utime + stime from /proc) is
read before and after, the RAM chunk flushed, and its files measured.  CPU time, not wall time:
the number holds on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from common import Stack, progress, record, report, table, terminate_on_sigterm

from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, day_index, make_id
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore.writing import keeper_for

BATCH = 2000


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(n: int, infixes: bool) -> tuple[float, float, float]:
    """(searchd CPU µs per line, index bytes per line, wall seconds)."""
    stack = Stack("infixes")
    stack.add_index("bench", infixes=infixes)
    try:
        stack.start_searchd()
        cfg = stack.config()
        ix = cfg.index("bench")
        data = Path(cfg.sphinx.data_dir)
        pid = int((data / "searchd.pid").read_text().split()[0])
        sx = Sphinx("127.0.0.1", cfg.sphinx.port)
        store = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days,
                         lines=keeper_for(cfg, ix))
        options = options_for(cfg, ix)
        first_us = int(time.time() * 1e6) - n * 1000
        day = day_index("bench", datetime.now(UTC).date())
        before, start = cpu_s(pid), time.perf_counter()
        rows: list = []
        for k in range(n):
            rec = normalise(orjson.dumps(record(k, first_us + k * 1000)), options=options)
            rows.append(store._row(make_id(rec.ts_us // 1000, 0, 0), rec))
            if len(rows) == BATCH:
                store.put_rows(day, rows)
                rows = []
        if rows:
            store.put_rows(day, rows)
        sx.query(f"FLUSH RTINDEX {day}")
        used = cpu_s(pid) - before
        wall = time.perf_counter() - start
        size = sum(p.stat().st_size for p in data.glob(f"{day}.*") if p.is_file())
        sx.close()
        return used / n * 1e6, size / n, wall
    finally:
        stack.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="lines a run")
    parser.add_argument("--runs", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    args = parser.parse_args()
    terminate_on_sigterm()
    rows = []
    for _ in range(args.runs):
        for infixes in (True, False):
            progress(f"{args.n:,} lines, infixes {'on' if infixes else 'off'}")
            cpu, size, wall = one_run(args.n, infixes)
            rows.append(["min_infix_len = 3" if infixes else "none", f"{cpu:.1f}",
                         f"{size:.0f}", f"{wall:.1f}"])
    report(f"infixes: what they cost the ingest, N = {args.n:,}", [(
        "Bulk REPLACE of logcollect-shaped lines into one day index (2000 a statement): "
        "searchd CPU per line (utime + stime), the day index's files per line after FLUSH "
        "RTINDEX, wall time (load-dependent)",
        table(["infixes", "searchd CPU µs/line", "index B/line", "wall s"], rows))], args.save)


if __name__ == "__main__":
    main()
