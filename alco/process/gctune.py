"""The garbage collector of ALCO's busy processes: what they hold from their start frozen out
of its passes, and its young passes spaced out.

A process that makes objects by the hundred thousand (a writer's batches, a page of 1,000
lines read: each line's fields, the blocks decoded for them) runs the collector's young pass
every 700 allocations by default, and each older pass walks everything the process keeps.
The web app's reads spent ~20 % of their slowest requests' time in it (bench/RESULTS.md
"Reading workload": 26 slow requests at 10M lines, 2.5 s with the defaults, 2.0 s with
``tune_for_reads``, 1.9-2.1 s with no collector at all).  Cycles are still collected: ALCO
makes few.
"""

from __future__ import annotations

import gc

READS = (20_000, 50, 100)  # the web app's and the line service's thresholds


def space_out(young: int, older: tuple[int, int] | None = None) -> None:
    """Freeze what the process holds now (its modules, config, what it made at start) out of
    every pass and run the young pass every ``young`` allocations; ``older``: the thresholds
    of the two older generations (the interpreter's, 10 and 10, when None).  Call once, at
    the start of the process's work."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *(older or gc.get_threshold()[1:]))


def tune_for_reads() -> None:
    """``space_out`` for a serving process, after its app is made: the full pass at most every
    100 older ones."""
    space_out(READS[0], READS[1:])
