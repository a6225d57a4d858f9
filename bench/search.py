"""Search benchmark: ALCO's HTTP API against rg and grep -F over the same lines in a flat file.

    .venv/bin/python bench/search.py            # N = 10,000,000 lines (several minutes)
    .venv/bin/python bench/search.py --quick    # N = 300,000, under 3 minutes
    .venv/bin/python bench/search.py --save     # also append the tables to bench/HISTORY.md
    .venv/bin/python bench/search.py --workload -n 1000000 --save   # random reading workload
    .venv/bin/python bench/search.py --workload --compact --save    # past days compacted first

N records from the shared generator are loaded into today's RT index of an own searchd (rows
shaped like the writer's, bulk REPLACE from two loader processes) and written, as the JSON the
shippers send, one per line, to a flat file.  Each query class is then timed through the real
API of ``alco web`` (p50/p99) and, for the equivalent search, with ``rg`` and ``grep -F``.  The
grep side gets the better of two command lines: ``rg PAT FILE | tail -n 100`` (a full scan) and
``tac FILE | rg -m 100 PAT`` (newest first, stops early), since ALCO pages show the newest hits.
Last, ``wrk`` measures requests/s of /api/<index>/lines at growing concurrency.

``--workload`` instead loads lines shaped like a real service's over several days (busy days,
quiet nights, silent hours, bursts, one that ended seconds before the load) and runs a seeded
random reading workload through the API: terms from rare to common, cursors both ways, limits
1-1000, random ranges, context and histograms.  It reports p50 / p99 / slowest (and which
request that was) and the SphinxQL queries per request (the same request run in-process).
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import multiprocessing as mp
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import storage
from common import (
    COMMON_WORD,
    PHRASE,
    Stack,
    bodies,
    percentile,
    progress,
    record,
    report,
    request_id,
    table,
    terminate_on_sigterm,
)
from grep_classes import run_grep

from alco.catalog.reader import ValuesReader, seen_columns
from alco.catalog.values import ValuesStore
from alco.index import buckets, commonvalues, compaction, ids, sphinxconf
from alco.index.bucketsizes import STATE_FILE
from alco.index.daystore import DayStore, TransientError
from alco.index.ids import MAX_SLOT, max_counter
from alco.index.schema import (
    Common,
    IndexSchema,
    day_index,
    day_of_us,
    make_id,
    value_hash,
    value_text,
)
from alco.index.searchd import ManagedSearchd
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.linestore import repack
from alco.linestore.daydb import day_dir
from alco.linestore.writing import keeper_for
from alco.search import compile as sphinxquery
from alco.search import language as qlang
from alco.search.budget import MAX_QUERIES
from alco.search.reader import LineQuery, Searcher
from alco.search.reads import row_fields
from alco.search.texts import Texts

CHUNK = 50_000
BATCH = 5000
INDEX = "bench"
SPAN_HOURS = 8
SHAPE_DAYS = 4  # --workload: the lines span this many days
COMMON_SHARE = 0.1  # the default [sphinx] common_share
# a segment's lines at most 40 a millisecond (a burst longer than asked for at 100M lines):
# one writer slot's 64 dense ids of a millisecond hold them (alco.index.ids)
MIN_STEP_US = 25


Segment = tuple[int, int, int]  # (first µs, lines, µs between lines)


def shaped_segments(n: int, end_us: int, seed: int = 1) -> list[Segment]:
    """Where ``n`` lines of a service fall over SHAPE_DAYS days before ``end_us``: hours busy
    by day and quiet by night, one hour in eight silent (a deploy, an outage), a third of the
    lines in short bursts (5-120 s) here and there, and a last burst ending five seconds
    before ``end_us``."""
    rng = random.Random(seed)
    hour_us = 3_600_000_000
    first_us = end_us - SHAPE_DAYS * 24 * hour_us
    parts: list[tuple[int, int, float]] = []  # (first µs, duration µs, weight)
    for h in range(SHAPE_DAYS * 24):
        if rng.random() < 0.125:
            continue
        busy = 8 <= (h + 6) % 24 < 20
        parts.append((first_us + h * hour_us, hour_us, (1.0 if busy else 0.15) / 2))
    day_weight = sum(w for *_, w in parts)
    for _ in range(40):
        parts.append((first_us + rng.randrange(SHAPE_DAYS * 24 * hour_us),
                      rng.randrange(5, 120) * 1_000_000, day_weight / 2 / 41))
    parts.append((end_us - 5_000_000 - 20_000_000, 20_000_000, day_weight / 2 / 41))
    total = sum(w for *_, w in parts)
    segments, given = [], 0
    for i, (start, duration, weight) in enumerate(parts):
        count = n - given if i == len(parts) - 1 else int(n * weight / total)
        if count > 0:
            segments.append((start, count, max(duration // count, MIN_STEP_US)))
            given += count
    return segments


def shaped_place(segments: list[Segment], starts: list[int], k: int) -> tuple[int, int, int]:
    """Record ``k``'s time (µs), its segment and its place in it; ``starts`` are the
    segments' first record numbers."""
    i = bisect.bisect_right(starts, k) - 1
    first, _, step = segments[i]
    return first + (k - starts[i]) * step, i, k - starts[i]


def segment_slots(segments: list[Segment]) -> list[int]:
    """A writer slot for each segment, another than those of the segments its time overlaps
    (in start order, a slot is free once its last segment has ended): the loaders' ids are
    then unique without a shared allocator."""
    ends = [-1] * (MAX_SLOT + 1)  # each slot's last segment's end (µs)
    slots = [0] * len(segments)
    for i in sorted(range(len(segments)), key=lambda i: segments[i][0]):
        first, lines, step = segments[i]
        slot = next(s for s in range(MAX_SLOT + 1) if ends[s] < first)
        ends[slot], slots[i] = first + lines * step, slot
    return slots


