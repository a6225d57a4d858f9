"""Retention: what leaves when a day falls out of an index's window, or the disk is over
``[sphinx] max_disk`` (the oldest days first, whole: searchd's rows and the line store's).

The day indexes themselves leave searchd's config when it is regenerated (sphinxconf); this
module removes their files; alco.catalog.values trims the field values in Redis to the
window.  Records older than the window are not stored at all (alco.index.daystore counts
them as ``expired``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alco.config import Config, IndexConfig
from alco.index import diskspace, sphinxql
from alco.index.schema import day_of_index
from alco.index.sphinxconf import retention_days

log = logging.getLogger("alco.retention")
EMPTY_DAY_BYTES = 64 << 10  # a day emptied (TRUNCATE) keeps its .meta (~20 KiB with its charset
# table) and .lock: not data
DAY_FILE_RE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)_(?P<day>\d{8})(\.[a-z0-9.]+)?$")


def first_day(ix: IndexConfig, today: date) -> date:
    return retention_days(ix, today)[0]


def window_start_s(ix: IndexConfig, today: date) -> float:
    """The first second of the retention window (UTC midnight of its first day)."""
    return datetime.combine(first_day(ix, today), datetime.min.time(), UTC).timestamp()


def expired_files(config: Config, today: date) -> list[Path]:
    """Files (``<index>_<YYYYMMDD>.*``) of day indexes older than their retention window."""
    data_dir = Path(config.sphinx.data_dir).resolve()
    if not data_dir.is_dir():
        return []
    windows = {ix.name: first_day(ix, today) for ix in config.indexes}
    found = []
    for path in sorted(data_dir.iterdir()):
        match = DAY_FILE_RE.match(path.name)
        if not match or match["name"] not in windows:
            continue
        try:
            day = datetime.strptime(match["day"], "%Y%m%d").date()
        except ValueError:
            continue
        if day < windows[match["name"]]:
            found.append(path)
    return found


def remove_expired(config: Config, today: date) -> list[str]:
    """Delete the files of expired day indexes (searchd must not have them loaded)."""
    removed = []
    for path in expired_files(config, today):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    if removed:
        log.info("retention: removed %s", ", ".join(removed))
    return removed


def max_disk_bytes(config: Config) -> int | None:
    """``[sphinx] max_disk`` in bytes (None: no limit, or data_dir not on this machine)."""
    space = diskspace.free_and_total(Path(config.sphinx.data_dir).resolve())
    if not config.sphinx.max_disk or space is None:
        return None
    return diskspace.parse_size(config.sphinx.max_disk, space[1])


def tree_bytes(path: Path) -> int:
    """Bytes on disk of everything under ``path``."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def drop_order(config: Config, data_dir: Path, today: date) -> tuple[list[str], list[str]]:
    """The day indexes holding data, oldest first: those that may be dropped for size, and
    the protected ones (yesterday, today, tomorrow)."""
    names = {ix.name for ix in config.indexes}
    sizes = diskspace.day_bytes(data_dir)
    days = sorted((day, index) for index, size in sizes.items()
                  if size > EMPTY_DAY_BYTES and index.rsplit("_", 1)[0] in names
                  and (day := day_of_index(index)) is not None)
    protect = today - timedelta(days=1)
    return ([i for d, i in days if d < protect], [i for d, i in days if d >= protect])


def enforce_max_disk(config: Config, today: date) -> list[str]:
    """Past ``[sphinx] max_disk``, drop whole days, the oldest first, until under it; never
    yesterday's, today's or tomorrow's (a loud ERROR says they alone are over it)."""
    limit = max_disk_bytes(config)
    if limit is None or config.sphinx.agents:
        return []
    data_dir = Path(config.sphinx.data_dir).resolve()
    used = tree_bytes(data_dir)
    if used <= limit:
        return []
    droppable, protected = drop_order(config, data_dir, today)
    sx = sphinxql.Sphinx(config.sphinx.host, config.sphinx.port)
    dropped = []
    try:
        for index in droppable:
            try:
                drop_day(config, sx, index, "max_disk",
                         f"{diskspace.mib(used)} under {data_dir} is over max_disk "
                         f"{diskspace.mib(limit)}")
            except sphinxql.SPHINX_ERRORS as exc:
                log.error("max_disk: cannot drop day %s: %s", index, exc.message)
                continue
            dropped.append(index)
            used = tree_bytes(data_dir)
            if used <= limit:
                return dropped
    finally:
        sx.close()
    log.error("max_disk: %s under %s is still over max_disk %s, held by %s (yesterday, today "
              "and tomorrow are never dropped for size): raise [sphinx] max_disk or give "
              "data_dir more room; storing pauses before the disk is full",
              diskspace.mib(used), data_dir, diskspace.mib(limit), ", ".join(protected) or "-")
    return dropped


def drop_day(config: Config, sphinx: sphinxql.Sphinx, index: str, reason: str,
             why: str) -> None:
    """Drop one day of an ALCO index whole: searchd's rows and files (``TRUNCATE RTINDEX``:
    the day stays served, empty) and the day's line store, logged and counted."""
    from alco import metrics

    sphinx.execute(f"TRUNCATE RTINDEX {sphinxql.ident(index)}")
    drop_stored_lines(Path(config.sphinx.data_dir).resolve(), index)
    metrics.DAYS_DROPPED.labels(index.rsplit("_", 1)[0], reason).inc()
    log.warning("%s: dropped day %s whole (%s)", reason, index, why)


def drop_stored_lines(data_dir: Path, index: str) -> None:
    """The line store's files of a day (alco.linestore: a directory ``<day index>.lines``
    beside searchd's files; any directory of the day's name is the day's)."""
    for path in data_dir.glob(f"{index}.*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
