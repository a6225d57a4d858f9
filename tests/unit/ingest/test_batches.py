"""Batches through shared memory: round trip, freeing, sweeping what the dead left."""

from __future__ import annotations

import os
import uuid

import pytest

from alco.ingest import batches
from alco.ingest.batches import Handoff
from alco.ingest.records import Record

needs_shm = pytest.mark.skipif(not os.path.isdir(batches.SHM_DIR), reason="no /dev/shm")


def records() -> list[Record]:
    return [Record(1_764_000_000_000_000 + i, f"line {i} \x00\x01 é", {"n": i, "d": {"a": [1]}},
                   -i, arrival=i % 2 == 0) for i in range(50)]


@needs_shm
def test_shared_memory_round_trip_frees_the_segment():
    name = f"alcotest{uuid.uuid4().hex[:8]}_0"
    handle = batches.pack(records(), consumer=1, generation=2, batch_id=3, redelivered=True,
                          shm_name=name)
    assert handle.shm_name == name and handle.count == 50 and handle.payload is None
    assert os.path.exists(os.path.join(batches.SHM_DIR, name))
    out = batches.unpack(handle)
    assert [(r.ts_us, r.message, r.fields, r.fp, r.arrival) for r in out] == \
        [(r.ts_us, r.message, r.fields, r.fp, r.arrival) for r in records()]
    assert not os.path.exists(os.path.join(batches.SHM_DIR, name))


def test_pickle_handoff():
    handle = batches.pack(records(), consumer=0, generation=1, batch_id=0, redelivered=False,
                          handoff=Handoff.PICKLE)
    assert handle.shm_name is None
    assert len(batches.unpack(handle)) == 50


@needs_shm
def test_discard_and_sweep():
    prefix = f"alcotest{uuid.uuid4().hex[:8]}_"
    handles = [batches.pack(records(), consumer=0, generation=1, batch_id=i, redelivered=False,
                            shm_name=f"{prefix}{i}") for i in range(3)]
    batches.discard(handles[0])
    batches.discard(handles[0])  # twice is harmless
    assert batches.sweep(prefix) == 2
    assert not [n for n in os.listdir(batches.SHM_DIR) if n.startswith(prefix)]
