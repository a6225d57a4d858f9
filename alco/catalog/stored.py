"""Waiting for the writers: a wake-up each time one stored a batch of an index (the Redis
pub/sub channel ``<prefix>:STORED:<index>``, published with each batch's values), so that the
live tail polls searchd when there is something new instead of only every POLL_S.

Each message is the time (ms) of the batch's oldest line: ``oldest()`` tells the tail how far
below its cursor lines may have been stored since it last asked (its look-back,
alco.web.lookback, reads no further back than that).

Best effort: without Redis the wait is the poll interval, as before; a tail that lost Redis
subscribes again every RESUBSCRIBE_S.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
import redis.asyncio as aioredis

from alco.catalog.keys import stored_channel

log = logging.getLogger("alco.stored")
NOTHING = 2**62  # oldest(): no batch was stored
MIN_GAP_S = 0.1  # polls a wake-up may bring, at most one per this many seconds
RESUBSCRIBE_S = 30.0  # after losing Redis, subscribe again at most this often


class StoredSignal:
    """One subscriber to an index's channel (one Redis connection: open it per tail)."""

    def __init__(self, url: str, prefix: str, index: str) -> None:
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        self._channel = stored_channel(prefix, index)
        self._pubsub: aioredis.client.PubSub | None = None
        self._last = 0.0
        self._opened = 0.0  # when it last tried to subscribe
        self._oldest: int | None = NOTHING  # of the batches stored since oldest() was asked
        self._blind = True  # batches may have been stored unheard (not subscribed)

    async def open(self) -> None:
        self._opened = time.monotonic()
        try:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self._channel)
            self._pubsub = pubsub
        except (redis.RedisError, OSError) as exc:
            log.info("live tail without wake-ups (Redis: %s): it polls", exc)

    async def wait(self, timeout: float) -> bool:
        """Until a batch was stored since the last wait, or ``timeout`` (s); True if woken.
        Wake-ups closer together than MIN_GAP_S are merged: this returns at most once per
        MIN_GAP_S."""
        deadline = time.monotonic() + timeout
        woken = False
        if self._pubsub is None and time.monotonic() - self._opened >= RESUBSCRIBE_S:
            await self.open()  # Redis is back (or still away: polls on)
        if self._pubsub is not None:
            try:
                woken = await self._next(timeout)
            except (redis.RedisError, OSError) as exc:
                log.info("live tail lost its wake-ups (Redis: %s): it polls", exc)
                await self._drop()
        gap = self._last + MIN_GAP_S - time.monotonic()
        rest = deadline - time.monotonic() if not woken else gap
        if rest > 0:
            await asyncio.sleep(rest)
        self._last = time.monotonic()
        return woken

    async def _next(self, timeout: float) -> bool:
        assert self._pubsub is not None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            # (None before the time: a subscription's confirmation, skipped)
            if self._note(await self._pubsub.get_message(timeout=left)):
                while self._note(await self._pubsub.get_message(timeout=0)):
                    pass  # the batches stored meanwhile: one poll reads them all
                return True
            await asyncio.sleep(0)
        return False

    def _note(self, message: dict | None) -> bool:
        """Keep the oldest line time of a message; False when there was none."""
        if message is None:
            return False
        try:
            ms = int(message["data"])
        except (TypeError, ValueError):
            ms = None  # a writer that does not say (an older version)
        if ms is None or self._oldest is None:
            self._oldest = None
        else:
            self._oldest = min(self._oldest, ms)
        return True

    def oldest(self) -> int | None:
        """A time (ms) at or below every line stored since the last call (NOTHING when no
        batch was); None when unknown (Redis away, or not subscribed all that time)."""
        oldest, self._oldest = self._oldest, NOTHING
        if self._blind or self._pubsub is None:
            self._blind = self._pubsub is None
            return None
        return oldest

    async def _drop(self) -> None:
        self._blind = True
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except (redis.RedisError, OSError):
                pass

    async def close(self) -> None:
        await self._drop()
        try:
            await self._client.aclose()
        except (redis.RedisError, OSError):
            pass
