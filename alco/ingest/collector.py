"""Assemble the collector: queues, consumers and writers of every index, under a supervisor."""

from __future__ import annotations

import logging
import multiprocessing as mp
from typing import Any

from alco import metrics
from alco.config import Config
from alco.ingest.batches import Handoff, Reset
from alco.ingest.consumer import ConsumerContext, run_consumer
from alco.ingest.supervisor import Child, Supervisor
from alco.ingest.writer import WriterContext, run_writer

log = logging.getLogger("alco.collector")


def build(config: Config, handoff: Handoff = Handoff.SHM,
          on_tick: Any = None) -> Supervisor:
    consumers_stop = mp.Event()
    writers_stop = mp.Event()
    children: list[Child] = []
    for ix in config.indexes:
        writer_queue: Any = mp.Queue()
        replies = [mp.Queue() for _ in range(ix.consumers)]
        generations = mp.Array("q", ix.consumers)

        def reset_consumers(child: Child, replies: list = replies) -> None:
            metrics.mark_dead(child.process.pid)
            for q in replies:
                q.put(Reset())

        for n in range(ix.consumers):
            ctx = ConsumerContext(config, ix, n, writer_queue, replies[n], generations,
                                  consumers_stop, handoff)
            children.append(Child(f"alco: consumer {ix.name}#{n}", "consumers", run_consumer,
                                  (ctx,), on_death=_mark_dead))
        for slot in range(ix.writers):
            ctx_w = WriterContext(config, ix, slot, writer_queue, replies, generations,
                                  writers_stop)
            children.append(Child(f"alco: writer {ix.name}#{slot}", "writers", run_writer,
                                  (ctx_w,), on_death=reset_consumers))
    return Supervisor(
        children,
        stop_order=[("consumers", consumers_stop), ("writers", writers_stop)],
        grace=config.collector.shutdown_grace,
        on_restart=_count_restart,
        on_tick=on_tick,
    )


def _mark_dead(child: Child) -> None:
    metrics.mark_dead(child.process.pid)


def _count_restart(child: Child) -> None:
    role, name = child.title.split(" ", 2)[1:]
    metrics.RESTARTS.labels(role, name.split("#")[0]).inc()
