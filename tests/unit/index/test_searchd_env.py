"""The managed searchd's malloc gives back what a flushed or merged RAM chunk freed."""

from __future__ import annotations

from alco.index import searchd


def test_big_blocks_are_mapped_on_their_own_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert searchd.searchd_env()["MALLOC_MMAP_THRESHOLD_"] == "1048576"
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")
    assert searchd.searchd_env()["MALLOC_MMAP_THRESHOLD_"] == "4194304"
