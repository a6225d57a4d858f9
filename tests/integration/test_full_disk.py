"""A full disk under [sphinx] data_dir: storing pauses, nothing acked is lost, reads go on.

Each test makes its own small filesystem (a tmpfs) as data_dir, skipped where mounting is
not allowed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alco.config import Config
from alco.index import diskspace
from alco.index.daystore import DayStore
from alco.index.diskspace import DiskState
from alco.index.schema import IndexSchema, Record
from alco.index.sphinxql import Sphinx
from alco.ingest import writer
from alco.ingest.spacegate import SpaceGate
from tests.conftest import ENV_PASSTHROUGH
from tests.helpers import logcollect_body, publish, stored_count, wait_for
from tests.integration.test_faults import exactly_once
from tests.integration.test_metrics import metric, start_collector

pytestmark = pytest.mark.integration
DISK_MB = 24


@pytest.fixture
def small_disk(stack) -> Iterator[Path]:
    """A tmpfs of DISK_MB as the stack's data_dir."""
    mount = stack.tmp / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    stack.data["sphinx"]["data_dir"] = str(mount / "sphinx")
    stack.data["sphinx"]["min_free"] = "2M"
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path) -> Path:
    """Write a file until the disk is full; return it."""
    filler = mount / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def kill_9_and_restart(stack) -> None:
    stack.searchd.proc.send_signal(signal.SIGKILL)
    stack.searchd.proc.wait()
    stack.searchd.start()


def check_output(stack) -> str:
    stack.write()
    return subprocess.run([sys.executable, "-m", "alco", "--config", str(stack.config_path),
                           "check"], env=ENV_PASSTHROUGH, capture_output=True, text=True,
                          timeout=60).stdout


def get(stack, path: str) -> tuple[int, str]:
    url = f"http://{stack.data['web']['bind']}{path}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_full_disk_pauses_storing_reads_go_on_and_every_line_is_kept_once(stack, small_disk):
    stack.index(batch_size=100, retention_days=2)
    stack.start_searchd()
    start_collector(stack)
    stack.web()
    url = stack.data["rabbitmq"]["url"]
    bodies = [logcollect_body(i) for i in range(1000)]
    publish(url, stack.exchange, bodies[:500])
    wait_for(lambda: stored_count(stack.config()) == 500, message="500 before the disk fills")
    sending = threading.Thread(target=publish, args=(url, stack.exchange, bodies[500:]))
    sending.start()  # the disk fills under ingest
    filler = fill(small_disk)
    sending.join()
    wait_for(lambda: metric(stack, "alco_disk_paused") == 1, message="the pause")
    assert metric(stack, "alco_disk_pauses_total") >= 1
    assert metric(stack, "alco_disk_free_bytes") < 2 << 20
    assert "FAILED  disk: full: storing is paused" in check_output(stack)
    status, text = get(stack, "/healthz")
    assert status == 200 and text.startswith("disk full: storing paused")
    status, text = get(stack, "/api/logs/lines?limit=10")  # reads answer while it is full
    assert status == 200 and '"lines"' in text
    assert metric(stack, "alco_disk_paused") == 1  # held full: still paused
    filler.unlink()
    wait_for(lambda: metric(stack, "alco_disk_paused") == 0, message="the end of the pause")
    exactly_once(stack, 1000)
    assert get(stack, "/healthz") == (200, "ok")
    kill_9_and_restart(stack)  # what was acked is in the binlog: nothing lost
    exactly_once(stack, 1000)


class RoomyFirstLook:
    """The first look finds room (the disk fills between it and the write); then the disk as
    it is."""

    def __init__(self) -> None:
        self.looks = 0

    def __call__(self, config: Config, sphinx: Sphinx | None) -> DiskState | None:
        self.looks += 1
        if self.looks == 1:
            return DiskState(free=1 << 30, total=1 << 30, ram_chunks=0, compaction=0,
                             margin=1 << 20, binlog=0)
        return diskspace.measure(config, sphinx)


def test_a_write_the_binlog_did_not_take_is_not_acked_but_written_again(stack, small_disk):
    """searchd 2.2.11 accepts a REPLACE whose binlog write failed (the rows live in its
    memory only, gone at a kill): the writer sees its binlog did not grow and writes the batch
    again once there is room, then returns (acks).  (Lines in searchd alone: a line store
    would meet the full disk first.)"""
    stack.index(retention_days=2, line_store=False)
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    store = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days)
    gate = SpaceGate(config, Sphinx(config.sphinx.host, config.sphinx.port), "logs",
                     every=0.05, look=RoomyFirstLook())
    now_us = time.time_ns() // 1000
    recs = [Record(now_us + i, f"line {i} " + "x" * 200, {"seq": i}, i) for i in range(200)]
    filler = fill(small_disk)
    got: list = []
    thread = threading.Thread(target=lambda: got.append(writer._store_with_retry(
        store, recs, False, "logs", lambda: False, None, gate)))
    thread.start()
    # searchd has the rows (in memory) but the writer did not return: no ack
    wait_for(lambda: stored_count(config) == 200, message="rows in searchd's memory")
    assert thread.is_alive() and not got
    os.unlink(filler)
    thread.join(60)
    assert got and got[0] is not None and got[0].stored == 200
    sx.close()
    kill_9_and_restart(stack)
    assert stored_count(stack.config()) == 200


def test_a_torn_day_is_moved_aside_and_searchd_comes_back_with_the_others(stack):
    """A disk chunk torn (by a full disk, a crash) ends every start of searchd 2.2.11 with a
    FATAL: the managed searchd moves that day's files aside and starts without them."""
    from datetime import UTC, datetime, timedelta

    from alco.index.schema import day_index

    stack.index(retention_days=3)
    stack.start_searchd()
    config = stack.config()
    today = datetime.now(UTC).date()
    torn, other = day_index("logs", today), day_index("logs", today - timedelta(days=1))
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    for index in (torn, other):
        rows = ", ".join(f"({i}, 'line {i}', 'a', {i})" for i in range(1, 51))
        sx.execute(f"REPLACE INTO {index} (id, logline, tags, fp) VALUES {rows}")
        sx.execute(f"FLUSH RAMCHUNK {index}")
    sx.execute(f"REPLACE INTO {torn} (id, logline, tags, fp) "
               "VALUES (100, 'in the binlog only', 'a', 100)")
    sx.close()
    stack.searchd.proc.send_signal(signal.SIGKILL)
    stack.searchd.proc.wait()
    data_dir = Path(config.sphinx.data_dir)
    header = data_dir / f"{torn}.0.sph"
    header.write_bytes(header.read_bytes()[:20])  # a chunk torn mid-write
    stack.searchd.start()
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    count = "SELECT COUNT(*) AS n FROM {}"
    assert sx.query(count.format(other))[0]["n"] == 50  # the other days are back
    assert sx.query(f"SELECT id FROM {torn}") == [{"id": 100}]  # what the binlog held
    sx.close()
    kept = list((data_dir / "broken").glob(f"{torn}-*/{torn}.0.sph"))
    assert len(kept) == 1 and kept[0].stat().st_size == 20  # the broken files, kept aside
