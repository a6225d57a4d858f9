"""Read side for the web app: seen columns, values of filtered fields, the newest line and the
late lines of an index."""

from __future__ import annotations

from collections.abc import Callable

import redis

from alco.catalog.keys import columns_key, late_key, newest_key, values_key


class ValuesReader:
    """Read side for the web app: seen columns, values of filtered fields, the newest line and
    the late lines of an index (None or "unknown" when Redis is away: reads degrade)."""

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

    def late_position(self, index: str) -> str | None:
        """Where the stream of late lines of an index is now ("0-0" when empty); None when
        Redis is unreachable."""
        try:
            last = self.client.xrevrange(late_key(self.prefix, index), count=1)
        except redis.RedisError:
            return None
        return last[0][0] if last else "0-0"

    def late_since(self, index: str, position: str,
                   count: int = 100) -> tuple[str, list[int]] | None:
        """Ids of lines reported late after ``position`` (at most ``count`` batches) and the new
        position; None when Redis is unreachable."""
        try:
            entries = self.client.xrange(late_key(self.prefix, index), f"({position}",
                                         count=count)
        except redis.RedisError:
            return None
        ids = [int(i) for _, data in entries for i in data.get("ids", "").split(",") if i]
        return (entries[-1][0] if entries else position), ids

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


def seen_columns(url: str, prefix: str) -> Callable[[str], set[str] | None]:
    """The columns an index's lines have had, by its name (None: Redis does not answer):
    what the managed searchd gives a new day the value hashes of (alco.index.bucketsizes)."""
    def seen(index: str) -> set[str] | None:
        reader = ValuesReader(url, prefix)
        try:
            columns = reader.columns(index)
        finally:
            reader.client.close()
        return None if columns is None else set(columns)
    return seen


def catalog_values(url: str, prefix: str, limit: int = 1000
                   ) -> Callable[[str, str], list[str] | None]:
    """The ``limit`` most recent values of an index's column (None: Redis does not answer):
    what a new day's common values take their text from (alco.index.commonvalues)."""
    def values(index: str, column: str) -> list[str] | None:
        reader = ValuesReader(url, prefix)
        try:
            got = reader.values(index, column, limit)
        finally:
            reader.client.close()
        if got is None:
            return None
        return [v.decode("utf-8", "surrogatepass") if isinstance(v, bytes) else str(v)
                for v, _ in got]
    return values


def _glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
