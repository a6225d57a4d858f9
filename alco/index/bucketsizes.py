"""How many id buckets (alco.index.buckets) each new day index of the managed searchd gets,
and which of its ``filtered`` columns get a value hash (``v_<column>``).

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

A new day's value hashes are those of the ``filtered`` columns the index's lines have had
(the catalog's columns in Redis, ``hashed_of``): a hash is 4 bytes a line, and the default
columns name both shippers' fields (``levelname`` and ``level``, ``logger`` and
``logger_name``), so a deployment of one shipper kept two to five that no line fills.  A day
made without a column's hash has an empty field that says so (``unhashed_field``): its tag
tokens are written as ever, and facets of it count from the line store.  Without the catalog
(Redis down, a new deployment) a day gets every hash, as before.

A new day's common values (alco.index.commonvalues) are decided then too, from the busiest
day searchd holds, and kept here by the same rule; a day decided when searchd could not be
asked gets those decided last for its index (none on a new deployment).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from alco.index import buckets
from alco.index.schema import Common, value_attr

log = logging.getLogger(__name__)

STATE_FILE = "bucket_bits.json"


class BucketSizes:
    """The bucket bits of day indexes, decided once each and kept in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE
        self.days: dict[str, int] = {}
        self.lines: dict[str, int] = {}  # an index's busiest day, as last counted
        self.hashed: dict[str, list[str]] = {}  # a day -> its filtered columns with a hash
        self.common: dict[str, list[str]] = {}  # a day -> the fields naming its common values
        try:
            state = orjson.loads(self.path.read_bytes())
            self.days = {str(k): int(v) for k, v in state.get("days", {}).items()
                         if int(v) in buckets.SIZES}
            self.lines = {str(k): int(v) for k, v in state.get("lines", {}).items()}
            self.hashed = {str(k): [str(c) for c in v]
                           for k, v in state.get("hashed", {}).items()}
            self.common = {str(k): [str(c) for c in v if Common.parse(str(c))]
                           for k, v in state.get("common", {}).items()}
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

    def hashed_of(self, index: str, days: list[str], made: Callable[[str], bool],
                  filtered: tuple[str, ...], seen: Callable[[], set[str] | None]
                  ) -> dict[str, tuple[str, ...]]:
        """The columns of ``filtered`` with a value hash in each of ``index``'s served day
        indexes ``days``: as decided before; for a day made but not decided here, every one
        (what it was made with is in its schema); for a new one, those the index's lines
        have had (``seen``: None when the catalog cannot say, or an empty set: every one)."""
        out = {d: tuple(self.hashed.get(d, filtered)) for d in days}
        undecided = [d for d in days if d not in self.hashed]
        if not undecided:
            return out
        new = [d for d in undecided if not made(d)]
        columns = seen() if new else None
        chosen = filtered if not columns else tuple(c for c in filtered if c in columns)
        for day in undecided:  # (kept, so that the next rotation looks at no file)
            self.hashed[day] = list(chosen if day in new else filtered)
        for day in new:
            out[day] = chosen
            if chosen != filtered:
                log.info("%s: value hashes of %s only (no line had %s yet)", day,
                         ", ".join(chosen) or "no column",
                         ", ".join(c for c in filtered if c not in chosen))
        self._forget(days, index)
        self._save()
        return out

    def common_of(self, index: str, days: list[str], made: Callable[[str], bool],
                  hashed: dict[str, tuple[str, ...]],
                  decide: Callable[[], list[Common] | None]) -> dict[str, tuple[str, ...]]:
        """The fields naming the common values of each of ``index``'s served day indexes
        ``days``: as decided before; none for a day made but not decided here; for a new
        one, those ``decide`` gives (None when it cannot say: those of the index's day
        decided last) of its columns with a value hash (``hashed``)."""
        out = {d: tuple(self.common.get(d, ())) for d in days}
        undecided = [d for d in days if d not in self.common]
        if not undecided:
            return out
        new = [d for d in undecided if not made(d)]
        decided = decide() if new else None
        if decided is None:  # (the day decided last)
            last = max((d for d in self.common if d.rsplit("_", 1)[0] == index), default=None)
            decided = [cv for f in self.common.get(last, []) if (cv := Common.parse(f))] \
                if last else []
        for day in undecided:
            attrs = {value_attr(c) for c in hashed.get(day, ())}
            fields = [cv.field for cv in decided if cv.attr in attrs] if day in new else []
            self.common[day] = fields
            out[day] = tuple(fields)
            if fields:
                log.info("%s: %d common values (no tag tokens): %s", day, len(fields),
                         ", ".join(fields))
        self._forget(days, index)
        self._save()
        return out

    def _forget(self, days: list[str], index: str) -> None:
        """Drop the decisions of ``index``'s days that are no longer served (expired)."""
        for state in (self.days, self.hashed, self.common):
            for day in [d for d in state if d.rsplit("_", 1)[0] == index and d not in days]:
                del state[day]

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_bytes(orjson.dumps({"days": self.days, "lines": self.lines,
                                          "hashed": self.hashed, "common": self.common},
                                         option=orjson.OPT_SORT_KEYS))
            os.replace(tmp, self.path)
        except OSError as exc:  # (a full disk: decided again next time, for days not made)
            log.warning("cannot keep %s (%s)", self.path, exc)
