"""Writer process: batches from the writer queue -> Sphinx -> Redis -> "stored" to the consumer."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from alco import metrics
from alco.config import Config, IndexConfig
from alco.index.daystore import DayStore, StoreResult, TransientError
from alco.index.schema import IndexSchema
from alco.index.sphinxql import Sphinx
from alco.ingest import batches
from alco.ingest.batches import BatchHandle, Stored
from alco.stores.values import ValuesStore

log = logging.getLogger("alco.writer")


@dataclass
class WriterContext:
    config: Config
    index: IndexConfig
    slot: int
    writer_queue: object  # multiprocessing.Queue[BatchHandle]
    reply_queues: list  # one multiprocessing.Queue per consumer
    generations: Any  # multiprocessing.Array: the live generation of each consumer
    busy: Any  # multiprocessing.Array: per writer slot, 1 + the consumer it stores for
    stop: Any  # supervisor.StopFlag


def today_utc() -> date:
    return datetime.now(UTC).date()


class RateLog:
    """An info line with the rate every ``every`` seconds."""

    def __init__(self, name: str, every: float = 10.0) -> None:
        self.name, self.every = name, every
        self.count = 0
        self.since = time.monotonic()

    def add(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if now - self.since >= self.every:
            log.info("%s: %d records in %.0fs (%.0f/s)", self.name, self.count,
                     now - self.since, self.count / (now - self.since))
            self.count, self.since = 0, now


def run_writer(ctx: WriterContext) -> None:
    """Process entry point (a plain function): store batches until told to stop."""
    ix = ctx.index
    sphinx = Sphinx(ctx.config.sphinx.host, ctx.config.sphinx.port)
    store = DayStore(sphinx, IndexSchema.of(ix), ctx.config.collector.first_slot + ctx.slot,
                     ix.retention_days)
    values = ValuesStore(ctx.config.redis.url, ctx.config.redis.prefix, ix.name,
                         ix.columns_with("filtered"))
    rate = RateLog(f"writer {ix.name}#{ctx.slot}")
    while True:
        try:
            handle: BatchHandle = ctx.writer_queue.get(timeout=0.2)  # type: ignore[attr-defined]
        except queue.Empty:
            if ctx.stop.is_set():
                break
            continue
        if handle is None:
            break
        metrics.WRITER_QUEUE.labels(ix.name).set(_qsize(ctx.writer_queue))
        if not _claim(ctx, handle):
            batches.discard(handle)  # its consumer reconnected: the messages were requeued
            continue
        try:
            records = batches.unpack(handle)
            result = _store_with_retry(store, records, handle.redelivered, ix.name,
                                       lambda h=handle: ctx.stop.is_set() or _stale(ctx, h))
        finally:
            ctx.busy[ctx.slot] = 0
        if result is None:
            continue  # stopping, or the batch went stale, while Sphinx was unreachable
        # Stored in Sphinx: the consumer may ack now; Redis values are best effort and follow.
        ctx.reply_queues[handle.consumer].put(
            Stored(handle.generation, handle.batch_id, result.stored, result.duplicates))
        _count(ix.name, records, result)
        _update_values(values, records, ix.name)
        rate.add(result.stored)
        log.debug("batch %d of consumer %d: %d stored, %d duplicates", handle.batch_id,
                  handle.consumer, result.stored, result.duplicates)
    sphinx.close()


def _claim(ctx: WriterContext, handle: BatchHandle) -> bool:
    """Mark this writer busy with the batch, unless its generation is already void."""
    with ctx.generations.get_lock():
        if _stale(ctx, handle):
            return False
        ctx.busy[ctx.slot] = handle.consumer + 1
        return True


def _stale(ctx: WriterContext, handle: BatchHandle) -> bool:
    return ctx.generations[handle.consumer] != handle.generation


def _qsize(q: object) -> int:
    try:
        return q.qsize()  # type: ignore[attr-defined]
    except (NotImplementedError, OSError):
        return 0


def _store_with_retry(store: DayStore, records: list, redelivered: bool, name: str,
                      give_up: Callable[[], bool]) -> StoreResult | None:
    delay = 0.2
    while True:
        start = time.perf_counter()
        try:
            result = store.store(records, today_utc(), redelivered)
            metrics.INSERT_SECONDS.labels(name).observe(time.perf_counter() - start)
            return result
        except TransientError as exc:
            metrics.INSERT_RETRIES.labels(name).inc()
            log.warning("sphinx unavailable (%s); retrying in %.1fs", exc, delay)
            # Retrying is safe: ids are allocated anew and a partly stored batch is found by
            # fingerprint on the next attempt.
            redelivered = True
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if give_up():
                return None
            time.sleep(0.05)
        delay = min(delay * 2, 10.0)


def _count(name: str, records: list, result: StoreResult) -> None:
    metrics.STORED.labels(name).inc(result.stored)
    metrics.BATCHES.labels(name).inc()
    metrics.BATCH_SIZE.labels(name).observe(len(records))
    if result.duplicates:
        metrics.DUPLICATES.labels(name).inc(result.duplicates)
    for reason in ("expired", "rejected"):
        n = getattr(result, reason)
        if n:
            metrics.DROPPED.labels(name, reason).inc(n)
    if result.future:
        metrics.DEGRADED.labels(name, "future").inc(result.future)


def _update_values(values: ValuesStore, records: list, name: str) -> None:
    for rec in records:
        values.add(rec.fields, rec.ts_us / 1_000_000)
    start = time.perf_counter()
    ok = values.flush()
    metrics.REDIS_SECONDS.labels(name).observe(time.perf_counter() - start)
    if not ok:
        metrics.REDIS_ERRORS.labels(name).inc()
