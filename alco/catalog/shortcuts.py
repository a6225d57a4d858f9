"""Saved searches in Redis (``<prefix>:SHORTCUTS``)."""

from __future__ import annotations

import redis

from alco.catalog.keys import shortcuts_key


class SavedSearches:
    """Shortcuts (the original's saved searches): name -> index, query with a ``{}`` slot.

    ``/s/<name>/<value>`` opens the query with the value filled in.  Stored in the hash
    ``<prefix>:SHORTCUTS`` as JSON.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           decode_responses=True)
        self.key = shortcuts_key(prefix)

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
