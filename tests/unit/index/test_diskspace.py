"""What "too full to store" is: sizes, the need, the compaction hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alco.config import ConfigError, parse
from alco.index.diskspace import DiskState, compaction_peak, parse_size


@pytest.mark.parametrize(("text", "total", "want"), [
    ("123456", 0, 123456), ("64M", 0, 64 << 20), ("2G", 0, 2 << 30), ("1.5k", 0, 1536),
    ("10MiB", 0, 10 << 20), ("80%", 1000, 800), ("0", 0, 0),
])
def test_sizes(text, total, want):
    assert parse_size(text, total) == want


def test_a_size_that_is_not_one_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="sphinx.max_disk"):
        parse({"sphinx": {"max_disk": "lots"}}, "t.toml", env={})
    assert parse({"sphinx": {"max_disk": "80%"}}, "t.toml", env={}).sphinx.max_disk == "80%"
    assert parse({}, "t.toml", env={}).sphinx.max_disk == ""  # no limit


def test_full_when_free_space_would_not_hold_the_next_write_outs():
    state = DiskState(free=100, total=1000, ram_chunks=60, compaction=0, margin=30, binlog=500)
    assert state.need == 90 and not state.full  # (the binlog is already on disk)
    assert DiskState(89, 1000, 60, 0, 30, 0).full
    assert "needed" in state.describe()


def test_a_merge_counts_only_in_compactions_hour():
    config = parse({"sphinx": {"compact_hour": 3}}, "t.toml", env={})
    sizes = {"logs_20261201": 500, "logs_20261202": 700, "logs_20261206": 9000}
    in_hour = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    assert compaction_peak(config, sizes, in_hour) == 700  # the largest past day, not today
    assert compaction_peak(config, sizes, datetime(2026, 12, 6, 12, tzinfo=UTC)) == 0
