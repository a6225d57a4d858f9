"""The live tail polls searchd when a writer reports a stored batch (Redis pub/sub), not only
every POLL_S: a line reaches an open tail well within its poll interval; without Redis the
tail still polls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import redis

from alco.catalog.keys import stored_channel
from alco.catalog.stored import MIN_GAP_S, StoredSignal
from alco.search.compile import compile_text
from alco.web.state import WebState
from alco.web.tail import newest_id, tail_events
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
POLL_S = 30.0  # so long that only a wake-up can bring the line within the test's 5 s
T = TypeVar("T")


@pytest.fixture
def served(stack):
    """An index with its own searchd, the web app's state, and the newest line's id (a tail
    starts after it)."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    state = WebState(config)
    return config, ix, state, newest_id(state.searcher(), ix)


def run_loop(main: Awaitable[T]) -> T:
    """``asyncio.run`` in a thread of its own (the browser tests leave a loop running in the
    main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main).result()


def test_a_stored_batch_wakes_the_tail_at_once(served):
    config, ix, state, cursor = served

    async def tail_once() -> tuple[bytes, float]:
        wake = StoredSignal(config.redis.url, config.redis.prefix, ix.name)
        events = tail_events(state.own_searcher, ix, compile_text(ix, "wakeme", None),
                             cursor, poll_s=POLL_S, wake=wake)
        assert (await anext(events)).startswith(b": tail of")
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)  # the tail is subscribed and waiting
        start = time.monotonic()
        await asyncio.to_thread(fill, config, [record(time.time_ns() // 1000, "wakeme now")])
        event = await asyncio.wait_for(waiting, 5)
        await events.aclose()
        return event, time.monotonic() - start

    event, took = run_loop(tail_once())
    assert event.startswith(b"event: line") and b"wakeme now" in event
    assert took < POLL_S / 10


def test_wake_ups_are_merged_and_the_wait_ends_without_them(stack):
    config = stack.config()
    client = redis.Redis.from_url(config.redis.url)

    async def run() -> tuple[bool, bool, float]:
        signal = StoredSignal(config.redis.url, config.redis.prefix, "logs")
        await signal.open()
        for _ in range(10):  # ten batches stored while the tail was busy
            client.publish(stored_channel(config.redis.prefix, "logs"), b"")
        await asyncio.sleep(0.2)  # (busy: all ten reached its connection before it waits)
        first = await signal.wait(5)
        start = time.monotonic()
        second = await signal.wait(0.3)  # the ten were one wake-up: nothing left
        took = time.monotonic() - start
        await signal.close()
        return first, second, took

    first, second, took = run_loop(run())
    assert first and not second and took >= 0.3 - 0.05


def test_without_redis_the_tail_polls():
    async def run() -> tuple[bool, float]:
        signal = StoredSignal("redis://127.0.0.1:1/0", "X", "logs")  # nothing listens there
        await signal.open()
        start = time.monotonic()
        woken = await signal.wait(0.3)
        took = time.monotonic() - start
        await signal.close()
        return woken, took

    woken, took = run_loop(run())
    assert not woken and 0.25 <= took < 2
    assert MIN_GAP_S < 0.3


def test_a_tail_that_lost_redis_subscribes_again(stack, monkeypatch):
    from alco.catalog import stored

    monkeypatch.setattr(stored, "RESUBSCRIBE_S", 0.0)
    config = stack.config()
    client = redis.Redis.from_url(config.redis.url)

    async def run() -> bool:
        signal = StoredSignal(config.redis.url, config.redis.prefix, "logs")
        await signal.open()
        await signal._drop()  # as when the connection to Redis broke
        await signal.wait(0.05)  # subscribes again
        client.publish(stored_channel(config.redis.prefix, "logs"), b"")
        woken = await signal.wait(5)
        await signal.close()
        return woken

    assert run_loop(run())


class EveryTenth:
    """Wake-ups ten times a second (a writer storing batch after batch)."""

    async def open(self) -> None: ...

    async def wait(self, timeout: float) -> bool:
        await asyncio.sleep(0.1)
        return True

    def oldest(self) -> int | None:
        return None

    async def close(self) -> None: ...


def test_wake_ups_do_not_raise_the_tails_rate(served):
    """MAX_RATE lines a second whatever the rhythm of the polls: a poll 0.1 s after the last
    sends a tenth of a second's worth, the rest is reported skipped."""
    config, ix, state, cursor = served
    now_us = time.time_ns() // 1000
    fill(config, [record(now_us + i, f"flood {i}") for i in range(1000)])

    async def first_poll() -> list[bytes]:
        events = tail_events(state.own_searcher, ix, compile_text(ix, "flood", None), cursor,
                             poll_s=0.5, max_rate=500, wake=EveryTenth())
        await anext(events)  # ": tail of"
        got: list[bytes] = []
        while len(got) <= 1000:  # the first poll's events (its cursor is then the newest)
            try:
                got.append(await asyncio.wait_for(anext(events), 1))
            except TimeoutError:
                break
        await events.aclose()
        return got

    got = run_loop(first_poll())
    assert got[0].startswith(b"event: skipped")
    lines = [e for e in got if e.startswith(b"event: line")]
    assert 1 <= len(lines) <= 500 * 0.3  # (polled after ~0.1 s; 250 at the old fixed budget)
