"""Retention: what leaves when a day falls out of an index's window.

The day indexes themselves leave searchd's config when it is regenerated (sphinxconf); this
module removes their files; alco.stores.values trims the field values in Redis to the
window.  Records older than the window are not stored at all (alco.index.daystore counts
them as ``expired``).
"""

from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from alco.config import Config, IndexConfig
from alco.index.sphinxconf import retention_days

log = logging.getLogger("alco.retention")
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
