"""Search benchmark: ALCO's HTTP API against rg and grep -F over the same lines in a flat file.

    .venv/bin/python bench/search.py            # N = 10,000,000 lines (several minutes)
    .venv/bin/python bench/search.py --quick    # N = 300,000, under 3 minutes
    .venv/bin/python bench/search.py --save     # also append the tables to bench/RESULTS.md

N records from the shared generator are loaded into today's RT index of an own searchd (rows
shaped like the writer's, bulk REPLACE from two loader processes) and written, as the JSON the
shippers send, one per line, to a flat file.  Each query class is then timed through the real
API of ``alco web`` (p50/p99) and, for the equivalent search, with ``rg`` and ``grep -F``.  The
grep side gets the better of two command lines: ``rg PAT FILE | tail -n 100`` (a full scan) and
``tac FILE | rg -m 100 PAT`` (newest first, stops early), since ALCO pages show the newest hits.
Last, ``wrk`` measures requests/s of /api/<index>/lines at growing concurrency.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
from common import (
    COMMON_WORD,
    PHRASE,
    Stack,
    bodies,
    percentile,
    progress,
    report,
    request_id,
    table,
    terminate_on_sigterm,
    wait_for,
)

from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema, day_index, day_of_us, make_id
from alco.index.searchd import port_answers
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from alco.search import compile as sphinxquery
from alco.search.reader import LineQuery, Searcher
from alco.stores.values import ValuesReader, ValuesStore

CHUNK = 50_000
BATCH = 5000
INDEX = "bench"
SPAN_HOURS = 8


def load_chunk(job: tuple) -> int:
    """Loader process: records of one chunk -> a flat-file part and REPLACEs into searchd
    (each row into the index of its day)."""
    chunk, n, first_us, step_us, port, cfg, part = job
    sphinx = Sphinx("127.0.0.1", port)
    ix = cfg.index(INDEX)
    store = DayStore(sphinx, IndexSchema.of(ix), chunk % 64, ix.retention_days)
    options = options_for(cfg, ix)
    counters: dict[int, int] = {}
    rows: list = []
    index = ""
    start = chunk * CHUNK
    with open(part, "wb") as out:
        for body in bodies(start, min(CHUNK, n - start), first_us + start * step_us, step_us):
            out.write(body + b"\n")
            rec = normalise(body, options=options)
            ms = rec.ts_us // 1000
            day = day_index(INDEX, day_of_us(rec.ts_us))
            if rows and (day != index or len(rows) == BATCH):
                sphinx.replace_rows(index, store.columns, rows)
                rows = []
            index = day
            counters[ms] = counters.get(ms, -1) + 1
            rows.append(store._row(make_id(ms, chunk % 64, counters[ms]), rec))  # noqa: SLF001
    if rows:
        sphinx.replace_rows(index, store.columns, rows)
    sphinx.close()
    return min(CHUNK, n - start)


class Bench:
    def __init__(self, stack: Stack, n: int, repeats: int, tool_repeats: int) -> None:
        self.stack, self.n = stack, n
        self.repeats, self.tool_repeats = repeats, tool_repeats
        self.cfg = stack.config()
        self.sphinx = Sphinx("127.0.0.1", self.cfg.sphinx.port)
        # The lines end two minutes ago and span SPAN_HOURS whatever the time of day (so the
        # lines per minute, which the newest-page queries depend on, are the same in every
        # run); before midnight they go to yesterday's index.
        end_us = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp() * 1e6)
        self.step_us = max(SPAN_HOURS * 3_600_000_000 // n, 1)
        self.first_us = end_us - self.step_us * n
        self.indexes = sorted({day_index(INDEX, self.ts_of(i).date()) for i in (0, n)})
        self.flat = stack.tmp / "lines.ndjson"
        self.base = f"http://{self.cfg.web.bind}/api/{INDEX}"

    def ts_of(self, n: int) -> datetime:
        return datetime.fromtimestamp((self.first_us + n * self.step_us) / 1e6, UTC)

    def load(self) -> float:
        parts_dir = self.stack.tmp / "parts"
        parts_dir.mkdir()
        chunks = range((self.n + CHUNK - 1) // CHUNK)
        jobs = [(c, self.n, self.first_us, self.step_us, self.cfg.sphinx.port, self.cfg,
                 parts_dir / f"{c:06d}") for c in chunks]
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
        values.add({}, self.ts_of(self.n - 1).timestamp())
        assert values.flush(), "redis unreachable"
        with open(self.flat, "wb") as out:
            for job in jobs:
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

    def api(self, client: httpx.Client, path: str, params: dict) -> list[float]:
        """Time a request ``repeats`` times (after two warm-ups); seconds."""
        times = []
        for i in range(self.repeats + 2):
            t = time.perf_counter()
            resp = client.get(self.base + path, params=params)
            elapsed = time.perf_counter() - t
            if resp.status_code != 200:
                raise RuntimeError(f"{path} {params}: {resp.status_code} {resp.text[:200]}")
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
    line_id = b.find_id(f"@f_request_id {rid}")
    to = minute + timedelta(seconds=59, microseconds=999_999)
    stamp = f'"@timestamp":"{minute:%Y-%m-%dT%H:%M}'
    seq = f'"request_id":"{rid}","seq":{mid}'
    classes = [
        {"name": "rare token (request id)", "params": {"q": f"request_id:{rid}"},
         "grep": [f'"request_id":"{rid}"'], "hits": f"@f_request_id {rid}"},
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
            p50, p99 = percentile(times, 50), percentile(times, 99)
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
                         f"{best['rg'] * 1000:.0f}", f"{best['grep'] * 1000:.0f}",
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
        for label, cover in (("tokens", sphinxquery.COVER_MAX_MS), ("none", -1)):
            saved, sphinxquery.COVER_MAX_MS = sphinxquery.COVER_MAX_MS, cover
            try:
                samples = []
                for _ in range(min(b.repeats, 20) + 1):
                    t = time.perf_counter()
                    searcher.lines(ix, lq)
                    samples.append(time.perf_counter() - t)
            finally:
                sphinxquery.COVER_MAX_MS = saved
            times[label] = percentile(samples[1:], 50)
        rows.append([qc["name"], f"{times['tokens'] * 1000:.1f}",
                     f"{times['none'] * 1000:.1f}"])
    return rows


def iso_us(text: str | None) -> int | None:
    if text is None:
        return None
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


def start_web(b: Bench) -> None:
    path = b.stack.write_config()
    proc = b.stack.spawn([sys.executable, "-m", "alco", "--config", str(path),
                          "--log-level", "warning", "web"], "web.log")
    port = int(b.cfg.web.bind.rsplit(":", 1)[1])
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None, 60, 0.05,
             "alco web")
    if proc.poll() is not None:
        raise RuntimeError(f"alco web exited; see {b.stack.tmp / 'web.log'}")


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
             f"config: {config}  flat file: {b.flat}  (Ctrl-C ends and cleans up)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def run(args: argparse.Namespace) -> None:
    n = args.n or (300_000 if args.quick else 10_000_000)
    stack = Stack("search")
    stack.add_index(INDEX)
    try:
        stack.start_searchd()
        b = Bench(stack, n, repeats=20 if args.quick else 50,
                  tool_repeats=1 if args.quick else 3)
        progress(f"loading {n:,} lines into {', '.join(b.indexes)} and {b.flat}")
        rate = b.load()
        size = b.flat.stat().st_size
        progress(f"loaded at {rate:,.0f} lines/s; flat file {size / 2**20:,.0f} MiB; web")
        start_web(b)
        if args.serve:
            serve(b)
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
             "rg / ALCO p50; rg full scan = the first command line only (rg PAT FILE | tail)",
             table(
                 ["query class", "ALCO p50", "ALCO p99", "rg", "grep -F", "speed-up vs rg",
                  "rg full scan", "speed-up vs it", "hits ALCO / rg"], queries)),
            ("Where the time of /lines goes: p50 ms of the same search in-process "
             "(alco.search.reader.Searcher, no HTTP), with and without the time tokens", table(
                 ["query class", "Searcher.lines", "id range only (no time tokens)"],
                 breakdown)),
            ("Web throughput of /api/<index>/lines (wrk, 1 thread)", table(
                ["request", "connections", "req/s", "p99 ms", ""], throughput)),
        ], args.save)
    finally:
        progress("cleaning up")
        stack.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 300,000 (smoke check)")
    parser.add_argument("-n", type=int, help="lines to load (default 10,000,000)")
    parser.add_argument("--save", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--serve", action="store_true",
                        help="load, start the web app, then keep it all up until Ctrl-C "
                             "instead of measuring")
    args = parser.parse_args()
    terminate_on_sigterm()
    run(args)


if __name__ == "__main__":
    main()
