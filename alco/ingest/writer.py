"""Writer process: batches from the writer queue -> Sphinx -> Redis -> "stored" to the consumer."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime

from alco import metrics
from alco.catalog.keys import LOOKBACK_S
from alco.catalog.values import ValuesStore
from alco.config import Config, IndexConfig
from alco.index.compaction import compact_hour
from alco.index.daystore import DayStore, Planned, StoreResult, TransientError
from alco.index.flushlock import PastDayGuard
from alco.index.schema import IdAllocator, IndexSchema, id_ms
from alco.index.sphinxql import Sphinx
from alco.ingest import batches
from alco.ingest.batches import BatchHandle, BusySlots, Generations, ReplyQueue, Stored, WriterQueue
from alco.ingest.spacegate import SpaceGate, payload
from alco.linestore.writing import keeper_for
from alco.process.backoff import Backoff
from alco.process.flags import StopFlag, wait_until
from alco.process.gctune import space_out

log = logging.getLogger("alco.writer")
RETRY_FIRST, RETRY_CAP = 0.2, 10.0  # seconds between attempts to store while Sphinx is down
LANES = 2  # batches a writer may have in flight: a second one while the first is stuck
STALL_S = 0.25  # how long the next batch waits for the one before (a REPLACE: ~0.1 s)
# objects made (and not freed) between two collections of the youngest generation: a batch
# makes tens of thousands (its records' dicts, rows, blocks), which live until it is stored
# and are freed without a cycle; at the default 700 the collector ran ~40 times a batch and
# took 8-10 µs of CPU a line (2026-12-07)
GC_THRESHOLD = 50_000


@dataclass
class WriterContext:
    config: Config
    index: IndexConfig
    slot: int
    writer_queue: WriterQueue
    reply_queues: list[ReplyQueue]  # one per consumer of the index
    generations: Generations  # one per consumer of the index
    busy: BusySlots  # one per lane of each writer of the index (LANES a writer)
    stop: StopFlag


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


@dataclass
class Job:
    """A batch being stored on one of the writer's lanes (a connection to searchd each)."""

    handle: BatchHandle
    records: list
    lane: int
    future: Future


