"""Where a day index's doclists go: entries and bytes per line by kind of token (issue 32).

    .venv/bin/python bench/tokens.py                 # 200,000 lines (~1 minute)
    .venv/bin/python bench/tokens.py -n 1000000 --save

The bench's lines (the shared generator, 350 lines/s as the 10M search bench) go through the
writer's own row builder as it builds rows for a day made today (line store, ids as buckets);
each full-text field is split into words as searchd's charset splits ASCII (runs of letters,
digits and ``_``) and every (word, line) pair is one doclist entry.  An entry costs the varint
of the gap from the word's line before (by id) and about two bytes of hit data (searchd 2.2
inlines a single hit: its position and field); the estimate is a model, to be read beside the
measured `.spd` (bench/search.py --load-only): what matters here is how the kinds compare and
what another id layout would change.  ``dense`` counts the same entries with ids 1..N (one
line, one id: what ``ms << 12`` ids leave on the table).  The attributes are fixed: an 8-byte
id, a 4-byte ``fp`` and a 4-byte value hash per ``filtered`` column (listed with how many of
the bench's lines have a value there).  Last, what leaving out the tag tokens of a day's
most common values would save (an idea, not built: such a filter would read the value hash).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter

from common import bench_config, bodies, report, table

from alco.index.daystore import DayStore
from alco.index.schema import DayLayout, IndexSchema, make_id
from alco.ingest.consumer import options_for
from alco.ingest.records import normalise

STEP_US = 2_857  # 350 lines/s: the 10M search bench's 8 hours
HIT_BYTES = 2  # an entry's hit data besides its id gap (a single inlined hit)
WORD_RE = re.compile(r"\w+")
TIME_RE = re.compile(r"z1(0m|m|h)\d+")
TAG_RE = re.compile(r"t[0-9a-f]{16}")
COMMON_SHARES = (0.05, 0.1, 0.2, 0.5)


def kind(field: str, word: str) -> str:
    if time := TIME_RE.fullmatch(word):
        return f"time token (z1{time.group(1)})"
    if TAG_RE.fullmatch(word):
        return "tag token (field=value)"
    if word.startswith("zq"):
        return f"{field}: id bucket"
    return f"{field}: {'number' if word.isdigit() else 'word'}"


def varint(n: int) -> int:
    size = 1
    while n >= 128:
        n >>= 7
        size += 1
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="lines")
    parser.add_argument("--save", action="store_true", help="append to bench/HISTORY.md")
    args = parser.parse_args()
    cfg = bench_config("tokens")
    ix = cfg.index("bench")
    options, schema = options_for(cfg, ix), IndexSchema.of(ix)
    store = DayStore(None, schema, 0, 2)  # type: ignore[arg-type]  (rows only: no searchd)
    layout = DayLayout(keeps_text=False, has_context=True, has_parts=True, keeps_fields=False,
                       rule2=True, keeps_times=False, fp32=True)
    store._layout = lambda index: layout  # type: ignore[method-assign]
    first_us = int((time.time() - 86_400) * 1e6)
    rows, counters = [], Counter()
    for body in bodies(0, args.n, first_us, STEP_US):
        rec = normalise(body, options=options)
        ms = rec.ts_us // 1000
        rows.append(store._row(make_id(ms, 0, counters[ms]), rec))
        counters[ms] += 1
    columns, out = store.searchd_rows("bench_20261206", rows)
    texts = [i for i, c in enumerate(columns) if isinstance(out[0][i], str)]
    entries, sized, dense = Counter(), Counter(), Counter()
    tags, tag_bytes = Counter(), Counter()  # each tag token's entries and bytes
    last: dict[str, int] = {}
    last_n: dict[str, int] = {}
    for n, row in enumerate(out, 1):
        seen: set[str] = set()
        for i in texts:
            for word in WORD_RE.findall(row[i].lower()):
                if word in seen:  # (another hit of the same entry)
                    continue
                seen.add(word)
                k = kind(columns[i], word)
                entries[k] += 1
                cost = varint(row[0] - last.get(word, 0)) + HIT_BYTES
                sized[k] += cost
                if k.startswith("tag"):
                    tags[word] += 1
                    tag_bytes[word] += cost
                dense[k] += varint(n - last_n.get(word, 0)) + HIT_BYTES
                last[word], last_n[word] = row[0], n
    total, total_dense = sum(sized.values()), sum(dense.values())
    lines = args.n
    rows_out = [[k, f"{entries[k] / lines:.2f}", f"{sized[k] / lines:.1f}",
                 f"{100 * sized[k] / total:.0f} %", f"{dense[k] / lines:.1f}"]
                for k, _ in sized.most_common()]
    rows_out.append(["**all**", f"{sum(entries.values()) / lines:.1f}",
                     f"**{total / lines:.1f}**", "100 %", f"**{total_dense / lines:.1f}**"])
    attrs = [c for c in columns if c.startswith("v_")]
    at = {c: columns.index(c) for c in attrs}
    attr_rows = [["id", "8", "100 %"], ["fp", "4", "100 %"]] + [
        [c, "4", f"{100 * sum(1 for r in out if r[at[c]]) / lines:.0f} %"] for c in attrs]
    report(f"doclist entries by kind of token, N = {lines:,} bench lines (a model)", [
        ("doclist entries and estimated bytes per line (gap varint + 2 B of hit data); "
         "`dense`: the same with ids 1..N",
         table(["kind", "entries/line", "est. B/line", "share", "dense ids B/line"],
               rows_out)),
        (f"attributes per line: {8 + 4 + 4 * len(attrs)} B (lines with a value: what a "
         "value hash holds other than 0)",
         table(["attribute", "bytes", "lines with a value"], attr_rows)),
        ("tag tokens of common values: what a day would save without the tag tokens of the "
         "values on at least this share of its lines (a filter on such a value would go "
         "to its value hash attribute instead: not built)", table(
             ["values on at least", "values", "tag entries/line left out", "est. B/line saved"],
             [[f"{share:.0%}", sum(1 for w in tags if tags[w] >= share * lines),
               f"{sum(n for w, n in tags.items() if n >= share * lines) / lines:.2f}",
               f"{sum(tag_bytes[w] for w in tags if tags[w] >= share * lines) / lines:.1f}"]
              for share in COMMON_SHARES]))], args.save)


if __name__ == "__main__":
    sys.exit(main())
