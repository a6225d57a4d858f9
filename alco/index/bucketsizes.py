"""How many id buckets (alco.index.buckets) each new day index of the managed searchd gets.

A day's bucket count is chosen once, when the day first enters searchd's config (two days
ahead, ``sphinxconf.served_days``), from the lines of the index's busiest day searchd holds
then (``buckets.bits_for``), and kept in ``<data_dir>/bucket_bits.json`` so that the config
names the same count for that day ever after (a day index keeps the schema it was made
with; a config that changed every minute would make every rotation a reload).  Days made
before this file, or when it was lost, are rendered with 65,536 buckets: searchd keeps the
schema such a day was made with whatever the config says, and the writer and the reader
take a day's count from its DESCRIBE, never from here.

When searchd cannot be asked (the first start of the day's config), the busiest day's lines
recorded at the last count are used, else 65,536 buckets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from alco.index import buckets

log = logging.getLogger(__name__)

STATE_FILE = "bucket_bits.json"


class BucketSizes:
    """The bucket bits of day indexes, decided once each and kept in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE
        self.days: dict[str, int] = {}
        self.lines: dict[str, int] = {}  # an index's busiest day, as last counted
        try:
            state = orjson.loads(self.path.read_bytes())
            self.days = {str(k): int(v) for k, v in state.get("days", {}).items()
                         if int(v) in buckets.SIZES}
            self.lines = {str(k): int(v) for k, v in state.get("lines", {}).items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("%s unreadable (%s): new days get bucket counts anew", self.path, exc)

    def of(self, index: str, days: list[str], made: Callable[[str], bool],
           count: Callable[[list[str]], int | None]) -> dict[str, int]:
        """The bits of each of ``index``'s served day indexes ``days``: as decided before;
        for a day index already made (``made``) but not decided here, 65,536 buckets (what
        it was made with is in its schema); for a new one, by the lines of ``index``'s
        busiest made day (``count`` of the made days, None when searchd cannot say)."""
        if all(d in self.days for d in days):
            return {d: self.days[d] for d in days}
        made_days = [d for d in days if made(d)]
        new = [d for d in days if d not in self.days and d not in made_days]
        out = {d: self.days.get(d, buckets.BITS) for d in days if d not in new}
        if not new:
            return out
        counted = count(made_days)
        if counted is not None:
            self.lines[index] = counted
        lines = self.lines.get(index, 0)
        for day in new:
            out[day] = self.days[day] = buckets.bits_for(lines)
            log.info("%s: %d id buckets (the busiest day held %d lines)", day,
                     1 << out[day], lines)
        self._forget(days, index)
        self._save()
        return out

    def _forget(self, days: list[str], index: str) -> None:
        """Drop the decisions of ``index``'s days that are no longer served (expired)."""
        for day in [d for d in self.days if d.rsplit("_", 1)[0] == index and d not in days]:
            del self.days[day]

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_bytes(orjson.dumps({"days": self.days, "lines": self.lines},
                                         option=orjson.OPT_SORT_KEYS))
            os.replace(tmp, self.path)
        except OSError as exc:  # (a full disk: decided again next time, for days not made)
            log.warning("cannot keep %s (%s)", self.path, exc)
