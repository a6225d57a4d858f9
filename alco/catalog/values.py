"""What the writers tell Redis after each batch: field values, seen columns, the newest line,
late lines, and that a batch was stored (keys in alco.catalog.keys).  Updates are aggregated
per batch and sent in one pipeline; when Redis is down they are kept (bounded) and sent with
the next batch.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable
from datetime import date
from itertools import islice
from operator import itemgetter

import redis

from alco.catalog.keys import columns_key, late_key, newest_key, stored_channel, values_key
from alco.config import Config
from alco.index import retention
from alco.index.schema import value_text

log = logging.getLogger("alco.values")
MAX_PENDING = 100_000
MAX_VALUE_LEN = 256
_PLAIN = {str, int, type(None)}  # types of values that are no two of them equal
MAX_SHAPES = 1000  # sets of field names remembered as pending (add_many)
LATE_MAXLEN = 10_000  # entries (batches) kept in an index's stream of late lines


class ValuesStore:
    def __init__(self, url: str, prefix: str, index: str, filtered: tuple[str, ...]) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self.index = index
        self.filtered = filtered
        self.pending_values: dict[tuple[str, str], float] = {}
        self.pending_columns: dict[str, float] = {}
        self.pending_newest = 0.0
        self.pending_oldest = 0.0  # the oldest line since the last publish (s)
        self.pending_late: list[int] = []
        self.newest_seen = 0.0  # the index's newest line (s) as Redis knew it at the last flush
        self.redis_away = False  # the last flush failed
        self._shapes: set[tuple[str, ...]] = set()  # field names all in pending_columns

    def add(self, fields: dict, ts: float) -> None:
        """Remember the values and columns of one record (call per record, flush per batch)."""
        if ts > self.pending_newest:
            self.pending_newest = ts
        if ts < self.pending_oldest or not self.pending_oldest:
            self.pending_oldest = ts
        cols = self.pending_columns
        for name in fields:
            if name not in cols:
                cols[name] = ts
        for name in self.filtered:
            self._add_values(name, ((fields.get(name), ts),))

    def add_many(self, lines: list[tuple[dict, float]]) -> None:
        """``add`` of each (fields, ts) of a batch, in order: what repeats line after line (the
        same field names, a column's values) is looked at once."""
        if not lines:
            return
        times = [ts for _, ts in lines]
        if 0.0 in times:  # (an oldest time of 0 is none: taken line by line, as add does)
            for ts in times:
                if ts < self.pending_oldest or not self.pending_oldest:
                    self.pending_oldest = ts
        else:
            low = min(times)
            self.pending_oldest = min(self.pending_oldest, low) if self.pending_oldest else low
        self.pending_newest = max(self.pending_newest, *times)
        shapes = self._shapes
        if not shapes.issuperset(map(tuple, (fields for fields, _ in lines))):
            cols = self.pending_columns
            for fields, ts in lines:
                shape = tuple(fields)  # (its names are in ``cols`` once a line had them)
                if shape not in shapes:
                    if len(shapes) >= MAX_SHAPES:
                        shapes.clear()
                    shapes.add(shape)
                    for name in shape:
                        if name not in cols:
                            cols[name] = ts
        if any(map(operator.gt, times, islice(times, 1, None))):  # (by time: the last is newest)
            lines = sorted(lines, key=itemgetter(1))
            times = [ts for _, ts in lines]
        for name in self.filtered:
            values = [fields.get(name) for fields, _ in lines]
            if set(map(type, values)) <= _PLAIN:  # (no two of them one key of a dict)
                newest_of = dict(zip(values, times, strict=True))  # each value's newest time
                newest_of.pop(None, None)
                self._add_values(name, newest_of.items())
            else:
                self._add_values(name, zip(values, times, strict=True))

    def _add_values(self, name: str, values: Iterable[tuple[object, float]]) -> None:
        """Values of column ``name`` seen at times (s), as ``add`` takes them."""
        pending = self.pending_values
        for value, ts in values:
            if value is None:
                continue
            if type(value) is str:
                key = (name, value[:MAX_VALUE_LEN])
            elif isinstance(value, dict | list):
                continue
            else:
                key = (name, value_text(value)[:MAX_VALUE_LEN])
            if pending.get(key, 0) < ts:
                pending[key] = ts

    def add_late(self, ids: list[int]) -> None:
        """Lines stored behind newer ones (their ids): the live tail pushes them."""
        self.pending_late.extend(ids)

    def flush(self) -> bool:
        """Send what is pending in one pipeline; False (and kept) when Redis is unreachable."""
        if not (self.pending_values or self.pending_columns or self.pending_newest
                or self.pending_late):
            return True
        pipe = self.client.pipeline(transaction=False)
        by_field: dict[str, dict[str, float]] = {}
        for (name, value), ts in self.pending_values.items():
            by_field.setdefault(name, {})[value] = ts
        for name, mapping in by_field.items():
            pipe.zadd(values_key(self.prefix, self.index, name), mapping, gt=True)
        for name, ts in self.pending_columns.items():
            pipe.hsetnx(columns_key(self.prefix, self.index), name, int(ts))
        if self.pending_newest:
            pipe.zadd(newest_key(self.prefix), {self.index: self.pending_newest}, gt=True)
        if self.pending_late:
            pipe.xadd(late_key(self.prefix, self.index),
                      {"ids": ",".join(map(str, self.pending_late))},
                      maxlen=LATE_MAXLEN, approximate=True)
        if self.pending_newest:  # lines were stored: open live tails poll now, from the
            # oldest one's millisecond on (their ids are at or above it)
            pipe.publish(stored_channel(self.prefix, self.index),
                         str(int(self.pending_oldest * 1000) - 1))
        pipe.zscore(newest_key(self.prefix), self.index)  # as the other writers left it too
        try:
            replies = pipe.execute()
        except redis.RedisError as exc:
            log.warning("redis update failed (%s); will retry with the next batch", exc)
            self._bound()
            self.redis_away = True
            return False
        self.redis_away = False
        self.sent()
        self.newest_seen = max(self.newest_seen, float(replies[-1] or 0))
        return True

    def sent(self) -> None:
        """Forget what is pending: Redis has it."""
        self.pending_values.clear()
        self.pending_columns.clear()
        self._shapes.clear()
        self.pending_newest = self.pending_oldest = 0.0
        self.pending_late.clear()

    def newest_now(self) -> float | None:
        """The index's newest line (s) as Redis has it now, from every writer; None while
        Redis does not answer (not asked again after a failed flush)."""
        if self.redis_away:
            return None
        try:
            newest = self.client.zscore(newest_key(self.prefix), self.index)
        except redis.RedisError:
            return None
        return float(newest or 0)

    def _bound(self) -> None:
        if len(self.pending_values) > MAX_PENDING:
            newest = sorted(self.pending_values.items(), key=lambda kv: kv[1])[-MAX_PENDING:]
            self.pending_values = dict(newest)
        del self.pending_late[:-MAX_PENDING]

    def trim(self, fields: tuple[str, ...], older_than: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name in fields:
            pipe.zremrangebyscore(values_key(self.prefix, self.index, name), "-inf", older_than)
        pipe.execute()


def trim_values(config: Config, today: date) -> bool:
    """Forget field values last seen before each index's window; False when Redis is down."""
    ok = True
    for ix in config.indexes:
        filtered = ix.columns_with("filtered")
        store = ValuesStore(config.redis.url, config.redis.prefix, ix.name, filtered)
        try:
            store.trim(filtered, retention.window_start_s(ix, today) - 1e-6)
        except redis.RedisError as exc:
            log.warning("retention: cannot trim values of %s: %s", ix.name, exc)
            ok = False
        finally:
            store.client.close()
    return ok
