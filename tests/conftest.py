"""Fixtures for tests against the real servers.

Each test gets its own exchange, queues, Redis key prefix and a searchd of its own on a free
port in a temp dir; everything is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alco.config import Config
from tests.helpers import (
    delete_exchange,
    delete_keys,
    discard,
    own_servers,
    queue_consumers,
    to_toml,
    wait_for,
)

RABBIT_URL = os.environ.get("ALCO_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("ALCO_TEST_REDIS", "redis://127.0.0.1:6379/0")
ENV_PASSTHROUGH = {k: v for k, v in os.environ.items() if not k.startswith("ALCO_")}


@dataclass
class Stack:
    """A test's own ALCO deployment on the real servers."""

    tmp: Path
    data: dict[str, Any]
    procs: list[subprocess.Popen] = field(default_factory=list)
    searchd: Any = None

    @property
    def config_path(self) -> Path:
        return self.tmp / "alco.toml"

    @property
    def exchange(self) -> str:
        return self.data["rabbitmq"]["exchange"]

    @property
    def prefix(self) -> str:
        return self.data["redis"]["prefix"]

    def write(self) -> None:
        self.config_path.write_text(to_toml(self.data))

    def config(self) -> Config:
        from alco.config import load

        self.write()
        return load(self.config_path, env={})

    def index(self, **overrides: Any) -> dict[str, Any]:
        """Add an index (unique queue name) to the config and return its table."""
        name = overrides.pop("name", "logs")
        ix = {"name": name, "queue": f"{self.exchange}.{name}", "batch_ms": 50, **overrides}
        self.data.setdefault("index", []).append(ix)
        return ix

    def start_searchd(self) -> None:
        from alco.catalog.reader import catalog_values, seen_columns
        from alco.index.searchd import ManagedSearchd

        config = self.config()  # (new days take the hashes of the columns seen, as alco run)
        self.searchd = ManagedSearchd(config, seen_columns(config.redis.url, config.redis.prefix),
                                      catalog_values(config.redis.url, config.redis.prefix))
        self.searchd.start()

    def alco(self, *args: str, **kw: Any) -> subprocess.Popen:
        """Start an ``alco`` command on this stack's config."""
        self.write()
        proc = subprocess.Popen(
            [sys.executable, "-m", "alco", "--config", str(self.config_path), *args],
            env=ENV_PASSTHROUGH, **kw)
        self.procs.append(proc)
        return proc

    def serving(self, command: str, bind: str, log_name: str) -> subprocess.Popen:
        """Start ``alco <command>`` (stderr to ``log_name``) and wait until it listens on
        ``bind``."""
        from alco.index.searchd import port_answers

        log = self.tmp / log_name
        proc = self.alco(command, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
        port = int(bind.rsplit(":", 1)[1])
        wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
                 message=f"alco {command} on {bind}")
        assert proc.poll() is None, log.read_text()
        return proc

    def web(self) -> subprocess.Popen:
        """Run the web app on this stack's config; return once it answers."""
        return self.serving("web", self.data["web"]["bind"], "web.log")

    def collector(self) -> subprocess.Popen:
        proc = self.serving("collect", self.data["collector"]["metrics_bind"], "collector.log")
        for ix in self.data.get("index", []):  # lines published from now on are kept
            wait_for(lambda q=ix["queue"]: (queue_consumers(RABBIT_URL, q)
                                            or proc.poll() is not None),
                     message=f"a consumer on {ix['queue']}")
        assert proc.poll() is None, (self.tmp / "collector.log").read_text()
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 60) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        discard(self.searchd)
        queues = [q for ix in self.data.get("index", [])
                  for q in (ix["queue"], ix["queue"] + ".dead")]
        delete_exchange(RABBIT_URL, self.exchange, queues)
        delete_keys(REDIS_URL, self.prefix)


def stack_data(tmp: Path) -> dict[str, Any]:
    """Config of a stack of its own: unique exchange and Redis prefix, free ports, ``tmp``."""
    tag = uuid.uuid4().hex[:10]
    data = own_servers(tmp, RABBIT_URL, REDIS_URL, exchange=f"test.alco.{tag}",
                       prefix=f"TEST{tag}", shutdown_grace=20.0)
    data["rabbitmq"]["prefetch"] = 4000
    return data


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path, stack_data(tmp_path))
    yield s
    s.cleanup()
    shutil.rmtree(tmp_path / "sphinx", ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_reader_memory() -> Iterator[None]:
    """What the reader keeps per searchd address and day index (hour tokens, infixes, lines
    per day) is for one searchd's life; a test's searchd may get a port an earlier test's
    had, with other data under the same day index names."""
    from alco.search import dictionary, texts

    for kept in (dictionary._HOURS, dictionary._LINES, dictionary._WILD, dictionary._WITHIN,
                 texts._LAYOUTS, texts._HASHED, texts._SHARDS):
        kept.clear()
    yield
