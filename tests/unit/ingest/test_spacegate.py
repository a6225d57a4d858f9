"""The writer's pause: when it waits, what it says, what it counts as kept."""

from __future__ import annotations

import logging
import threading

from alco.config import parse
from alco.index.diskspace import DiskState
from alco.ingest.spacegate import SpaceGate, payload


class Disk:
    """A disk whose free space the test sets."""

    def __init__(self, free: int) -> None:
        self.free = free

    def __call__(self, config, sphinx) -> DiskState:
        return DiskState(self.free, 1 << 30, ram_chunks=100, compaction=0, margin=50, binlog=0)


def test_storing_waits_while_full_and_says_so_once_at_start_and_end(caplog):
    disk = Disk(free=10)
    gate = SpaceGate(parse({}, "t.toml", env={}), None, "logs", every=0.01, look=disk)
    result: list[bool] = []
    with caplog.at_level(logging.WARNING, logger="alco.writer"):
        thread = threading.Thread(target=lambda: result.append(gate.wait(lambda: False)))
        thread.start()
        while not gate.paused:
            thread.join(0.01)
        assert thread.is_alive() and not result
        disk.free = 1000
        thread.join(5)
    assert result == [True] and not gate.paused
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "too full to store" in said[0] and "room again" in said[1]


def test_a_writer_told_to_stop_stops_waiting():
    gate = SpaceGate(parse({}, "t.toml", env={}), None, "logs", every=0.01, look=Disk(0))
    assert gate.wait(lambda: True) is False


def test_payload_is_a_lower_bound_of_the_rows_written_whatever_their_text():
    assert payload(2) == 32 and payload(1) == 16
    assert payload(0) == 0
