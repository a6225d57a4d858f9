"""Free space under ``[sphinx] data_dir`` against what searchd's next write-outs need.

searchd 2.2.11 goes on accepting REPLACEs after its binlog can no longer grow (the rows then
live only in its memory) and dies on the disk chunk it could not finish writing: every row
acked meanwhile is lost.  So storing pauses *before* the disk is full, while the free space
is less than what searchd may have to write without being asked:

* every RAM chunk of the day indexes as it is now (``SHOW INDEX <day> STATUS``: ``ram_chunk``):
  it becomes a disk chunk of about that size when it fills up, at compaction's flush and at
  every stop of searchd.  What a batch adds to the binlog it adds to a RAM chunk too, so the
  need grows as the free space shrinks and the two meet before the disk is full;
* in compaction's hour (and its margin), the largest past day's files: ``OPTIMIZE`` writes a
  merged copy of a day's chunks before it removes them;
* ``[sphinx] min_free``: a margin for what the batches in flight add between two looks, and
  for everything else on the filesystem.

The binlog already written is reported (``alco check``) but needs nothing more: it is on disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alco.config import Config
from alco.index import sphinxql
from alco.index.flushlock import may_flush
from alco.index.schema import day_of_index

SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
DAY_FILE_RE = re.compile(r"^(?P<index>[a-z][a-z0-9_]*_\d{8})\.")


def parse_size(text: str, total: int) -> int:
    """Bytes of a size setting: ``"123456"``, ``"64M"``, ``"2G"``, or ``"5%"`` of ``total``
    (the filesystem's size).  ValueError for anything else."""
    percent = PERCENT_RE.match(text)
    if percent:
        return int(total * float(percent[1]) / 100)
    size = SIZE_RE.match(text)
    if not size:
        raise ValueError(f"{text!r} is not a size (bytes, 64M, 2G or 5%)")
    return int(float(size[1]) * UNITS[size[2].lower()])


@dataclass(frozen=True)
class DiskState:
    """One look at the disk under ``data_dir``; sizes in bytes."""

    free: int
    total: int
    ram_chunks: int  # what the RAM chunks of the day indexes become on disk
    compaction: int  # the peak of compaction's merge, in its hour (else 0)
    margin: int  # [sphinx] min_free
    binlog: int  # the binlog on disk (not cleared yet)

    @property
    def need(self) -> int:
        return self.ram_chunks + self.compaction + self.margin

    @property
    def full(self) -> bool:
        """Too full to store: what is free would not hold the next write-outs."""
        return self.free < self.need

    def describe(self) -> str:
        return (f"{mib(self.free)} free of {mib(self.total)}, {mib(self.need)} needed "
                f"(RAM chunks {mib(self.ram_chunks)}, compaction {mib(self.compaction)}, "
                f"min_free {mib(self.margin)}); binlog {mib(self.binlog)}")


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def free_and_total(data_dir: Path) -> tuple[int, int] | None:
    """Bytes free (for an unprivileged writer) and in all on ``data_dir``'s filesystem; None
    when it is not here (an external searchd on another machine)."""
    try:
        st = os.statvfs(data_dir)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def binlog_bytes(data_dir: Path) -> int:
    """The size of searchd's binlog files (``binlog.NNN``) in ``data_dir``."""
    total = 0
    for path in data_dir.glob("binlog.[0-9]*"):
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total


def day_bytes(data_dir: Path) -> dict[str, int]:
    """Bytes on disk of each day index (``<name>_<YYYYMMDD>.*`` files) in ``data_dir``."""
    sizes: dict[str, int] = {}
    try:
        entries = list(os.scandir(data_dir))
    except OSError:
        return sizes
    for entry in entries:
        match = DAY_FILE_RE.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            try:
                size = entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
            sizes[match["index"]] = sizes.get(match["index"], 0) + size
    return sizes


def served_days(sphinx: sphinxql.Sphinx, config: Config) -> list[str]:
    """Every day index of the configured ALCO indexes that searchd serves."""
    names = {ix.name for ix in config.indexes}
    return [index for index in sphinx.indexes()
            if day_of_index(index) is not None and index.rsplit("_", 1)[0] in names]


def ram_chunk_bytes(sphinx: sphinxql.Sphinx, config: Config) -> int:
    """The RAM chunks of every day index of the configured ALCO indexes that searchd serves."""
    return sum(int(sphinxql.index_status(sphinx, index).get("ram_chunk", 0) or 0)
               for index in served_days(sphinx, config))


def compaction_peak(config: Config, sizes: dict[str, int], now: datetime) -> int:
    """The largest past day's files while compaction may be merging one (its hour)."""
    if config.sphinx.agents or not may_flush(config.sphinx.compact_hour, now):
        return 0
    today = now.date()
    past = [n for index, n in sizes.items() if (day_of_index(index) or today) < today]
    return max(past, default=0)


def measure(config: Config, sphinx: sphinxql.Sphinx | None,
            now: datetime | None = None) -> DiskState | None:
    """The disk under ``data_dir`` now (the RAM chunks as 0 when searchd does not answer);
    None when ``data_dir`` is not on this machine."""
    data_dir = Path(config.sphinx.data_dir).resolve()
    space = free_and_total(data_dir)
    if space is None:
        return None
    free, total = space
    ram = 0
    if sphinx is not None:
        try:
            ram = ram_chunk_bytes(sphinx, config)
        except sphinxql.SPHINX_ERRORS:
            ram = 0
    peak = compaction_peak(config, day_bytes(data_dir), now or datetime.now(UTC))
    margin = parse_size(config.sphinx.min_free, total)
    return DiskState(free, total, ram, peak, margin, binlog_bytes(data_dir))
