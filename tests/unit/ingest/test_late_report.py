"""Which lines of a stored batch a writer reports late (alco.ingest.writer._report_late):
behind its own newest, behind the index's newest of its last batch, and more than a live
tail's look-back behind what every writer stored, however old this writer's view."""

from __future__ import annotations

from types import SimpleNamespace

from alco.catalog.keys import LOOKBACK_S
from alco.index.schema import make_id
from alco.ingest import writer

NOW_MS = 1_800_000_000_000


class Values:
    index = "logs"

    def __init__(self, seen_s: float, now_s: float | None) -> None:
        self.newest_seen, self.now, self.late = seen_s, now_s, []

    def newest_now(self) -> float | None:
        return self.now

    def add_late(self, ids: list[int]) -> None:
        self.late += ids


def batch(*ago_ms: int) -> SimpleNamespace:
    return SimpleNamespace(ids=[make_id(NOW_MS - ms, 1, 0) for ms in ago_ms])


def test_an_idle_writers_line_far_behind_the_others_is_reported():
    far, near = int(LOOKBACK_S * 1000) + 5_000, 2_000
    values = Values(seen_s=0.0, now_s=NOW_MS / 1000)  # its view is from long ago
    writer._report_late(values, batch(far, near), 0)
    assert values.late == batch(far).ids  # the near one is the tail look-back's


def test_without_redis_the_view_of_the_last_batch():
    values = Values(seen_s=(NOW_MS - 1_000) / 1000, now_s=None)
    writer._report_late(values, batch(3_000, 500), 0)
    assert values.late == batch(3_000).ids
