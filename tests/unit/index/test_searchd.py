"""The managed searchd refuses a port already taken, naming who holds it when it can; the
value hashes its new days get."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from alco.config import parse
from alco.index.searchd import ManagedSearchd, SearchdError


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def managed(tmp_path: Path, port: int) -> ManagedSearchd:
    return ManagedSearchd(parse({"sphinx": {"port": port, "data_dir": str(tmp_path)}},
                                "<defaults>", env={}))


def test_a_second_alco_on_the_port_names_the_first(tmp_path: Path, taken_port: int) -> None:
    """The searchd of this data_dir (its pid file) is the child of an ALCO: both are named."""
    child = subprocess.Popen(["sleep", "60"])  # stands for searchd; this test for its ALCO
    try:
        (tmp_path / "searchd.pid").write_text(f"{child.pid}\n")
        with pytest.raises(SearchdError) as info:
            managed(tmp_path, taken_port).start()
    finally:
        child.kill()
        child.wait()
    message = str(info.value)
    assert message.startswith(f"ALCO (pid {os.getpid()}: ")
    assert f"with its searchd of {tmp_path} (pid {child.pid}) already listens on " \
        f"127.0.0.1:{taken_port}" in message
    assert message.endswith("managed = false in the config")


def test_something_else_on_the_port_is_something(tmp_path: Path, taken_port: int) -> None:
    with pytest.raises(SearchdError, match=f"^something already listens on 127.0.0.1:"
                                           f"{taken_port}"):
        managed(tmp_path, taken_port).start()


def test_a_new_day_gets_the_hashes_of_the_columns_seen_but_a_shards_every_one(
        tmp_path: Path) -> None:
    """(a head groups facets by the value hashes on every shard: none may lack one)"""
    columns = {"host": "filtered", "level": "filtered", "levelname": "filtered"}
    for sphinx, want in (({}, ("host", "levelname")),
                         ({"api_port": 9312, "lines_port": 9313}, None)):
        cfg = parse({"sphinx": {"data_dir": str(tmp_path / str(bool(sphinx))), **sphinx},
                     "index": [{"name": "logs", "columns": columns}]}, "t", env={})
        searchd = ManagedSearchd(cfg, lambda name: {"host", "levelname"})
        searchd.write_config(date(2026, 12, 7))
        text = searchd.conf_path.read_text()
        section = text.split("index logs_20261208\n")[1].split("}")[0]
        assert ("rt_attr_uint = v_level\n" in section) is (want is None)
        assert ("rt_field = nv_level" in section) is (want is not None)
        assert "rt_attr_uint = v_host" in section
