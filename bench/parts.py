"""A day's RT index in two parts: does writing one part wait while the other is written out?

    .venv/bin/python bench/parts.py                 # rt_mem_limit 64M, lines until a write-out
    .venv/bin/python bench/parts.py --rt-mem-limit 256M --save

What issue 32 proposes against the RAM chunk's write-out stall (bench/ingest.py --stalls: every
writer of a day waits seconds while searchd turns the day's full RAM chunk into a disk chunk):
two RT parts of the day, made as ALCO makes a day index for the line store, behind a
``type = distributed`` index of ``local`` parts, writers switching to the other part while one
is written out.  Measured on searchd itself, before any of it is built:

(a) part 1 is written (batches of 2000 writer-shaped rows: a service's lines, random UUIDs
    and request ids) until its RAM chunk becomes a disk chunk, while a side thread writes
    batches of 500 (made beforehand, written round and round) into part 2 and another reads
    the newest page of a word through the distributed index, each every 50 ms: how long part
    1's write-out took, and the slowest other write and read during it;
(b) the same until part 1's next write-out, the side writing part 1 itself on its own
    connection (what a writer's second lane does today, alco.ingest.writer): does a
    write-out hold other connections to the same part, or only the one that crossed (the
    write-out is then the slowest call of either writer, the other's calls are counted)?
(c) ``FLUSH RAMCHUNK`` of part 1 (what a switch would do once no writer writes part 1: in
    2.2.11 a flush loses rows written into the part while it runs), the side writing part 2.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from common import Stack, bodies, percentile, progress, report, table, terminate_on_sigterm

from alco.index import sphinxconf, sphinxql
from alco.index.daystore import DayStore
from alco.index.schema import IdAllocator, IndexSchema, day_index
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore.writing import keeper_for

INDEX = "parts"
BATCH, SIDE_BATCH, SIDE_PAUSE_S = 2000, 500, 0.05


def with_parts(day: str) -> tuple[str, str]:
    return f"{day}_1", f"{day}_2"


def render_with_parts(render, schema: IndexSchema, data_dir: Path, day: str):
    """ALCO's searchd config, and the day's two parts behind a distributed index."""
    def rendered(config, today):
        a, b = with_parts(day)
        extra = [sphinxconf.index_section(schema, name, data_dir, text_attr=False)
                 for name in (a, b)]
        extra.append("\n".join([f"index {day}_all", "{", "    type = distributed",
                                f"    local = {a}", f"    local = {b}", "}"]))
        return render(config, today) + "\n" + "\n\n".join(extra) + "\n"
    return rendered


class Side:
    """Writes into ``part`` and reads through the distributed index ``dist`` until stopped;
    each call's end time and seconds."""

    def __init__(self, store: DayStore, sx_port: int, part: str, dist: str, rows) -> None:
        self.store, self.port, self.part, self.dist, self.rows = store, sx_port, part, dist, rows
        self.writes: list[tuple[float, float]] = []
        self.reads: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write), threading.Thread(target=self._read)]

    def __enter__(self) -> Side:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _write(self) -> None:
        while not self.stop.is_set():
            rows = self.rows()
            t = time.perf_counter()
            self.store.put_rows(self.part, rows)
            self.writes.append((time.time(), time.perf_counter() - t))
            time.sleep(SIDE_PAUSE_S)

    def _read(self) -> None:
        sx = sphinxql.Sphinx("127.0.0.1", self.port)
        try:
            while not self.stop.is_set():
                t = time.perf_counter()
                sx.query(f"SELECT id FROM {self.dist} WHERE MATCH('payment') "
                         "ORDER BY id DESC LIMIT 100")
                self.reads.append((time.time(), time.perf_counter() - t))
                time.sleep(SIDE_PAUSE_S)
        finally:
            sx.close()

    def during(self, start: float, seconds: float) -> tuple[int, float, int, float]:
        """How many writes and reads ended within [start, start + seconds + 0.5 s], and the
        slowest of each (ms)."""
        return (*within(self.writes, start, seconds), *within(self.reads, start, seconds))


def within(calls: list[tuple[float, float]], start: float, seconds: float
           ) -> tuple[int, float]:
    """How many of ``calls`` (end time, seconds) ended within [start, start + seconds +
    0.5 s], and the slowest of them (ms)."""
    got = [s for end, s in calls if start <= end <= start + seconds + 0.5]
    return len(got), max(got, default=0) * 1000


