"""The stored-batch wake-ups say how far back the tail's look-back must read: the oldest
line time of the batches stored since it last asked, or "unknown" when it may have missed
some (alco.catalog.stored.StoredSignal.oldest)."""

from __future__ import annotations

import pytest
import redis

from alco.catalog.keys import stored_channel
from alco.catalog.stored import NOTHING, StoredSignal
from tests.integration.test_tail_wake import run_loop

pytestmark = pytest.mark.integration


def test_oldest_is_the_oldest_line_of_the_batches_since_the_last_ask(stack):
    config = stack.config()
    client = redis.Redis.from_url(config.redis.url)
    channel = stored_channel(config.redis.prefix, "logs")

    async def run() -> list[int | None]:
        signal = StoredSignal(config.redis.url, config.redis.prefix, "logs")
        await signal.open()
        asked = [signal.oldest()]  # batches before it subscribed were not heard
        for ms in (500, 300, 400):
            client.publish(channel, str(ms))
        await signal.wait(5)
        asked.append(signal.oldest())
        await signal.wait(0.2)
        asked.append(signal.oldest())  # nothing stored since
        client.publish(channel, b"")  # a writer that does not say
        await signal.wait(5)
        asked.append(signal.oldest())
        await signal.close()
        asked.append(signal.oldest())  # not subscribed
        return asked

    assert run_loop(run()) == [None, 300, NOTHING, None, None]


def test_a_writer_sees_what_the_other_writers_stored_since_its_last_batch(stack):
    from alco.catalog.values import ValuesStore

    config = stack.config()
    idle, busy = (ValuesStore(config.redis.url, config.redis.prefix, "logs", ())
                  for _ in range(2))
    idle.add({}, 100.0)
    assert idle.flush() and idle.newest_seen == 100.0
    busy.add({}, 250.0)
    assert busy.flush()
    assert idle.newest_seen == 100.0 and idle.newest_now() == 250.0
