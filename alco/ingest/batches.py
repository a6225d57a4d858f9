"""Batches of records handed from a consumer to a writer through shared memory.

Only a small handle travels on the multiprocessing queue; the records themselves are written
once into a ``multiprocessing.shared_memory`` segment and read once by the writer, which
unlinks it.  ``Handoff.PICKLE`` sends the records through the queue instead (benchmark A/B).
Replies (:class:`Stored`) go back on one queue per consumer; the types of these queues and of
the shared counters that void the batches of a lost connection are named here.
"""

from __future__ import annotations

import ctypes
import enum
import os
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import SynchronizedArray
from typing import TypeAlias

import orjson

from alco.index.schema import Record


class Handoff(enum.Enum):
    SHM = "shm"
    PICKLE = "pickle"


@dataclass(frozen=True)
class BatchHandle:
    """What travels on the writer queue."""

    consumer: int  # index of the consumer among the consumers of the index
    generation: int  # the consumer's channel generation (stale after a reset)
    batch_id: int
    count: int
    redelivered: bool
    shm_name: str | None = None
    size: int = 0
    payload: bytes | None = None


@dataclass(frozen=True)
class Stored:
    """Reply from a writer: the batch is in Sphinx."""

    generation: int
    batch_id: int
    stored: int
    duplicates: int


WriterQueue: TypeAlias = "Queue[BatchHandle | None]"  # consumers -> writers (None: stop)
ReplyQueue: TypeAlias = "Queue[Stored]"  # writers -> one consumer
# Per consumer, the generation of its live connection: a batch of an older one is void.
Generations: TypeAlias = "SynchronizedArray[int]"
# Per writer slot, 1 + the consumer whose batch it is storing (0: none).
BusySlots: TypeAlias = "ctypes.Array[ctypes.c_longlong]"


def encode(records: list[Record]) -> bytes:
    return orjson.dumps([(r.ts_us, r.message, r.fields, r.fp, r.marks, r.arrival)
                         for r in records])


def decode(data: bytes | memoryview) -> list[Record]:
    return [Record(ts, msg, fields, fp, [], marks, arrival)  # (degraded: the consumer's)
            for ts, msg, fields, fp, marks, arrival in orjson.loads(data)]


def _untrack(shm: shared_memory.SharedMemory) -> None:
    # The segment outlives its creator's interest in it: the writer unlinks it (unlink()
    # unregisters it from the writer's tracker), so the creating consumer must not track it.
    try:
        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - tracker absent
        pass


def _view(shm: shared_memory.SharedMemory) -> memoryview:
    buf = shm.buf
    if buf is None:  # pragma: no cover - only after close()
        raise ValueError(f"shared memory {shm.name} is closed")
    return buf


def pack(records: list[Record], *, consumer: int, generation: int, batch_id: int,
         redelivered: bool, handoff: Handoff = Handoff.SHM,
         shm_name: str | None = None) -> BatchHandle:
    """Write a batch (to a segment named ``shm_name``, or a random name) and return its handle."""
    data = encode(records)
    if handoff is Handoff.PICKLE:
        return BatchHandle(consumer, generation, batch_id, len(records), redelivered,
                           payload=data)
    shm = shared_memory.SharedMemory(name=shm_name, create=True, size=max(len(data), 1))
    _untrack(shm)
    _view(shm)[: len(data)] = data
    handle = BatchHandle(consumer, generation, batch_id, len(records), redelivered,
                         shm_name=shm.name, size=len(data))
    shm.close()
    return handle


def unpack(handle: BatchHandle) -> list[Record]:
    """Read the records of a batch and free its segment."""
    if handle.payload is not None:
        return decode(handle.payload)
    shm = shared_memory.SharedMemory(name=handle.shm_name)
    try:
        return decode(bytes(_view(shm)[: handle.size]))
    finally:
        shm.close()
        shm.unlink()


def discard(handle: BatchHandle) -> None:
    """Free the segment of a batch that will not be stored (after a reset)."""
    if handle.shm_name is None:
        return
    try:
        shm = shared_memory.SharedMemory(name=handle.shm_name)
    except FileNotFoundError:
        return
    shm.close()
    shm.unlink()


SHM_DIR = "/dev/shm"


def sweep(prefix: str) -> int:
    """Free every segment whose name starts with ``prefix`` (left behind by dead processes)."""
    try:
        names = [n for n in os.listdir(SHM_DIR) if n.startswith(prefix)]
    except FileNotFoundError:  # pragma: no cover - no /dev/shm
        return 0
    for name in names:  # unlinked as files: no resource tracker in the calling process
        try:
            os.unlink(os.path.join(SHM_DIR, name))
        except FileNotFoundError:
            pass
    return len(names)