def run(args: argparse.Namespace) -> None:
    sphinxconf.RT_MEM_LIMIT = args.rt_mem_limit
    stack = Stack("parts")
    stack.add_index(INDEX)
    try:
        cfg = stack.config()
        ix = cfg.index(INDEX)
        schema = IndexSchema.of(ix)
        today = datetime.now(UTC).date()
        day = day_index(INDEX, today)
        a, b = with_parts(day)
        sphinxconf.render = render_with_parts(sphinxconf.render, schema,
                                              Path(cfg.sphinx.data_dir).resolve(), day)
        stack.start_searchd()
        sx = sphinxql.Sphinx("127.0.0.1", cfg.sphinx.port)
        store = DayStore(sx, schema, 0, ix.retention_days, lines=keeper_for(cfg, ix))
        side_sx = sphinxql.Sphinx("127.0.0.1", cfg.sphinx.port)
        side_store = DayStore(side_sx, schema, 1, ix.retention_days, lines=keeper_for(cfg, ix))
        options = options_for(cfg, ix)
        first_us = int(time.time() * 1e6) - 3_600_000_000
        lock = threading.Lock()
        made = {"n": 0}
        ids = {0: IdAllocator(0), 1: IdAllocator(1)}

        def rows_for(slot: int, target: DayStore):
            def rows(count: int) -> list[list]:
                with lock:
                    start = made["n"]
                    made["n"] += count
                out = []
                for body in bodies(start, count, first_us, 1000):
                    rec = normalise(body, options=options)
                    doc_id = ids[slot].allocate([rec.ts_us // 1000], lambda _: {})[0]
                    out.append(target._row(doc_id, rec))
                return out
            return rows

        main_rows = rows_for(0, store)
        progress(f"side rows: {args.side_lines:,} made beforehand")
        pool = rows_for(1, side_store)(args.side_lines)

        at = {"n": 0}

        def side_rows() -> list[list]:
            """The next SIDE_BATCH of the pool, round and round (a row written again
            replaces itself: what searchd does for it is the same work)."""
            with lock:
                n = at["n"] % len(pool)
                at["n"] = n + SIDE_BATCH
            return pool[n:n + SIDE_BATCH]

        def write_out(chunks: int, side_part: str, label: str) -> list:
            """Part 1 written until it has ``chunks`` disk chunks, the side writing
            ``side_part``."""
            with Side(side_store, cfg.sphinx.port, side_part, f"{day}_all", side_rows) as side:
                times, written = [], 0
                while int(sphinxql.index_status(sx, a).get("disk_chunks", 0)) < chunks:
                    rows = main_rows(BATCH)
                    t = time.perf_counter()
                    store.put_rows(a, rows)
                    times.append((time.time(), time.perf_counter() - t))
                    written += len(rows)
            # the write-out: the slowest call into part 1 (the main writer's, or in (b) the
            # side's when its REPLACE crossed the limit); the other writer's calls during it
            mine = max(times, key=lambda c: c[1])
            theirs = max(side.writes, key=lambda c: c[1]) if side_part == a else (0, 0)
            crossed, other = (mine, side.writes) if mine[1] >= theirs[1] else (theirs, times)
            end, seconds = crossed
            reads = within(side.reads, end - seconds, seconds)
            return [f"{a}'s write-out ({written:,} lines): {label}"
                    f"{'' if crossed is mine else ' (the side crossed the limit)'}",
                    f"{seconds * 1000:,.0f}", *within(other, end - seconds, seconds), *reads,
                    f"{percentile([s for _, s in times if s < seconds], 50) * 1000:.0f}"]

        results = []
        progress(f"(a) {a} written until its RAM chunk ({args.rt_mem_limit}) is a disk chunk, "
                 f"the side writing {b}")
        results.append(write_out(1, b, f"the side writes {b}, the other part"))
        progress(f"(b) {a} written until its next write-out, the side writing {a} too")
        results.append(write_out(2, a, f"the side writes {a} too, on a connection of its own "
                                       "(as a writer's second lane)"))
        progress(f"(c) FLUSH RAMCHUNK {a} after {args.flush_lines:,} lines more")
        with Side(side_store, cfg.sphinx.port, b, f"{day}_all", side_rows) as side:
            for _ in range(0, args.flush_lines, BATCH):
                store.put_rows(a, main_rows(BATCH))
            ram = int(sphinxql.index_status(sx, a).get("ram_bytes", 0))
            t0, t = time.time(), time.perf_counter()
            sx.execute(f"FLUSH RAMCHUNK {a}")
            seconds = time.perf_counter() - t
            results.append([f"FLUSH RAMCHUNK {a} (RAM chunk {ram / 2**20:,.0f} MiB), the side "
                            f"writes {b}", f"{seconds * 1000:,.0f}", *side.during(t0, seconds),
                            "-"])
        rows = [[what, ms, w, f"{w_max:.0f}", r, f"{r_max:.0f}", p50]
                for what, ms, w, w_max, r, r_max, p50 in results]
        report(f"a day in two RT parts, rt_mem_limit {args.rt_mem_limit}", [(
            f"Part 1 written out while a side thread writes ({SIDE_BATCH} rows made beforehand, "
            f"every {SIDE_PAUSE_S * 1000:.0f} ms) and another reads through the distributed "
            "index of both parts (the newest 100 of a word, every 50 ms)", table(
                ["what part 1 did", "ms", "the other writer's REPLACEs during it", "slowest ms",
                 "reads during it", "slowest ms", f"part 1 batch of {BATCH} p50 ms"], rows))],
            args.save)
        sx.close()
        side_sx.close()
    finally:
        progress("cleaning up")
        stack.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rt-mem-limit", default="64M", help="of both parts (default 64M)")
    parser.add_argument("--flush-lines", type=int, default=100_000,
                        help="lines written into part 1 before (b)'s flush")
    parser.add_argument("--side-lines", type=int, default=100_000,
                        help="rows the side thread writes (round and round), made beforehand")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    terminate_on_sigterm()  # (SIGTERM cleans up as Ctrl-C does)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
