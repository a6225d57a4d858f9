"""The managed searchd runs with glibc's malloc told to give large blocks back to the system
(alco.index.searchd.MALLOC_ENV: what a day's flush and merge free does not stay in its heap;
the effect is measured by bench/linestore.py, "heap MiB after compaction"); a value set in
ALCO's own environment wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from alco.index.searchd import MALLOC_ENV

pytestmark = pytest.mark.integration


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_searchd_runs_with_malloc_giving_large_blocks_back(stack, monkeypatch):
    assert int(MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]) <= 4 << 20
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")  # (the operator's own choice)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    stack.index()
    stack.start_searchd()
    env = environ(stack.searchd.proc.pid)
    assert env["MALLOC_MMAP_THRESHOLD_"] == MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]
    assert env["MALLOC_TRIM_THRESHOLD_"] == "1048576"
