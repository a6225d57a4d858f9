"""Retention by size: past ``[sphinx] max_disk`` the oldest days go first, whole; yesterday,
today and tomorrow never (a loud ERROR instead)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from alco.index import diskspace, retention
from alco.index.schema import day_index
from alco.index.sphinxql import Sphinx

pytestmark = pytest.mark.integration
TODAY = datetime.now(UTC).date()


def fill_day(sx: Sphinx, index: str, n: int = 400) -> None:
    """``n`` rows of 50 words each never seen before in ``index``, written out as a disk
    chunk."""
    rows = ", ".join(f"({i}, '{' '.join(os.urandom(5).hex() for _ in range(50))}', 'a', {i})"
                     for i in range(1, n + 1))
    sx.execute(f"REPLACE INTO {index} (id, logline, tags, fp) VALUES {rows}")
    sx.execute(f"FLUSH RAMCHUNK {index}")


def count(sx: Sphinx, index: str) -> int:
    return int(sx.query(f"SELECT COUNT(*) AS n FROM {index}")[0]["n"])


def dropped(reason: str = "max_disk") -> float:
    return REGISTRY.get_sample_value("alco_days_dropped_total",
                                     {"index": "logs", "reason": reason}) or 0.0


def test_past_max_disk_the_oldest_day_goes_first_never_yesterday_or_today(stack, caplog):
    stack.index(retention_days=5)
    stack.start_searchd()
    config = stack.config()
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    days = [day_index("logs", TODAY - timedelta(days=k)) for k in (3, 2, 1, 0)]
    for index in days:
        fill_day(sx, index)
    data_dir = Path(config.sphinx.data_dir)
    (data_dir / f"{days[0]}.lines").mkdir()  # the line store's day goes with it
    sizes = diskspace.day_bytes(data_dir)
    used = retention.tree_bytes(data_dir)
    stack.data["sphinx"]["max_disk"] = str(used - sizes[days[0]] // 2)
    before = dropped()
    assert retention.enforce_max_disk(stack.config(), TODAY) == [days[0]]
    assert [count(sx, ix) for ix in days] == [0, 400, 400, 400]
    assert not (data_dir / f"{days[0]}.lines").exists()
    assert not list(data_dir.glob(f"{days[0]}.*.sp*"))  # searchd's chunk files are gone
    assert dropped() == before + 1
    assert retention.enforce_max_disk(stack.config(), TODAY) == []  # under it now
    stack.data["sphinx"]["max_disk"] = "1"
    with caplog.at_level(logging.ERROR, logger="alco.retention"):
        assert retention.enforce_max_disk(stack.config(), TODAY) == [days[1]]
    assert [count(sx, ix) for ix in days] == [0, 0, 400, 400]
    assert any("still over max_disk" in r.message and days[2] in r.message
               for r in caplog.records)
    sx.close()