def run_writer(ctx: WriterContext) -> None:
    """Process entry point (a plain function): store batches until told to stop.

    A batch is stored on one of LANES connections.  The next batch waits until this one's
    ids are allocated, then at most STALL_S for it to be stored: a REPLACE that fills the day
    index's RAM chunk turns it into a disk chunk before it returns (seconds; searchd goes on
    taking the other connections' rows meanwhile, and the rows of that REPLACE are already
    searchable), so the next batches are stored on another lane instead of waiting behind
    it.  Ids keep the order the batches came in."""
    ix = ctx.index
    slot = ctx.config.collector.first_slot + ctx.slot
    ids = IdAllocator(slot)  # (shared by the lanes)
    stores = [DayStore(Sphinx(ctx.config.sphinx.host, ctx.config.sphinx.port),
                       IndexSchema.of(ix), slot, ix.retention_days,
                       PastDayGuard(ctx.config.redis.url, ctx.config.redis.prefix, slot,
                                    compact_hour(ctx.config)),
                       ids, keeper_for(ctx.config, ix)) for _ in range(LANES)]
    values = ValuesStore(ctx.config.redis.url, ctx.config.redis.prefix, ix.name,
                         ix.columns_with("filtered"))
    rate = RateLog(f"writer {ix.name}#{ctx.slot}")
    gate = SpaceGate(ctx.config, Sphinx(ctx.config.sphinx.host, ctx.config.sphinx.port), ix.name)
    newest_id = 0  # the newest line this writer stored
    pool = ThreadPoolExecutor(LANES, thread_name_prefix="lane")
    jobs: list[Job] = []  # in flight, oldest first
    failed = threading.Event()  # a lane raised: the other gives up retrying (a restart follows)

    def finish(job: Job) -> None:
        nonlocal newest_id
        jobs.remove(job)
        try:
            result = job.future.result()
        finally:
            ctx.busy[_busy_at(ctx, job.lane)] = 0
        if result is None:
            return  # stopping, or the batch went stale, while Sphinx was unreachable
        # Stored in Sphinx: the consumer may ack now; Redis values are best effort and follow.
        handle = job.handle
        ctx.reply_queues[handle.consumer].put(
            Stored(handle.generation, handle.batch_id, result.stored, result.duplicates))
        _count(ix.name, job.records, result)
        newest_id = _report_late(values, result, newest_id)
        _update_values(values, job.records, ix.name)
        rate.add(result.stored)
        log.debug("batch %d of consumer %d: %d stored, %d duplicates", handle.batch_id,
                  handle.consumer, result.stored, result.duplicates)

    def finish_done() -> None:
        for job in [j for j in jobs if j.future.done()]:
            finish(job)

    try:
        while True:
            finish_done()
            if len(jobs) == LANES:  # every lane busy: wait for one of them
                wait([j.future for j in jobs], return_when=FIRST_COMPLETED)
                continue
            try:
                handle = ctx.writer_queue.get(timeout=0.2)
            except queue.Empty:
                if ctx.stop.is_set():
                    break
                continue
            if handle is None:
                break
            metrics.WRITER_QUEUE.labels(ix.name).set(_qsize(ctx.writer_queue))
            lane = next(n for n in range(LANES) if n not in {j.lane for j in jobs})
            if not _claim(ctx, handle, lane):
                batches.discard(handle)  # its consumer reconnected: the messages were requeued
                continue
            try:
                records = batches.unpack(handle)
            except BaseException:
                ctx.busy[_busy_at(ctx, lane)] = 0
                raise
            allocated = threading.Event()
            future = pool.submit(_store_with_retry, stores[lane], records, handle.redelivered,
                                 ix.name, _stop_retrying(ctx, handle, failed), allocated.set,
                                 gate)
            job = Job(handle, records, lane, future)
            jobs.append(job)
            # the next batch takes its ids after this one's; it is stored on another lane
            # once this one has taken STALL_S (a RAM chunk being written to disk)
            while not allocated.wait(0.2) and not future.done():
                pass
            wait([future], timeout=STALL_S)
        while jobs:
            wait([jobs[0].future])
            finish_done()
    except BaseException:
        failed.set()  # (the supervisor restarts the writer; unacked batches are redelivered)
        raise
    finally:
        pool.shutdown(wait=True)
        for store in stores:
            store.sphinx.close()
            if store.lines is not None:
                store.lines.close()
        if gate.sphinx is not None:
            gate.sphinx.close()


def writer_process(ctx: WriterContext) -> None:
    """A writer process's entry point: ``run_writer`` with what the process holds at its
    start (modules, config) left out of the cyclic garbage collector's passes, which run
    every GC_THRESHOLD objects instead of 700."""
    space_out(GC_THRESHOLD)
    run_writer(ctx)


def _claim(ctx: WriterContext, handle: BatchHandle, lane: int) -> bool:
    """Mark this writer's lane busy with the batch, unless its generation is already void."""
    with ctx.generations.get_lock():
        if _stale(ctx, handle):
            return False
        ctx.busy[_busy_at(ctx, lane)] = handle.consumer + 1
        return True


def _busy_at(ctx: WriterContext, lane: int) -> int:
    """Where in ``busy`` this writer's ``lane`` says which consumer's batch it stores."""
    return ctx.slot * LANES + lane


def _stale(ctx: WriterContext, handle: BatchHandle) -> bool:
    return ctx.generations[handle.consumer] != handle.generation


