"""What a day index would take on disk with another document layout (issue 18).

    .venv/bin/python bench/layout.py            # 1,000,000 lines per layout (~5 minutes)
    .venv/bin/python bench/layout.py --save     # also append the table to bench/HISTORY.md

The same lines (the shared generator, as dense in time as the 10M search bench: 350 lines/s)
are stored, through the writer's own row builder, into one RT index per layout of an own
searchd; each index is then compacted (FLUSH RAMCHUNK, OPTIMIZE INDEX), searchd restarted (it
keeps a merged chunk's old strings until then) and its files summed by type.  Layouts:

* ``ids``: ``ms << 22 | slot << 16 | counter`` (the ids before dense ids); ``ms << 14``,
  ``ms << 12`` and ``ms << 8 | counter`` (time order, fewer spare bits); dense ``1..N`` in
  time order.
* ``text``: the line text and fields kept in Sphinx (``logline`` string, ``js`` and ``meta``
  JSON), or left out (what a line store beside Sphinx would leave there).
* ``hitless``: ``hitless_words = all`` (no word positions: phrases then match as words).

Infixes as the default config (``min_infix_len = 3``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import storage
from common import bench_config, bodies, progress, report, table

from alco.index import sphinxconf
from alco.index.daystore import DayStore, json_for_sphinx
from alco.index.schema import IndexSchema, make_id
from alco.index.sphinxql import Sphinx
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise
from tests.helpers import free_port

STEP_US = 2_857  # 350 lines/s: the 10M search bench's 8 hours
BATCH = 5_000


@dataclass(frozen=True)
class Layout:
    name: str
    ids: str  # "ms22" | "ms14" | "ms12" | "ms8" | "ms6" | "dense"
    text: bool
    hitless: bool = False

    @property
    def index(self) -> str:
        """Its index: named like a day index, in a data directory of its own (so that
        storage.index_files sums its files alone)."""
        return f"{self.name}_20261127"

    def doc_id(self, n: int, ms: int, counter: int) -> int:
        if self.ids == "dense":
            return n + 1
        for shift in (6, 8, 12, 14):
            if self.ids == f"ms{shift}":
                if counter >= 1 << shift:
                    raise ValueError(f"{counter + 1} lines in one millisecond")
                return ms << shift | counter
        return make_id(ms, 0, counter)


LAYOUTS = [
    Layout("today", "ms22", True),
    Layout("ms8", "ms8", True),
    Layout("dense", "dense", True),
    Layout("notext", "ms22", False),
    Layout("notext_ms8", "ms8", False),
    Layout("notext_ms6", "ms6", False),
    Layout("notext_ms12", "ms12", False),
    Layout("notext_ms14", "ms14", False),
    Layout("notext_dense", "dense", False),
    Layout("notext_dense_hitless", "dense", False, hitless=True),
]


def section(layout: Layout, schema: IndexSchema, data: Path) -> str:
    (data / layout.name).mkdir()
    text = sphinxconf.index_section(schema, layout.index, data / layout.name)
    if not layout.text:
        text = "\n".join(line for line in text.splitlines()
                         if not line.strip().startswith(("rt_attr_string", "rt_attr_json")))
    if layout.hitless:
        text = text.replace("    min_word_len", "    hitless_words = all\n    min_word_len")
    return text


def config(layouts: list[Layout], schema: IndexSchema, data: Path, port: int) -> str:
    searchd = "\n".join([
        "searchd", "{", f"    listen = 127.0.0.1:{port}:mysql41",
        f"    log = {data / 'searchd.log'}", f"    pid_file = {data / 'searchd.pid'}",
        "    binlog_path =", "    workers = threads", "    max_packet_size = 128M", "}"])
    return "\n\n".join([*(section(lay, schema, data) for lay in layouts), searchd]) + "\n"


def load(sphinx: Sphinx, layout: Layout, store: DayStore, options: object, n: int,
         first_us: int) -> float:
    columns = [c for c in store.columns if c != "parts"] if layout.text else [
        c for c in store.columns if c not in ("js", "meta", "parts")]
    keep = [store.columns.index(c) for c in columns]
    js = store.columns.index("js")
    counters: Counter[int] = Counter()
    rows: list[list] = []
    start = time.perf_counter()
    for k, body in enumerate(bodies(0, n, first_us, STEP_US)):
        rec = normalise(body, options=options)
        ms = rec.ts_us // 1000
        row = store._row(layout.doc_id(k, ms, counters[ms]), rec)
        row[js] = json_for_sphinx(row[js])  # (the fields as sent: as JSON)
        counters[ms] += 1
        rows.append([row[i] for i in keep])
        if len(rows) == BATCH:
            sphinx.replace_rows(layout.index, columns, rows)
            rows = []
    if rows:
        sphinx.replace_rows(layout.index, columns, rows)
    return n / (time.perf_counter() - start)


def compact(sphinx: Sphinx, name: str) -> None:
    sphinx.execute(f"FLUSH RAMCHUNK {name}")
    sphinx.execute(f"OPTIMIZE INDEX {name}")
    for _ in range(3600):  # OPTIMIZE runs in a thread of its own: wait for one disk chunk
        chunks = [r for r in sphinx.query(f"SHOW INDEX {name} STATUS")
                  if r["Variable_name"] == "disk_chunks"]
        if chunks and int(chunks[0]["Value"]) <= 1:
            return
        time.sleep(1)
    raise TimeoutError(f"{name}: OPTIMIZE not done in an hour")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="lines per layout")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    parser.add_argument("--only", nargs="+", choices=[lay.name for lay in LAYOUTS],
                        help="these layouts alone")
    args = parser.parse_args()
    layouts = [lay for lay in LAYOUTS if not args.only or lay.name in args.only]
    cfg = bench_config("layout")
    options = options_for(cfg, cfg.index("bench"))
    schema = IndexSchema.of(cfg.index("bench"))
    tmp = Path(tempfile.mkdtemp(prefix="alco-bench-layout-"))
    port = free_port()
    conf = tmp / "sphinx.conf"
    conf.write_text(config(layouts, schema, tmp, port))
    first_us = int((time.time() - 3600) * 1e6)
    searchd = ["searchd", "--config", str(conf)]
    subprocess.run(searchd, check=True, capture_output=True)
    rows: list[list] = []
    try:
        sphinx = Sphinx("127.0.0.1", port)
        store = DayStore(sphinx, schema, 0, 2)
        rates = {}
        for layout in layouts:
            rates[layout.name] = load(sphinx, layout, store, options, args.n, first_us)
            compact(sphinx, layout.index)
            progress(f"  {layout.name}: loaded and compacted")
        sphinx.close()
        subprocess.run([*searchd, "--stopwait"], check=True, capture_output=True)
        subprocess.run(searchd, check=True, capture_output=True)
        for layout in layouts:
            by = storage.index_files(tmp / layout.name, layout.name)[0]
            per = {k: v / args.n for k, v in by.items()}
            rest = sum(v for k, v in per.items() if k not in ("sps", "spd", "spa", "spi", "spp"))
            rows.append([layout.name, layout.ids, "yes" if layout.text else "no",
                         "all" if layout.hitless else "none", f"{rates[layout.name]:,.0f}",
                         *(f"{per.get(k, 0):.1f}" for k in ("sps", "spd", "spp", "spa", "spi")),
                         f"{rest:.1f}", f"**{sum(per.values()):.1f}**"])
    finally:
        subprocess.run([*searchd, "--stopwait"], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)])
    head = ["layout", "ids", "text in Sphinx", "hitless", "lines/s", ".sps", ".spd", ".spp",
            ".spa", ".spi", "rest", "B/line"]
    report(f"index layouts, N = {args.n:,} lines each, compacted: bytes per line on disk",
           [("the same lines in one RT index per layout (min_infix_len = 3, ondisk_attrs = 1)",
             table(head, rows))], args.save)


if __name__ == "__main__":
    sys.exit(main())
