"""Field values and seen columns in Redis: the only module of the collector that touches redis.

Keys (DESIGN §5): ``<prefix>:VALUES:<index>:<field>`` sorted set value -> last seen (s),
``<prefix>:COLUMNS:<index>`` hash field -> first seen (s), ``<prefix>:NEWEST`` sorted set index
-> timestamp (s) of its newest stored line (where reading newest-first starts).  Updates are
aggregated per batch and sent in one pipeline; when Redis is down they are kept (bounded) and
sent with the next batch.
"""

from __future__ import annotations

import logging
from datetime import date

import redis

from alco.config import Config
from alco.index import retention
from alco.index.schema import value_text

log = logging.getLogger("alco.values")
MAX_PENDING = 100_000
MAX_VALUE_LEN = 256


def values_key(prefix: str, index: str, field: str) -> str:
    return f"{prefix}:VALUES:{index}:{field}"


def columns_key(prefix: str, index: str) -> str:
    return f"{prefix}:COLUMNS:{index}"


def newest_key(prefix: str) -> str:
    return f"{prefix}:NEWEST"


class ValuesStore:
    def __init__(self, url: str, prefix: str, index: str, filtered: tuple[str, ...]) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self.index = index
        self.filtered = filtered
        self.pending_values: dict[tuple[str, str], float] = {}
        self.pending_columns: dict[str, float] = {}
        self.pending_newest = 0.0

    def add(self, fields: dict, ts: float) -> None:
        """Remember the values and columns of one record (call per record, flush per batch)."""
        if ts > self.pending_newest:
            self.pending_newest = ts
        cols = self.pending_columns
        for name in fields:
            if name not in cols:
                cols[name] = ts
        for name in self.filtered:
            value = fields.get(name)
            if value is None or isinstance(value, dict | list):
                continue
            key = (name, value_text(value)[:MAX_VALUE_LEN])
            if self.pending_values.get(key, 0) < ts:
                self.pending_values[key] = ts

    def flush(self) -> bool:
        """Send what is pending in one pipeline; False (and kept) when Redis is unreachable."""
        if not self.pending_values and not self.pending_columns and not self.pending_newest:
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
        try:
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("redis update failed (%s); will retry with the next batch", exc)
            self._bound()
            return False
        self.pending_values.clear()
        self.pending_columns.clear()
        self.pending_newest = 0.0
        return True

    def _bound(self) -> None:
        if len(self.pending_values) > MAX_PENDING:
            newest = sorted(self.pending_values.items(), key=lambda kv: kv[1])[-MAX_PENDING:]
            self.pending_values = dict(newest)

    def trim(self, fields: tuple[str, ...], older_than: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name in fields:
            pipe.zremrangebyscore(values_key(self.prefix, self.index, name), "-inf", older_than)
        pipe.execute()


class ValuesReader:
    """Read side for the web app: seen columns and values of filtered fields."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           decode_responses=True)
        self.prefix = prefix

    def columns(self, index: str) -> dict[str, int] | None:
        """Every field seen in the index -> first seen (s); None when Redis is unreachable."""
        try:
            raw = self.client.hgetall(columns_key(self.prefix, index))
        except redis.RedisError:
            return None
        return {k: int(v) for k, v in raw.items()}

    def newest(self, index: str) -> float | None:
        """Timestamp (s) of the index's newest stored line; None when unknown."""
        try:
            return self.client.zscore(newest_key(self.prefix), index)
        except redis.RedisError:
            return None

    def values(self, index: str, field: str, limit: int = 100,
               prefix: str = "") -> list[tuple[str, float]] | None:
        """Most recently seen values first; None when Redis is unreachable."""
        key = values_key(self.prefix, index, field)
        try:
            if prefix:
                items = [(v, s) for v, s in self.client.zscan_iter(key, match=_glob(prefix) + "*",
                                                                    count=1000)]
                items.sort(key=lambda kv: -kv[1])
                return items[:limit]
            return self.client.zrevrange(key, 0, limit - 1, withscores=True)
        except redis.RedisError:
            return None

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def _glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class SavedSearches:
    """Shortcuts (the original's saved searches): name -> index, query with a ``{}`` slot.

    ``/s/<name>/<value>`` opens the query with the value filled in.  Stored in the hash
    ``<prefix>:SHORTCUTS`` as JSON.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           decode_responses=True)
        self.key = f"{prefix}:SHORTCUTS"

    def all(self) -> dict[str, dict]:
        import orjson

        return {k: orjson.loads(v) for k, v in self.client.hgetall(self.key).items()}

    def get(self, name: str) -> dict | None:
        import orjson

        raw = self.client.hget(self.key, name)
        return orjson.loads(raw) if raw else None

    def put(self, name: str, shortcut: dict) -> None:
        import orjson

        self.client.hset(self.key, name, orjson.dumps(shortcut))

    def delete(self, name: str) -> bool:
        return bool(self.client.hdel(self.key, name))


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