def segment_counter(first_us: int, step_us: int, i: int) -> int:
    """The counter of a segment's ``i``-th line within its millisecond: how many of the
    segment's lines came before it in that millisecond (below 40: MIN_STEP_US)."""
    ms = (first_us + i * step_us) // 1000
    return i - max(0, -((first_us - ms * 1000) // step_us))


def shaped_records(start: int, count: int, segments: list[Segment]
                   ) -> Iterator[tuple[bytes, int, int]]:
    """Records ``start .. start+count-1`` of the shaped lines: (JSON body, writer slot,
    counter within the millisecond)."""
    starts = [0]
    for _, lines, _ in segments[:-1]:
        starts.append(starts[-1] + lines)
    slots = segment_slots(segments)
    for k in range(start, start + count):
        ts_us, seg, i = shaped_place(segments, starts, k)
        first, _, step = segments[seg]
        yield orjson.dumps(record(k, ts_us)), slots[seg], segment_counter(first, step, i)


def load_chunk(job: tuple) -> int:
    """Loader process: records of one chunk -> REPLACEs into searchd (each row into the index
    of its day) and, unless ``part`` is None, a flat-file part."""
    chunk, n, first_us, step_us, port, cfg, segments, part = job
    sphinx = Sphinx("127.0.0.1", port)
    ix = cfg.index(INDEX)
    # (chunks of even lines are disjoint in time: adjacent ones, which may share a millisecond,
    # take the two slots in turn)
    store = DayStore(sphinx, IndexSchema.of(ix), chunk % 2, ix.retention_days,
                     lines=keeper_for(cfg, ix))
    options = options_for(cfg, ix)
    counters: dict[tuple[int, int], int] = {}
    rows: list = []
    index = ""
    start = chunk * CHUNK
    count = min(CHUNK, n - start)
    records = (shaped_records(start, count, segments) if segments is not None else
               ((body, chunk % 2, -1)
                for body in bodies(start, count, first_us + start * step_us, step_us)))
    with open(part if part is not None else os.devnull, "wb") as out:
        for body, slot, counter in records:
            out.write(body + b"\n")
            rec = normalise(body, options=options)
            ms = rec.ts_us // 1000
            day = day_index(INDEX, day_of_us(rec.ts_us))
            if rows and (day != index or len(rows) == BATCH):
                put_rows(store, index, rows)
                rows = []
            index = day
            if counter < 0:  # (even lines: counted within the chunk)
                counter = counters[ms, slot] = counters.get((ms, slot), -1) + 1
            if counter > max_counter(ms):
                raise ValueError(f"chunk {chunk}: {counter + 1} lines in one millisecond")
            rows.append(store._row(make_id(ms, slot, counter), rec))
    if rows:
        put_rows(store, index, rows)
    if store.lines is not None:
        store.lines.close()
    sphinx.close()
    return count


def put_rows(store: DayStore, index: str, rows: list) -> None:
    """Rows into the line store, then searchd, as a writer does; again after a transient error
    (two loaders append to one day's store file: one may wait longer than its busy timeout),
    at most 20 times."""
    for attempt in range(20):
        try:
            store.put_rows(index, rows)
            return
        except TransientError:
            if attempt == 19:
                raise
            time.sleep(0.1 * (attempt + 1))


class Bench:
    def __init__(self, stack: Stack, n: int, repeats: int, tool_repeats: int,
                 shaped: bool = False, slot_bits: int = 2) -> None:
        self.stack, self.n = stack, n
        self.repeats, self.tool_repeats = repeats, tool_repeats
        # The lines end two minutes ago and span SPAN_HOURS whatever the time of day (so the
        # lines per minute, which the newest-page queries depend on, are the same in every
        # run); before midnight they go to yesterday's index.
        end_us = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp() * 1e6)
        self.step_us = max(SPAN_HOURS * 3_600_000_000 // n, 1)
        self.first_us = end_us - self.step_us * n
        self.segments: list[Segment] | None = None
        self.span_us = (self.first_us, self.first_us + self.step_us * (n - 1))
        if shaped:
            self.segments = shaped_segments(n, int(time.time() * 1e6))
            self.span_us = (min(first for first, _, _ in self.segments),
                            max(first + (lines - 1) * step for first, lines, step
                                in self.segments))
        days = range(self.span_us[0] // 86_400_000_000, self.span_us[1] // 86_400_000_000 + 1)
        self.indexes = [day_index(INDEX, datetime.fromtimestamp(d * 86_400, UTC).date())
                        for d in days]
        # every day of the bench has the ids of ``slot_bits``-bit writer slots (the loaders
        # use two), in the config the web app reads and in this process (the loaders fork)
        first = datetime.fromtimestamp(days[0] * 86_400, UTC).date().isoformat()
        stack.data["sphinx"].update(dense_ids_from=first, slot_bits=[f"{first}:{slot_bits}"])
        self.cfg = stack.config()
        ids.set_forms(self.cfg.sphinx.dense_from, self.cfg.sphinx.narrow_forms)
        self.sphinx = Sphinx("127.0.0.1", self.cfg.sphinx.port)
        self.flat = stack.tmp / "lines.ndjson"
        self.base = f"http://{self.cfg.web.bind}/api/{INDEX}"

    def ts_of(self, n: int) -> datetime:
        return datetime.fromtimestamp((self.first_us + n * self.step_us) / 1e6, UTC)

    def load(self) -> float:
        parts_dir = self.stack.tmp / "parts"
        parts_dir.mkdir()
        chunks = range((self.n + CHUNK - 1) // CHUNK)
        # (the workload reads through the API alone: no flat file, 30 GB at 100M lines)
        flat = self.segments is None
        jobs = [(c, self.n, self.first_us, self.step_us, self.cfg.sphinx.port, self.cfg,
                 self.segments, parts_dir / f"{c:06d}" if flat else None) for c in chunks]
        start = time.perf_counter()
        done = 0
        # the workers keep SIGTERM's default: the pool ends them with it when it closes
        with mp.get_context("fork").Pool(2, initializer=signal.signal,
                                         initargs=(signal.SIGTERM, signal.SIG_DFL)) as pool:
            for count in pool.imap_unordered(load_chunk, jobs):
                done += count
                if done % 1_000_000 < CHUNK or done == self.n:
                    progress(f"  loaded {done:,}")
        elapsed = time.perf_counter() - start
        # what the collector's writers keep in Redis: where the newest line is
        values = ValuesStore(self.cfg.redis.url, self.cfg.redis.prefix, INDEX, ())
        fields = {k: v for k, v in record(0, 0).items() if not k.startswith("@")}
        values.add(fields, self.span_us[1] / 1e6)  # and the columns seen: field filters
        assert values.flush(), "redis unreachable"
        with open(self.flat, "wb") as out:
            for job in jobs if flat else ():
                with open(job[-1], "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
                job[-1].unlink()
        rows = self.sphinx.query(f"SELECT COUNT(*) AS n FROM {', '.join(self.indexes)}")
        assert int(rows[0]["n"]) == self.n, f"loaded {rows[0]['n']} of {self.n}"
        return self.n / elapsed

    def find_id(self, match: str, offset: int = 0) -> int:
        rows = self.sphinx.query(
            f"SELECT id FROM {', '.join(self.indexes)} WHERE MATCH(%s) ORDER BY id DESC "
            f"LIMIT {offset}, 1 "
            f"OPTION max_matches={offset + 1}", [match])
        return int(rows[0]["id"])

    def request_line(self, rid: str) -> int:
        """The id of the newest line of request ``rid``: its bucket's lines (day indexes of the
        line store index ids as buckets, alco.index.buckets), checked."""
        match = f"@f_request_id ({' | '.join((rid, *buckets.query_texts(rid)))})"
        rows = self.sphinx.query(
            f"SELECT id FROM {', '.join(self.indexes)} WHERE MATCH(%s) ORDER BY id DESC "
            "LIMIT 5000 OPTION max_matches=5000", [match])
        rows = self.sphinx_rows_with_fields(rows)
        return next(int(r["id"]) for r in rows if row_fields(r)["request_id"] == rid)

    def sphinx_rows_with_fields(self, rows: list[dict]) -> list[dict]:
        """``rows`` (ids) with their fields, from the line store or searchd's ``js``."""
        Texts(self.sphinx, str(self.stack.searchd.data_dir)).fill(INDEX, self.indexes, rows,
                                                                  ("js",))
        return rows

    def api(self, client: httpx.Client, path: str, params: dict) -> list[float]:
        """Time a request ``repeats`` times (after two warm-ups); seconds.  The first one's
        time (what was not kept yet: kept histogram counts, searchd's caches) is in
        ``self.first``."""
        times = []
        for i in range(self.repeats + 2):
            t = time.perf_counter()
            resp = client.get(self.base + path, params=params)
            elapsed = time.perf_counter() - t
            if resp.status_code != 200:
                raise RuntimeError(f"{path} {params}: {resp.status_code} {resp.text[:200]}")
            if i == 0:
                self.first = elapsed
            if i >= 2:
                times.append(elapsed)
        return times

    def shell(self, command: str) -> float:
        """Median wall time of a shell pipeline (its output discarded)."""
        times = []
        for _ in range(self.tool_repeats):
            t = time.perf_counter()
            # Through cat: GNU grep writing straight to /dev/null stops at the first match.
            subprocess.run(["bash", "-c", command + " | cat > /dev/null"], check=False)
            times.append(time.perf_counter() - t)
        return percentile(times, 50)

    def searcher(self) -> Searcher:
        return Searcher(self.cfg, self.sphinx,
                        newest=ValuesReader(self.cfg.redis.url, self.cfg.redis.prefix).newest)

    def count(self, q: str) -> int:
        return self.searcher().count(self.cfg.index(INDEX), None, None, q)

    def rg_count(self, pipeline: str) -> int:
        out = subprocess.run(["bash", "-c", pipeline + " | wc -l"], capture_output=True,
                             text=True).stdout
        return int(out.strip() or 0)


def grep_pages(tool: str, flat: str, patterns: list[str], take: int = 100) -> list[str]:
    """Two ways to get the newest ``take`` matches of all ``patterns`` (AND) in the file."""
    tool_f = f"{tool} -F"
    filters = [f"{tool_f} {shlex.quote(p)}" for p in patterns]
    scan = f"{filters[0]} {flat}" + "".join(f" | {f}" for f in filters[1:])
    full = f"{scan} | tail -n {take}"
    last = f"{filters[-1]} -m {take}"
    newest = f"tac {flat}" + "".join(f" | {f}" for f in filters[:-1]) + f" | {last}"
    return [full, newest]


def query_classes(b: Bench) -> list[dict]:
    mid = b.n * 3 // 4
    rid = request_id(mid)
    minute = b.ts_of(b.n // 2).replace(second=0, microsecond=0)
    deep = b.find_id(f"@logline {COMMON_WORD}", 10_000) if b.n > 200_000 else None
    line_id = b.request_line(rid)
    to = minute + timedelta(seconds=59, microseconds=999_999)
    stamp = f'"@timestamp":"{minute:%Y-%m-%dT%H:%M}'
    seq = f'"request_id":"{rid}","seq":{mid}'
    classes = [
        {"name": "rare token (request id)", "params": {"q": f"request_id:{rid}"},
         "grep": [f'"request_id":"{rid}"']},
        {"name": f"common word ({COMMON_WORD})", "params": {"q": COMMON_WORD},
         "grep": [COMMON_WORD]},
        {"name": "phrase", "params": {"q": f'"{PHRASE}"'}, "grep": [PHRASE]},
        {"name": "field filter levelname:ERROR", "params": {"q": "levelname:ERROR"},
         "grep": ['"levelname":"ERROR"']},
        {"name": "field filter + word", "params": {"q": "levelname:ERROR declined"},
         "grep": ['"levelname":"ERROR"', "declined"]},
        {"name": "time-window page (1 min, oldest 100)",
         "params": {"from": minute.isoformat(), "to": to.isoformat(), "order": "asc"},
         "commands": lambda tool: [f"{tool} -F -m 100 {shlex.quote(stamp)} {b.flat}"]},
    ]
    if deep is not None:
        classes.append(
            {"name": "deep page (10,000 hits in)", "params": {"q": COMMON_WORD,
                                                              "before": str(deep)},
             "commands": lambda tool: [
                 f"tac {b.flat} | {tool} -F -m 10100 {COMMON_WORD} | tail -n 100"]})
    hist = {"q": COMMON_WORD, "from": b.ts_of(0).isoformat(), "to": b.ts_of(b.n).isoformat()}
    tool_c = "rg -c: no buckets"
    classes += [
        {"name": "context of a line (10 + 10)", "path": f"/context/{line_id}",
         "params": {"before": "10", "after": "10"},
         "commands": lambda tool: [f"{tool} -F -m 1 -C 10 {shlex.quote(seq)} {b.flat}"]},
        {"name": f"histogram ({COMMON_WORD}, 60 buckets)", "path": "/histogram",
         "params": hist, "commands": lambda tool: [
             # hits per minute (the buckets are whole minutes): the same answer as ALCO's
             f"{tool} -F {COMMON_WORD} {b.flat} | cut -c15-30 | uniq -c"]},
        {"name": f"histogram vs a total count ({tool_c})", "path": "/histogram",
         "params": hist, "commands": lambda tool: [f"{tool} -F -c {COMMON_WORD} {b.flat}"]},
    ]
    return classes


def speedup(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def run_queries(b: Bench) -> list[list]:
    rows = []
    flat = str(b.flat)
    with httpx.Client(timeout=60) as client:
        for qc in query_classes(b):
            progress(f"  {qc['name']}")
            times = b.api(client, qc.get("path", "/lines"), {"limit": "100", **qc["params"]}
                          if "path" not in qc else qc["params"])
            p50, p99, first = percentile(times, 50), percentile(times, 99), b.first
            best, scan = {}, {}
            for tool in ("rg", "grep"):
                cmds = (qc["commands"](tool) if "commands" in qc
                        else grep_pages(tool, flat, qc["grep"]))
                timed = [b.shell(c) for c in cmds]
                best[tool], scan[tool] = min(timed), timed[0]
            hits = ""
            if "grep" in qc:
                full = grep_pages("rg", flat, qc["grep"])[0].rsplit(" | tail", 1)[0]
                hits = f"{b.count(qc['params']['q']):,} / {b.rg_count(full):,}"
            rows.append([qc["name"], f"{p50 * 1000:.1f}", f"{p99 * 1000:.1f}",
                         f"{first * 1000:.1f}", f"{best['rg'] * 1000:.0f}",
                         f"{best['grep'] * 1000:.0f}",
                         speedup(best["rg"] / p50), f"{scan['rg'] * 1000:.0f}",
                         speedup(scan["rg"] / p50), hits])
    return rows


def run_breakdown(b: Bench) -> list[list]:
    """Where a /lines request's time goes: the same search in-process (no HTTP), and without
    the time tokens (the id range alone, as before they existed)."""
    ix = b.cfg.index(INDEX)
    searcher = b.searcher()
    rows = []
    for qc in query_classes(b):
        if "path" in qc:
            continue
        p = qc["params"]
        lq = LineQuery(q=p.get("q", ""), before=int(p["before"]) if "before" in p else None,
                       from_us=iso_us(p.get("from")), to_us=iso_us(p.get("to")),
                       order=p.get("order", "desc"))
        times = {}
        limits = ("COVER_MAX_MS", "COVER_HOUR_MS", "COVER_MAX_TOKENS")
        for label, cover in (("tokens", None), ("none", -1)):
            saved = {name: getattr(sphinxquery, name) for name in limits}
            try:
                for name in limits:
                    setattr(sphinxquery, name, saved[name] if cover is None else cover)
                samples = []
                for _ in range(min(b.repeats, 20) + 1):
                    t = time.perf_counter()
                    searcher.lines(ix, lq)
                    samples.append(time.perf_counter() - t)
            finally:
                for name in limits:
                    setattr(sphinxquery, name, saved[name])
            times[label] = percentile(samples[1:], 50)
        rows.append([qc["name"], f"{times['tokens'] * 1000:.1f}",
                     f"{times['none'] * 1000:.1f}"])
    return rows


def iso_us(text: str | None) -> int | None:
    if text is None:
        return None
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


class CountingSphinx(Sphinx):
    """A real connection that counts its queries."""

    queries = 0

    def query(self, sql: str, params: Any = ()) -> list[dict]:
        self.queries += 1
        return super().query(sql, params)


def workload_terms(rng: random.Random, n: int) -> list[Callable[[], str]]:
    """Queries from rare (a request id: 4 lines) to common (every line)."""
    return [
        lambda: f"request_id:{request_id(rng.randrange(n))}",
        lambda: f"inventory{rng.randrange(256)}",
        lambda: "timeout process:1010",
        lambda: "declined",
        lambda: "levelname:WARNING slow",
        lambda: f'"{PHRASE}"',
        lambda: "levelname:ERROR",
        lambda: f"host:web{rng.randrange(8)}",
        lambda: COMMON_WORD,
        lambda: "",
    ]


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def workload(b: Bench, count: int, seed: int) -> list[dict]:
    """``count`` seeded random requests: lines (75%), context (10%), histograms (15%).  Each
    has its API path and parameters, and ``run(searcher)`` doing the same in-process."""
    rng = random.Random(seed)
    ix = b.cfg.index(INDEX)
    terms = workload_terms(rng, b.n)
    first_us, last_us = b.span_us
    hour_us = 3_600_000_000

    def moment() -> int:
        return rng.randrange(first_us - hour_us, last_us + 120_000_000)

    def cursor() -> int:
        pick = rng.random()
        if pick < 0.1:
            last_ms = last_us // 1000  # after the last line
            return make_id(last_ms, (1 << ids.slot_bits_from(last_ms)) - 1,
                           max_counter(last_ms))
        if pick < 0.2:
            return make_id(first_us // 1000, 0, 0) - 1  # before the first line
        return make_id(moment() // 1000, 0, 0)

    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.75:
            q = rng.choice(terms)()
            order = rng.choice(("asc", "desc"))
            limit = min(1000, max(1, int(10 ** rng.uniform(0, 3))))
            params: dict[str, str] = {"q": q, "order": order, "limit": str(limit)}
            lq: dict[str, Any] = {"q": q, "order": order, "limit": limit}
            side = rng.choice(("after", "before", None))
            if side:
                lq[side] = cursor()
                params[side] = str(lq[side])
            if rng.random() < 0.5:
                lq["from_us"] = moment()
                params["from"] = iso(lq["from_us"])
                if rng.random() < 0.7:
                    lq["to_us"] = lq["from_us"] + int(10 ** rng.uniform(7.5, 11.3))
                    params["to"] = iso(lq["to_us"])
            query = LineQuery(**lq)
            out.append({"kind": "lines", "path": "/lines", "params": params,
                        "run": lambda s, query=query: s.lines(ix, query)})
        elif kind < 0.85:
            doc_id = b.request_line(request_id(rng.randrange(b.n)))
            before, after = (min(1000, int(10 ** rng.uniform(0, 3))) for _ in range(2))
            same = rng.choice(((), (), ("host",), ("host", "process")))
            params = {"before": str(before), "after": str(after)}
            if same:
                params["same"] = ",".join(same)
            out.append({"kind": "context", "path": f"/context/{doc_id}", "params": params,
                        "run": lambda s, a=(doc_id, before, after, same): s.context(ix, *a)})
        else:
            q = rng.choice(terms)()
            lo = rng.choice((first_us - hour_us, moment()))
            hi = rng.choice((last_us + 60_000_000, lo + int(10 ** rng.uniform(8.5, 11.3))))
            params = {"q": q, "from": iso(lo), "to": iso(hi), "buckets": "60"}
            bucket = qlang.bucket_size_us(hi - lo, 60)
            out.append({"kind": "histogram", "path": "/histogram", "params": params,
                        "run": lambda s, a=(q, lo, hi, bucket): s.histogram(
                            ix, sphinxquery.compile_text(ix, a[0], None), *a[1:])})
    return out


def run_workload(b: Bench, count: int, seed: int) -> tuple[list[list], str]:
    """Time every request through the API, count its queries in-process."""
    requests = workload(b, count, seed)
    sphinx = CountingSphinx("127.0.0.1", b.cfg.sphinx.port)
    searcher = Searcher(b.cfg, sphinx,
                        newest=ValuesReader(b.cfg.redis.url, b.cfg.redis.prefix).newest)
    results: dict[str, list[tuple[float, int, dict]]] = {}
    with httpx.Client(timeout=60) as client:
        for i, req in enumerate(requests):
            t = time.perf_counter()
            resp = client.get(b.base + req["path"], params=req["params"])
            elapsed = time.perf_counter() - t
            if resp.status_code != 200:
                raise RuntimeError(f"{req['path']} {req['params']}: {resp.status_code} "
                                   f"{resp.text[:200]}")
            if resp.json().get("partial"):
                progress(f"  partial answer: {req['path']} {req['params']}")
            sphinx.queries = 0
            req["run"](searcher)
            results.setdefault(req["kind"], []).append((elapsed, sphinx.queries, req))
            if (i + 1) % 500 == 0:
                progress(f"  {i + 1:,} requests")
    sphinx.close()
    rows = []
    everything = [r for kind in results.values() for r in kind]
    slowest = max(everything, key=lambda r: r[0])
    for elapsed, queries, req in sorted(everything, key=lambda r: -r[0])[:30]:
        progress(f"  slow: {elapsed * 1000:.1f} ms, {queries} queries: {req['path']}?"
                 f"{urlencode(req['params'])}")
    (b.flat.parent / "workload.json").write_bytes(orjson.dumps(
        [{"path": r["path"], "params": r["params"]} for r in requests]))
    for kind, got in [*sorted(results.items()), ("all", everything)]:
        times = [t for t, _, _ in got]
        queries = [q for _, q, _ in got]
        rows.append([kind, len(got), f"{percentile(times, 50) * 1000:.1f}",
                     f"{percentile(times, 99) * 1000:.1f}", f"{max(times) * 1000:.1f}",
                     f"{percentile(queries, 99):.0f}", max(queries)])
    worst = (f"slowest request: {slowest[0] * 1000:.1f} ms, {slowest[1]} queries: "
             f"`GET /api/<index>{slowest[2]['path']}?{urlencode(slowest[2]['params'])}`; "
             f"query budget {MAX_QUERIES}")
    return rows, worst


def start_web(b: Bench) -> None:
    b.stack.start_web()


def wrk(url: str, connections: int, seconds: int) -> tuple[float, float]:
    """requests/s and p99 (ms) of ``url`` with ``connections`` open connections."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          url], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_throughput(b: Bench, seconds: int) -> list[list]:
    if shutil.which("wrk") is None:
        return [["wrk not installed (apt-get install wrk)", "", "", "", ""]]
    rows = []
    for label, query in (("newest page, no query", "limit=100"),
                         (f"newest page, q={COMMON_WORD}", f"limit=100&q={COMMON_WORD}")):
        best = None
        for c in (1, 2, 4, 8, 16):
            rps, p99 = wrk(f"{b.base}/lines?{query}", c, seconds)
            progress(f"  {label}: {c} connections {rps:,.0f} req/s, p99 {p99:.1f} ms")
            rows.append([label, c, f"{rps:,.0f}", f"{p99:.1f}", ""])
            if p99 < 50 and (best is None or rps > best[0]):
                best = (rps, len(rows) - 1)
        if best is not None:
            rows[best[1]][-1] = "**best at p99 < 50 ms**"
    return rows


def serve(b: Bench) -> None:
    """Keep the loaded stack up for poking at it by hand, until Ctrl-C or SIGTERM."""
    config = b.stack.write_config()
    progress(f"serving: {b.base}/lines  searchd: mysql -h127.0.0.1 -P{b.cfg.sphinx.port}  "
             f"config: {config}  flat file: {b.flat}  (Ctrl-C or SIGTERM ends and cleans up)")

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # (a shell starts a background job with SIGINT ignored; SIGTERM would skip the clean-up)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def decide_buckets(stack: Stack, per_day: int) -> None:
    """The id buckets the managed searchd would give these days once it held a day like
    them (alco.index.bucketsizes counts the busiest day a new day's index is made after;
    the bench makes every day at its start, when there is none yet)."""
    cfg = stack.config()
    bits = buckets.bits_for(per_day)
    today = datetime.now(UTC).date()
    days = {day_index(INDEX, d): bits for d in sphinxconf.served_days(cfg.index(INDEX), today)}
    data_dir = Path(cfg.sphinx.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / STATE_FILE).write_bytes(orjson.dumps({"days": days,
                                                      "lines": {INDEX: per_day}}))
    progress(f"days of ~{per_day:,} lines: {1 << bits:,} id buckets each")


def decide_common(stack: Stack, share: float, sample: int = 20_000) -> list[str]:
    """The common values the managed searchd would give these days once it held a day of
    these lines (alco.index.commonvalues: the values on ``share`` of them or more), kept as
    its decisions for every served day (the bench makes every day at its start, when there
    is none yet)."""
    cfg = stack.config()
    counts: dict[str, Counter] = {c: Counter() for c in cfg.index(INDEX).columns_with("filtered")}
    for n in range(sample):
        line = record(n, 0)
        for col, seen in counts.items():
            if col in line:
                seen[value_text(line[col])] += 1
    chosen = sorted(Common.of(col, value) for col, seen in counts.items()
                    for value, k in seen.most_common(commonvalues.MAX_PER_COLUMN)
                    if share > 0 and k >= share * sample)
    data_dir = Path(cfg.sphinx.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / STATE_FILE
    state = orjson.loads(path.read_bytes()) if path.exists() else {}
    today = datetime.now(UTC).date()
    state["common"] = {day_index(INDEX, d): [cv.field for cv in chosen]
                       for d in sphinxconf.served_days(cfg.index(INDEX), today)}
    path.write_bytes(orjson.dumps(state))
    return [f"{cv.attr[2:]}={text}" for cv in chosen for col, seen in counts.items()
            for text in seen if Common.of(col, text) == cv]


def seed_catalog(stack: Stack) -> None:
    """The columns of the bench's lines in the catalog, as a deployment's holds them when
    its days are made (two days ahead): a new day gets the value hashes of those alone
    (alco.index.bucketsizes)."""
    cfg = stack.config()
    values = ValuesStore(cfg.redis.url, cfg.redis.prefix, INDEX, ())
    values.add({k: v for k, v in record(0, 0).items() if not k.startswith("@")}, time.time())
    assert values.flush(), "redis unreachable"


def run(args: argparse.Namespace) -> None:
    n = args.n or (300_000 if args.quick else 10_000_000)
    stack = Stack("search")
    stack.add_index(INDEX, **({"retention_days": SHAPE_DAYS + 3} if args.workload else {}),
                    **({"infixes": False} if args.no_infixes else {}),
                    ondisk_attrs=bool(args.ondisk_attrs))
    try:
        if args.workload:
            decide_buckets(stack, n // SHAPE_DAYS)
        if not args.all_hashes:
            seed_catalog(stack)
            common = decide_common(stack, 0 if args.no_common else args.common_share)
            progress(f"common values: {', '.join(common) or 'none'}")
        stack.start_searchd()
        b = Bench(stack, n, repeats=20 if args.quick else 50,
                  tool_repeats=1 if args.quick else 3, shaped=args.workload,
                  slot_bits=args.slot_bits)
        progress(f"loading {n:,} lines into {', '.join(b.indexes)} and {b.flat} "
                 f"(ids of {args.slot_bits}-bit writer slots, "
                 f"{'every value hash' if args.all_hashes else 'the hashes of columns seen'})")
        rate = b.load()
        size = b.flat.stat().st_size
        progress(f"loaded at {rate:,.0f} lines/s; flat file {size / 2**20:,.0f} MiB; web")
        start_web(b)
        if args.serve and not args.workload:
            serve(b)
            return
        if args.load_only:
            report_load(b, args, rate, size)
            return
        if args.workload:
            report_workload(b, args, rate)
            if args.serve:  # the workload's requests are in workload.json beside the data
                serve(b)
            return
        if args.grep:
            report_grep(b, args, rate, size)
            return
        progress("query classes (API vs rg / grep -F)")
        queries = run_queries(b)
        progress("breakdown: in-process search, ranker=none")
        breakdown = run_breakdown(b)
        progress("web throughput (wrk)")
        throughput = run_throughput(b, 2 if args.quick else 5)
        label = f"search, N = {n:,}{' (quick)' if args.quick else ''}"
        report(label, [
            ("Load (2 loader processes: generate, normalise, bulk REPLACE)", table(
                ["lines", "lines/s", "flat file MiB"],
                [[f"{n:,}", f"{rate:,.0f}", f"{size / 2**20:,.0f}"]])),
            ("Query classes: ALCO API (ms) vs the equivalent rg / grep -F over the flat file "
             "(ms): the faster of the command lines that give the same answer; speed-up = "
             "rg / ALCO p50; ALCO first = the first request of the class (nothing kept yet: "
             "a histogram's first computes its per-minute counts); rg full scan = the first "
             "command line only (rg PAT FILE | tail)",
             table(
                 ["query class", "ALCO p50", "ALCO p99", "ALCO first", "rg", "grep -F",
                  "speed-up vs rg",
                  "rg full scan", "speed-up vs it", "hits ALCO / rg"], queries)),
            ("Where the time of /lines goes: p50 ms of the same search in-process "
             "(alco.search.reader.Searcher, no HTTP), with and without the time tokens", table(
                 ["query class", "Searcher.lines", "id range only (no time tokens)"],
                 breakdown)),
            ("Web throughput of /api/<index>/lines (wrk, 1 thread)", table(
                ["request", "connections", "req/s", "p99 ms", ""], throughput)),
        ], args.save)
        report_facets(b, args)  # issue 17: facets of an hour of lines
    finally:
        progress("cleaning up")
        stack.cleanup()


def compact_past_days(b: Bench) -> str:
    """Compact the past days as ``alco run`` does at its compact hour (one disk chunk a day,
    alco.index.compaction; their line store repacked, alco.linestore.repack); what was done,
    for the report."""
    today = datetime.now(UTC).date()
    done = []
    past = compaction.past_days(b.sphinx, b.cfg, today)
    for index in past:
        before, after, seconds = compaction.compact_now(b.sphinx, index, timeout=600)
        progress(f"  compacted {index}: {before.disk_chunks} disk chunks and a RAM chunk of "
                 f"{before.ram_chunk_bytes / 2**20:.0f} MiB -> {after.disk_chunks} in "
                 f"{seconds:.1f} s")
        done.append(f"{index} ({before.disk_chunks} -> {after.disk_chunks} disk chunks, "
                    f"{seconds:.0f} s)")
    repacked = repack_days(b, past)
    return ("Past days compacted first, as `alco run` does at its compact hour: "
            + ", ".join(done) + f"; {repacked}; today's index as loaded. ") if done else ""


def repack_days(b: Bench, indexes: list[str]) -> str:
    """Repack the line store of ``indexes`` as ``alco run`` does at its compact hour; what
    was done, for the report."""
    took, before, after = 0.0, 0, 0
    for index in indexes:
        done = repack.repack(day_dir(Path(b.cfg.sphinx.data_dir), index))
        if done is not None:
            progress(f"  repacked the line store of {index} in {done.seconds:.1f} s: "
                     f"{done.bytes_before / 2**20:,.0f} -> {done.bytes_after / 2**20:,.0f} MiB")
            took, before, after = (took + done.seconds, before + done.bytes_before,
                                   after + done.bytes_after)
    return (f"the line store repacked at zstd level {repack.LEVEL} ({before / b.n:.1f} -> "
            f"{after / b.n:.1f} B/line, {took:.0f} s)")


def report_workload(b: Bench, args: argparse.Namespace, rate: float) -> None:
    compacted = ""
    if args.compact:
        progress("compacting the past days")
        compacted = compact_past_days(b)
    progress(f"reading workload: {args.requests:,} requests, seed {args.seed}")
    rows, worst = run_workload(b, args.requests, args.seed)
    busiest = max(lines * 1_000_000 // max(lines * step, 1) for _, lines, step in b.segments)
    for index in b.indexes:  # (what the days keep; today's RAM chunk as saved on disk)
        b.sphinx.query(f"FLUSH RTINDEX {index}")
    sizes, chunks = storage.index_files(b.stack.searchd.data_dir, INDEX, store=True)
    mem = storage.memory(b.stack.searchd.proc.pid)
    report(f"search reading workload, N = {b.n:,} shaped over {SHAPE_DAYS} days", [
        ("Data: a service's lines over several days (busy days, quiet nights, one hour in "
         "eight silent, 41 bursts of 5-120 s, the last ending seconds before the run)", table(
             ["lines", "load lines/s", "segments", "busiest lines/s"],
             [[f"{b.n:,}", f"{rate:,.0f}", len(b.segments or []), f"{busiest:,}"]])),
        ("What the days keep after the requests: disk (every day index's files and line "
         "store, today's RAM chunk as flushed) and searchd's memory", table(
             ["B/line on disk", "of it the line store", "disk chunks per day", "GiB on disk",
              "RssAnon MiB", "RssShmem MiB", "RssShmem B/line"],
             [[f"**{sum(sizes.values()) / b.n:.1f}**", f"{sizes['lines'] / b.n:.1f}",
               ", ".join(f"{ix.rsplit('_', 1)[1]}: {c}" for ix, c in sorted(chunks.items())),
               f"{sum(sizes.values()) / 2**30:.1f}", f"{mem.get('RssAnon', 0) / 2**20:,.0f}",
               f"{mem.get('RssShmem', 0) / 2**20:,.0f}",
               f"{mem.get('RssShmem', 0) / b.n:.1f}"]])),
        (compacted + "Seeded random requests through the API, one at a time "
         f"(seed {args.seed}): terms "
         "from a request id (4 lines) to every line, cursors both ways (also on the first "
         "and last line), limits 1-1000, random ranges; ms, and SphinxQL queries per request "
         "(the same request in-process; histograms there in one part). " + worst, table(
             ["request", "count", "p50 ms", "p99 ms", "slowest ms", "queries p99",
              "queries max"], rows)),
    ], args.save)


def report_load(b: Bench, args: argparse.Namespace, rate: float, size: int) -> None:
    """The load rate, and where the index's bytes go on disk and in searchd's memory, per
    line (bench/storage.py): by file type; searchd's memory after a restart and after a scan,
    and the first page of a word and an old time-window page cold (page cache dropped) and
    warm, with ``ondisk_attrs`` 0 and 1 on the same files; then the compaction of the day
    (FLUSH RAMCHUNK + OPTIMIZE INDEX), its cost and the same measures after it."""
    loaded = storage.memory(b.stack.searchd.proc.pid)
    for index in b.indexes:
        b.sphinx.query(f"FLUSH RTINDEX {index}")
    sizes, chunks = storage.index_files(b.stack.searchd.data_dir, INDEX, store=True)
    disk = sum(sizes.values())
    memory = [storage.memory_row("after the load (RAM chunks full), ondisk_attrs = "
                                 f"{args.ondisk_attrs}", loaded, b.n)]
    reads: list[list] = []
    for ondisk in (False, True):
        measure_memory(b, f"ondisk_attrs = {int(ondisk)}", ondisk, memory, reads)
    progress("compaction: FLUSH RAMCHUNK + OPTIMIZE INDEX")
    word = {"q": COMMON_WORD, "limit": "100"}
    with httpx.Client(timeout=120) as client:
        compacted = storage.compaction_run(
            b.sphinx, b.stack.searchd.proc.pid, b.stack.searchd.data_dir, b.indexes,
            lambda: storage.timed(lambda: client.get(b.base + "/lines", params=word)))
    memory.append(storage.memory_row(  # (what searchd keeps of the merges, not restarted)
        "ondisk_attrs = 1, compacted: right after the compaction, not restarted",
        storage.memory(b.stack.searchd.proc.pid), b.n))
    repacked = repack_days(b, b.indexes)
    sizes_after, chunks_after = storage.index_files(b.stack.searchd.data_dir, INDEX, store=True)
    measure_memory(b, "ondisk_attrs = 1, compacted", True, memory, reads)
    sizes_restarted, chunks_restarted = storage.index_files(b.stack.searchd.data_dir, INDEX,
                                                            store=True)
    both = Counter({ext: sizes[ext] + sizes_after[ext]
                    for ext in sizes.keys() | sizes_after.keys()})
    infix = "prefixes only" if args.no_infixes else "min_infix_len = 3"
    per_day = ", ".join(f"{ix}: {c}" for ix, c in chunks.items())
    report(f"search load, N = {b.n:,}, {infix}: bytes per line on disk and in RAM", [
        ("Bulk REPLACE by 2 loader processes", table(
            ["lines", "infixes", "lines/s", "index on disk B/line", "disk chunks per day",
             "flat file MiB", "flat file B/line"],
            [[f"{b.n:,}", infix, f"{rate:,.0f}", f"{disk / b.n:.0f}", per_day,
              f"{size / 2**20:,.0f}", f"{size / b.n:.0f}"]])),
        ("Where the bytes go on disk: the day indexes' files by type and their line store "
         "(after FLUSH RTINDEX; before and after the compaction)", table(
             ["file type", "MiB", "B/line", "share", "compacted MiB", "B/line", "share"],
             [a + c[1:] for a, c in zip(storage.disk_rows(sizes, b.n, like=both),
                                        storage.disk_rows(sizes_after, b.n, like=both),
                                        strict=True)])),
        ("searchd's memory (/proc/<pid>/status) on the same files: after a restart, after a "
         "scan (COUNT of a word, COUNT of a filtered value over every line, the newest 1000 lines' "
         "attributes), after the reads below", table(storage.MEMORY_HEADERS, memory)),
        ("Reads through the API: cold = the page cache dropped just before "
         "(`sync; echo 3 > /proc/sys/vm/drop_caches`), warm = median of 10", table(
             ["attributes", "request", "cold ms", "warm ms", "load 1/5/15"], reads)),
        ("Compaction of the day: FLUSH RAMCHUNK, then OPTIMIZE INDEX, waited for, and "
         f"{repacked} (disk chunks per day after: "
         f"{', '.join(f'{k}: {v}' for k, v in chunks_after.items())}; "
         f"after the restart that followed: "
         f"{', '.join(f'{k}: {v}' for k, v in chunks_restarted.items())}, "
         f"{sum(sizes_restarted.values()) / b.n:.0f} B/line on disk)",
         table(storage.COMPACTION_HEADERS, compacted)),
    ], args.save)


def measure_memory(b: Bench, label: str, ondisk: bool, memory: list[list],
                   reads: list[list]) -> None:
    """Restart searchd on the same files with ``ondisk_attrs`` = ``ondisk``; its memory after
    the restart, after a scan and after cold and warm reads (rows appended)."""
    progress(f"{label}: restarting searchd, a scan, cold and warm reads")
    b.sphinx.close()
    b.stack.searchd.stop()
    cfg = b.stack.config()
    cfg = dataclasses.replace(cfg, indexes=tuple(
        dataclasses.replace(ix, ondisk_attrs=ondisk) for ix in cfg.indexes))
    b.stack.searchd = ManagedSearchd(cfg, seen_columns(cfg.redis.url, cfg.redis.prefix))
    b.stack.searchd.start(timeout=900)
    b.sphinx = Sphinx("127.0.0.1", b.cfg.sphinx.port)
    pid = b.stack.searchd.proc.pid
    memory.append(storage.memory_row(f"{label}: after a restart", storage.memory(pid), b.n))
    everything = ", ".join(b.indexes)
    t = time.perf_counter()
    for sql in (f"SELECT COUNT(*) AS n FROM {everything} WHERE MATCH('{COMMON_WORD}')",
                f"SELECT COUNT(*) AS n FROM {everything} "
                f"WHERE v_levelname = {value_hash('ERROR')}",
                f"SELECT id, fp FROM {everything} ORDER BY id DESC LIMIT 1000 "
                "OPTION max_matches=1000"):
        b.sphinx.query(sql)
    scan = time.perf_counter() - t
    memory.append(storage.memory_row(f"{label}: after the scan ({scan:.1f} s)",
                                     storage.memory(pid), b.n))
    minute = b.ts_of(b.n // 100).replace(second=0, microsecond=0)
    window = {"from": minute.isoformat(),
              "to": (minute + timedelta(seconds=59, microseconds=999_999)).isoformat(),
              "order": "asc", "limit": "100"}
    rows = storage.read_latency(b.base, [
        (f"first page of a word ({COMMON_WORD}, newest 100)", "/lines",
         {"q": COMMON_WORD, "limit": "100"}),
        ("time-window page (1 min, oldest 100) in the oldest hour", "/lines", window),
        ("rare token (request id)", "/lines", {"q": f"request_id:{request_id(b.n // 3)}"}),
    ])
    reads += [[label, *row] for row in rows]
    memory.append(storage.memory_row(f"{label}: after the reads", storage.memory(pid), b.n))


def report_grep(b: Bench, args: argparse.Namespace, rate: float, size: int) -> None:
    progress("patterns: substrings and regexes (API vs rg)")
    rows, scans = run_grep(b, 3 if args.quick else 10)
    report(f"search patterns ('text', /regex/), N = {b.n:,}{' (quick)' if args.quick else ''}",
           [("Load (infixes = false: min_prefix_len = 3)" if args.no_infixes
             else "Load (min_infix_len = 3)", table(
               ["lines", "lines/s", "flat file MiB"],
               [[f"{b.n:,}", f"{rate:,.0f}", f"{size / 2**20:,.0f}"]])),
            ("First page: the newest 100 hits through the API, following partial cursors "
             "(ms; requests it took); rg = the faster of `tac FILE | rg -m 100` and "
             "`rg FILE | tail -n 100`; same = the same 100 lines as rg's", table(
                 ["pattern", "ALCO p50", "ALCO slowest", "requests", "rg", "speed-up vs rg",
                  "hits ALCO / rg", "same"], rows)),
            ("A pattern without a literal over one hour: every hit, 1000 a page (s), and the "
             "lines scanned per second, next to rg over the same hour's lines in a file",
             table(["pattern", "lines in the hour", "hits", "pages", "ALCO s",
                    "ALCO lines/s", "rg s", "rg lines/s"], scans)),
            ], args.save)


# --- facets (issue 17): the top values of a field over an hour of lines ----------------------

def report_facets(b: Bench, args: argparse.Namespace) -> None:
    """p50 / p99 of GET /api/<index>/facets over the last hour of the loaded lines (at 10M
    lines over SPAN_HOURS: 1.25M lines), for filtered and other fields, all lines or a search;
    and of the histogram stacked by level (/histogram_by) over the same hour."""
    progress("facets of an hour of lines")
    to_us = b.span_us[1]
    hour = {"from": iso(to_us - 3_600_000_000), "to": iso(to_us)}
    cases = [("host", ""), ("levelname", ""), ("logger", ""), ("process", ""),
             ("host", COMMON_WORD), ("host", "levelname:ERROR"), ("host", "/timeout after/")]
    rows = []
    with httpx.Client(timeout=60) as client:
        for name, q in cases:
            params = {**hour, "field": name, "q": q, "limit": "10"}
            times = b.api(client, "/facets", params)
            body = client.get(b.base + "/facets", params=params).json()
            rows.append([f"{name}, {q or 'all lines'}", f"{body['total']:,}",
                         f"{body['distinct']:,}", "yes" if body["partial"] else "",
                         f"{percentile(times, 50) * 1000:.1f}",
                         f"{percentile(times, 99) * 1000:.1f}"])
        params = {**hour, "field": "levelname", "buckets": "80"}
        times = b.api(client, "/histogram_by", params)
        body = client.get(b.base + "/histogram_by", params=params).json()
        rows.append(["histogram by levelname (80 bars)", f"{body['total']:,}",
                     f"{len(body['values'])}", "yes" if body["partial"] else "",
                     f"{percentile(times, 50) * 1000:.1f}",
                     f"{percentile(times, 99) * 1000:.1f}"])
    report(f"facets, N = {b.n:,}{' (quick)' if args.quick else ''}", [
        ("Top 10 values of a field over the last hour of lines (GET /api/<index>/facets; "
         "target: p50 under 200 ms at N = 10M)", table(
             ["field, query", "lines counted", "distinct", "partial", "p50 ms", "p99 ms"],
             rows))], args.save)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 300,000 (smoke check)")
    parser.add_argument("-n", type=int, help="lines to load (default 10,000,000)")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    parser.add_argument("--serve", action="store_true",
                        help="load, start the web app, then keep it all up until Ctrl-C "
                             "instead of measuring (with --workload: after it; its requests "
                             "are in workload.json beside the flat file)")
    parser.add_argument("--workload", action="store_true",
                        help="shaped data and a seeded random reading workload instead")
    parser.add_argument("--no-infixes", action="store_true",
                        help="day indexes with prefixes only (infixes = false)")
    parser.add_argument("--ondisk-attrs", type=int, choices=(0, 1), default=1,
                        help="day indexes with ondisk_attrs = 1 (default) or 0")
    parser.add_argument("--slot-bits", type=int, default=2, choices=range(1, 7),
                        help="the ids' writer slot bits ([sphinx] slot_bits; 6: the dense "
                        "ids of before, ms << 12)")
    parser.add_argument("--all-hashes", action="store_true",
                        help="days with the value hash of every filtered column (as before "
                        "days took those of the columns seen)")
    parser.add_argument("--no-common", action="store_true",
                        help="days without common values (every filtered value a tag token)")
    parser.add_argument("--common-share", type=float, default=COMMON_SHARE,
                        help="[sphinx] common_share the days' common values are decided by")
    parser.add_argument("--load-only", action="store_true",
                        help="load, report the load rate and the index's size, and stop")
    parser.add_argument("--grep", action="store_true",
                        help="substrings and regexes against rg instead")
    parser.add_argument("--requests", type=int, default=3000, help="--workload requests")
    parser.add_argument("--seed", type=int, default=1, help="--workload seed")
    parser.add_argument("--compact", action="store_true",
                        help="--workload: compact the past days first, as alco run does at "
                             "its compact hour")
    args = parser.parse_args()
    terminate_on_sigterm()
    run(args)


if __name__ == "__main__":
    main()
