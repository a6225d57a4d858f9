"""Assemble the collector: one team of consumers and writers per index, under a supervisor.

Each (re)start of a team gets fresh queues and generation counters, so a member killed at any
moment cannot leave its team stuck on a broken queue.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
from collections.abc import Callable

from alco import metrics
from alco.config import Config, IndexConfig
from alco.ingest import batches
from alco.ingest.batches import BusySlots, Generations, Handoff, ReplyQueue, WriterQueue
from alco.ingest.consumer import ConsumerContext, run_consumer
from alco.ingest.writer import LANES, WriterContext, writer_process
from alco.process.flags import StopFlag
from alco.process.supervisor import Child, Supervisor, Team

log = logging.getLogger("alco.collector")


# How consumers hand batches to writers; only the ingest benchmark sets another before build().
HANDOFF = Handoff.SHM


def build(config: Config, on_tick: Callable[[], None] | None = None) -> Supervisor:
    consumers_stop = StopFlag()
    writers_stop = StopFlag()
    teams = [
        Team(ix.name, _team_factory(config, ix, HANDOFF, consumers_stop, writers_stop))
        for ix in config.indexes
    ]
    return Supervisor(
        teams,
        stop_order=[("consumers", consumers_stop), ("writers", writers_stop)],
        grace=config.collector.shutdown_grace,
        on_restart=_count_restart,
        on_exit=metrics.mark_dead,
        on_tick=on_tick,
    )


def _team_factory(config: Config, ix: IndexConfig, handoff: Handoff, consumers_stop: StopFlag,
                  writers_stop: StopFlag) -> Callable[[], list[Child]]:
    shm_prefix = f"alco{os.getpid()}-{ix.name}-"  # index names have no "-"

    def make() -> list[Child]:
        batches.sweep(shm_prefix)  # segments a dead team left behind
        # one queue per writer: a producer's records always go to the same writer
        writer_queues: list[WriterQueue] = [mp.Queue() for _ in range(ix.writers)]
        replies: list[ReplyQueue] = [mp.Queue() for _ in range(ix.consumers)]
        generations: Generations = mp.Array(ctypes.c_longlong, ix.consumers)
        busy: BusySlots = mp.RawArray(ctypes.c_longlong, ix.writers * LANES)
        children = []
        for n in range(ix.consumers):
            ctx = ConsumerContext(config, ix, n, writer_queues, replies[n], generations, busy,
                                  consumers_stop, handoff, shm_prefix)
            children.append(Child(f"alco: consumer {ix.name}#{n}", "consumers", run_consumer,
                                  (ctx,)))
        for slot in range(ix.writers):
            ctx_w = WriterContext(config, ix, slot, writer_queues[slot], replies, generations, busy,
                                  writers_stop)
            children.append(Child(f"alco: writer {ix.name}#{slot}", "writers", writer_process,
                                  (ctx_w,)))
        return children

    return make


def _count_restart(child: Child) -> None:
    role, name = child.title.split(" ", 2)[1:]
    metrics.RESTARTS.labels(role, name.split("#")[0]).inc()
