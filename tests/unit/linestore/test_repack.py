"""A past day of the line store repacked (real SQLite files, real zstd, real processes)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alco.config import parse
from alco.index.schema import day_index
from alco.linestore import repack as repack_module
from alco.linestore.daydb import DayFile, Superseded, day_dir, gen_file, generations
from alco.linestore.reading import LineReader
from alco.linestore.repack import Repacker, repack, repacked
from alco.linestore.writing import LineWriter
from tests.unit.linestore.test_linestore import DAY_MS, day_of, service_lines

ROOT = Path(__file__).parents[3]


def stored(tmp_path: Path, n: int, batch: int = 2000) -> tuple[list[tuple], Path]:
    lines = service_lines(n)
    writer = LineWriter(tmp_path)
    for i in range(0, n, batch):
        writer.put(day_of(lines), lines[i:i + batch])
    writer.close()
    return lines, day_dir(tmp_path, day_of(lines))


def as_tuples(got: dict) -> dict:
    return {i: (e.id, e.ts_us, e.message, e.fields, e.marks) for i, e in got.items()}


def rows(path: Path) -> list[tuple]:
    db = DayFile(path, create=False)
    try:
        return db.db.execute("SELECT rowid, min_id, max_id, count, dict FROM blocks "
                             "ORDER BY rowid").fetchall()
    finally:
        db.close()


def data_bytes(path: Path) -> int:
    db = DayFile(path, create=False)
    try:
        return db.db.execute("SELECT SUM(length(data)) FROM blocks").fetchone()[0]
    finally:
        db.close()


def test_a_repacked_day_reads_the_same_lines_from_a_smaller_file(tmp_path: Path,
                                                                monkeypatch):
    lines, path = stored(tmp_path, 20_000)
    early = service_lines(1, start_ms=DAY_MS + 7_100_000, seed=8)
    writer = LineWriter(tmp_path)
    writer.put(day_of(lines), early)  # (the day's file open: it wrote before the repack)
    lines += early
    reader = LineReader(tmp_path)  # open before: it keeps the day's file, heads and blocks
    sample = random.Random(3).sample(lines, 500)
    assert as_tuples(reader.fetch("logs", [x[0] for x in sample])) == {x[0]: x for x in sample}
    before, data = rows(path), data_bytes(path)
    first = DayFile(path, create=False)
    done = repack(path)
    assert done is not None and done.blocks == len(before)
    assert data_bytes(path) < data  # (random ids do not compress: bench/RESULTS.md)
    assert generations(path) == [2] and repacked(path)
    assert not gen_file(path, 1).exists()
    assert rows(path) == before  # the same blocks at the same rowids
    everything = {x[0]: x for x in lines}
    assert as_tuples(reader.fetch("logs", list(everything))) == everything  # (switched)
    assert as_tuples(LineReader(tmp_path).fetch("logs", list(everything))) == everything
    # a writer of a late line puts it in the new file, also one that looked before the new
    # file was there (the old file's write lock tells it); a second repack makes a third
    with pytest.raises(Superseded):
        first.put([], {})
    first.close()
    late = service_lines(1, start_ms=DAY_MS + 7_200_000, seed=9)
    monkeypatch.setattr(DayFile, "stale", lambda self: False)
    writer.put(day_of(lines), late)
    monkeypatch.undo()
    assert as_tuples(reader.fetch("logs", [late[0][0]])) == {late[0][0]: late[0]}
    assert repack(path).blocks == len(before) + 1 and generations(path) == [3]


def test_late_lines_written_while_a_day_is_repacked_are_kept_once(tmp_path: Path):
    """A writer that stores lines of the day all through its repack (one that opened the
    day's file before it): every line it stored is read once, from the new file."""
    lines, path = stored(tmp_path, 40_000)
    late = service_lines(6_000, start_ms=DAY_MS + 7_200_000, step_ms=5, seed=4)
    writer = LineWriter(tmp_path)
    writer.put(day_of(lines), late[:100])  # (its file open)
    put = [100]
    stop, writing = threading.Event(), threading.Event()

    def write() -> None:
        while put[0] < len(late) and not stop.is_set():
            writer.put(day_of(lines), late[put[0]:put[0] + 100])
            put[0] += 100
            writing.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert writing.wait(30)  # (it writes before the repack starts, and goes on)
        done = repack(path)
    finally:
        stop.set()
        thread.join()
    assert done is not None
    writer.put(day_of(lines), late[put[0]:put[0] + 100])  # after it too
    put[0] += 100
    kept = lines + late[:put[0]]
    assert 200 < put[0] and generations(path) == [2]
    db = DayFile(path, create=False)
    assert db.db.execute("SELECT SUM(count) FROM blocks").fetchone()[0] == len(kept)
    got = LineReader(tmp_path).fetch("logs", [x[0] for x in kept])
    assert as_tuples(got) == {x[0]: x for x in kept}


def test_kill_9_during_a_repack_leaves_the_day_readable_and_repackable(tmp_path: Path):
    """The repacking process killed at moments through its work: the day reads whole each
    time (from the old file, or from the new one once it was renamed), and a repack after
    it clears what was left and finishes."""
    lines, path = stored(tmp_path, 60_000, batch=5000)
    everything = {x[0]: x for x in lines}
    script = ("import sys\nfrom pathlib import Path\n"
              "from alco.linestore.repack import repack\n"
              "print('go', flush=True)\nrepack(Path(sys.argv[1]))\nprint('done', flush=True)\n")
    rng = random.Random(5)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        got = LineReader(tmp_path).fetch("logs", list(everything))
        assert as_tuples(got) == everything
        if repacked(path):
            break
    repack(path)
    assert not list(path.glob("*.tmp*"))
    assert len(generations(path)) == 1 and repacked(path)
    assert as_tuples(LineReader(tmp_path).fetch("logs", list(everything))) == everything


def test_the_repacker_takes_past_days_at_the_compaction_hour_one_at_a_time(
        tmp_path: Path, monkeypatch):
    config = parse({"sphinx": {"data_dir": str(tmp_path), "compact_hour": 3},
                    "index": [{"name": "logs"}, {"name": "logs_x"}]}, "test.toml", env={})
    today = datetime(2026, 12, 20, 3, 30, tzinfo=UTC)
    writer = LineWriter(tmp_path)
    days = [today - timedelta(days=d) for d in (2, 1, 0)]
    for day in days:
        ms = int(day.timestamp() * 1000)
        writer.put(day_index("logs", day.date()), service_lines(100, start_ms=ms))
        writer.put(day_index("logs_x", day.date()), service_lines(100, start_ms=ms))
    writer.close()
    gate = threading.Event()
    real = repack_module.repack
    monkeypatch.setattr(repack_module, "repack",
                        lambda path, reserve: gate.wait(5) and real(path, reserve=reserve))
    repacker = Repacker(config)
    assert repacker.step(today.replace(hour=4)) is None  # not its hour
    first = repacker.step(today)
    assert first == day_dir(tmp_path, day_index("logs", days[0].date()))
    assert repacker.step(today) == first  # (still at it)
    gate.set()
    repacker.thread.join(10)
    assert repacked(first)
    went = []
    while (path := repacker.step(today)) is not None:
        repacker.thread.join(10)
        went.append(path.name)
    assert went == ["logs_x_20261218.lines", "logs_20261219.lines", "logs_x_20261219.lines"]
    assert not repacked(day_dir(tmp_path, day_index("logs", today.date())))  # (today's)


def test_a_crash_after_the_new_file_is_in_place_leaves_the_new_file_read(tmp_path: Path,
                                                                        monkeypatch):
    """Killed between the rename and the removal of the old file: both are there, readers
    and writers take the new one, and what is left goes at the next look."""
    lines, path = stored(tmp_path, 3_000)

    def crash(_: Path) -> None:
        if gen_file(path, 2).exists():
            raise KeyboardInterrupt  # (as a kill would stop it here)

    monkeypatch.setattr(repack_module, "tidy", crash)
    try:
        repack(path)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert generations(path) == [1, 2]
    late = service_lines(1, start_ms=DAY_MS + 7_200_000, seed=9)
    LineWriter(tmp_path).put(day_of(lines), late)
    kept = {x[0]: x for x in lines + late}
    assert as_tuples(LineReader(tmp_path).fetch("logs", list(kept))) == kept
    assert DayFile(path, create=False).gen == 2
    repack_module.tidy(path)
    assert generations(path) == [2] and repacked(path)
    assert as_tuples(LineReader(tmp_path).fetch("logs", list(kept))) == kept


def test_a_day_is_not_repacked_without_room_for_its_new_file(tmp_path: Path, monkeypatch):
    """The new file is made beside the old one: without the old one's size free and what
    storing needs besides, nothing is done (and the writers never run out of room for it)."""
    lines, path = stored(tmp_path, 3_000)
    size = gen_file(path, 1).stat().st_size
    monkeypatch.setattr(repack_module, "free_and_total", lambda _: (size + 1000, 10**12))
    with pytest.raises(repack_module.NoRoom):
        repack(path, reserve=2000)
    assert generations(path) == [1] and not list(path.glob("*.tmp*"))
    assert repack(path, reserve=500) is not None and generations(path) == [2]