def _stop_retrying(ctx: WriterContext, handle: BatchHandle,
                   failed: threading.Event | None = None) -> Callable[[], bool]:
    """Whether to give up storing ``handle``: the writer stops (or ``failed``: its other lane
    raised, the process is going down), or the batch went stale."""
    return lambda: (ctx.stop.is_set() or _stale(ctx, handle)
                    or (failed is not None and failed.is_set()))


def _qsize(q: WriterQueue) -> int:
    try:
        return q.qsize()
    except (NotImplementedError, OSError):
        return 0


def _store_with_retry(store: DayStore, records: list, redelivered: bool, name: str,
                      give_up: Callable[[], bool],
                      allocated: Callable[[], None] | None = None,
                      gate: SpaceGate | None = None) -> StoreResult | None:
    """Store a batch; None when ``give_up()`` first.  Nothing is written while ``gate``
    says the disk is too full, and a write searchd may not keep is written again."""
    backoff = Backoff(RETRY_FIRST, RETRY_CAP)
    planned = Planned()
    while True:
        if gate is not None and not gate.wait(give_up):
            return None
        mark = gate.mark() if gate is not None else None
        start = time.perf_counter()
        try:
            result = store.store(records, today_utc(), redelivered, allocated, planned)
            metrics.INSERT_SECONDS.labels(name).observe(time.perf_counter() - start)
            lost = gate.kept(mark, payload(result.stored)) \
                if gate is not None else None
            if lost is None:
                return result
            problem = f"searchd may keep the batch only in memory ({lost})"
            _forget_writes(planned)
        except TransientError as exc:
            problem = str(exc)
        delay = backoff.next_delay()
        metrics.INSERT_RETRIES.labels(name).inc()
        log.warning("cannot store now (%s); retrying in %.1fs", problem, delay)
        # Retrying is safe: the same rows with the same ids are written again (REPLACE:
        # idempotent), so the batch keeps its place in the order of ids; a plan cut
        # short is made anew, finding what was stored by fingerprint.
        redelivered = True
        if wait_until(give_up, delay):
            return None


def _forget_writes(planned: Planned) -> None:
    """Write every day of a plan again (what searchd may not keep), counting its rows once."""
    planned.written.clear()
    planned.result.stored = planned.result.rejected = 0
    planned.result.ids.clear()


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


def late_ids(ids: list[int], newest_id: int, newest_ms: int) -> tuple[list[int], int]:
    """Ids stored behind a newer line: below this writer's newest id, or older than the
    index's newest line as Redis knew it (other writers); and the writer's newest id after
    them.  A live tail has already passed such lines and gets them from the stream of late
    lines."""
    late, top = [], newest_id
    for doc_id in ids:
        if doc_id < top or id_ms(doc_id) < newest_ms:
            late.append(doc_id)
        top = max(top, doc_id)
    return late, top


def _report_late(values: ValuesStore, result: StoreResult, newest_id: int) -> int:
    """Queue the late ids of a stored batch for Redis; return the writer's newest id.

    Late: behind this writer's newest line, behind the index's newest as Redis had it at
    this writer's last batch, or more than a live tail's look-back (LOOKBACK_S) behind what
    every writer stored before this batch became searchable (an idle writer's view is old;
    lines less far behind are the look-back's)."""
    newest_ms = int(values.newest_seen * 1000)
    now = values.newest_now()
    if now is not None:
        newest_ms = max(newest_ms, int(now * 1000) - int(LOOKBACK_S * 1000))
    late, newest_id = late_ids(result.ids, newest_id, newest_ms)
    if late:
        values.add_late(late)
        metrics.LATE.labels(values.index).inc(len(late))
    return newest_id


def _update_values(values: ValuesStore, records: list, name: str) -> None:
    values.add_many([(rec.fields, rec.ts_us / 1_000_000) for rec in records])
    start = time.perf_counter()
    ok = values.flush()
    metrics.REDIS_SECONDS.labels(name).observe(time.perf_counter() - start)
    if not ok:
        metrics.REDIS_ERRORS.labels(name).inc()
