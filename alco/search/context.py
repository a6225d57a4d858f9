"""What the parts of a searcher share (alco.search.reader.Searcher): the configuration, the
searchd connection, the request's budget, today's date, the writers' report of the newest line
and the search threads; and what follows from them alone: the day indexes of a range, where the
retained lines start, one query on the budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from alco.config import Config, IndexConfig
from alco.index import sphinxql
from alco.index.schema import day_index, day_of_us, id_ms, make_id
from alco.index.sphinxconf import retention_days
from alco.search.budget import MAX_QUERIES, ReadBudget
from alco.search.compile import TOP_ID, SearchError

FanOut = Callable[[Callable[[sphinxql.Sphinx, Any], Any], list], list]


class ReadContext:
    """One searcher's shared state, given to each of its parts: ``budget`` is the current
    request's (Searcher.start_request restarts it); ``newest`` maps an index name to the
    timestamp (s) of its newest line, if known; ``fan_out`` runs fn(connection, item) for
    items at once on ``parts`` search threads."""

    def __init__(self, config: Config, sphinx: sphinxql.Sphinx, today: date | None = None,
                 newest: Callable[[str], float | None] | None = None,
                 fan_out: FanOut | None = None, parts: int = 1) -> None:
        self.config = config
        self.sphinx = sphinx
        self._today = today
        self._newest = newest
        self._fan_out = fan_out
        self._parts = parts
        self.budget = ReadBudget(config.web.time_budget, MAX_QUERIES)

    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    def day_indexes(self, ix: IndexConfig, from_us: int | None, to_us: int | None) -> list[str]:
        """The day indexes that can hold lines of [from_us, to_us] (only those: FROM stays
        short)."""
        today = self.today()
        days = retention_days(ix, today)
        lo = day_of_us(from_us) if from_us is not None else days[0]
        hi = day_of_us(to_us) if to_us is not None else days[-1]
        chosen = [d for d in days if lo <= d <= hi]
        if hi > days[-1] and today not in chosen:
            chosen.append(today)  # lines dated after tomorrow are stored in today's index
        return [day_index(ix.name, d) for d in sorted(chosen)]

    def indexes_for_ids(self, ix: IndexConfig, lo: int, hi: int) -> list[str]:
        """The day indexes that can hold ids [lo, hi]."""
        from_us = id_ms(lo) * 1000 if lo > 0 else None
        to_us = id_ms(hi) * 1000 + 999 if hi < TOP_ID else None
        return self.day_indexes(ix, from_us, to_us)

    def first_id(self, ix: IndexConfig) -> int:
        """The first id of the first retained day of ``ix``."""
        first = retention_days(ix, self.today())[0]
        return make_id(int(datetime(first.year, first.month, first.day,
                                    tzinfo=UTC).timestamp()) * 1000, 0, 0)

    def open_top(self, ix: IndexConfig) -> tuple[int, int] | None:
        """(newest line reported by the writers, now) in ms; None when Redis does not know."""
        newest = self._newest(ix.name) if self._newest else None
        if not newest:
            return None
        return int(newest * 1000), time.time_ns() // 1_000_000

    def query(self, sql: str, params: list, sx: sphinxql.Sphinx | None = None) -> list[dict]:
        """One query on the budget (on ``sx``, default this searcher's connection); searchd's
        refusal as a SearchError."""
        self.budget.spend()
        try:
            return (sx or self.sphinx).query(sql, params)
        except sphinxql.SphinxQueryError as exc:
            raise SearchError(f"search failed: {exc.message}") from None

    @property
    def parallel(self) -> int:
        """How many search threads a range may be counted on at once (1: this one only)."""
        return self._parts if self._fan_out is not None else 1

    def each(self, fn: Callable[[sphinxql.Sphinx, Any], Any], items: list) -> list:
        """fn(connection, item) for every item: at once on the fan-out's threads if any."""
        if len(items) <= 1 or self._fan_out is None:
            return [fn(self.sphinx, item) for item in items]
        return self._fan_out(fn, items)
