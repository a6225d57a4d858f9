"""The garbage collector of a process that serves reads (the web app, a shard's line service).

A page of 1,000 lines makes ~100,000 objects (each line's fields, the blocks decoded for
them); with the interpreter's default thresholds (a young collection every 700 allocations,
an older one every 10 of those) the collector took ~20 % of the slowest reads' time
(bench/RESULTS.md "Reads with the line store": 26 slow requests at 10M lines, 2.5 s with the
defaults, 2.0 s with these, 1.9-2.1 s with no collector at all).  What starts the process (its
modules, config, caches made at start) is frozen out of every collection; young collections
come every YOUNG allocations, the full one at most every FULL older ones.  Cycles are still
collected: ALCO's reads make few.
"""

from __future__ import annotations

import gc

YOUNG = 20_000
MIDDLE = 50
FULL = 100


def tune_for_reads() -> None:
    """Freeze what the process holds now and space the collections out (call once, at the
    start of a serving process, after its app is made)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, FULL)
