"""``alco run``: a managed searchd, the collector and the web app, kept up together.

The collector and the web app run as child commands (``alco collect``, ``alco web``) so each
has its own metrics mode; so does a shard's line service (``[sphinx] lines_port``: the head
fetches the shard's lines from it, alco.linestore.service), beside searchd and the collector
(``alco run``, ``--no-web``) or searchd alone (``alco searchd``, the collector started
apart).  Every part that dies is started again with backoff, logged with its exit status and
counted (``alco_part_restarts{part}``, exported with the collector's metrics);
meanwhile the writers retry and the backlog waits in RabbitMQ.  ``alco run`` ends only on
SIGTERM/SIGINT (stopping in order: collector, which drains and acks, then web, then searchd; a
second signal ends it at once and the children get SIGTERM from the kernel, see
alco.process.lifetime), or when a part cannot start at all (three tries, see
alco.process.parts).  It also keeps searchd's config current (daily rotation: every
ROTATE_EVERY seconds the config is regenerated and applied, see alco.index.searchd), trims
the field values in Redis to the retention window once a day and compacts the past days at a
quiet hour (alco.index.compaction).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import date

from alco.catalog import values
from alco.catalog.reader import catalog_values, seen_columns
from alco.config import Config
from alco.index import retention
from alco.index.compaction import Compactor
from alco.index.searchd import ManagedSearchd, SearchdError, port_answers, today_utc
from alco.linestore.repack import Repacker
from alco.process.lifetime import preexec_for
from alco.process.parts import CommandPart, KeepUp, Part, PartFailed
from alco.process.signals import stop_on_signals

log = logging.getLogger("alco.cli.run")
ROTATE_EVERY = 60.0
CHECK_EVERY = 0.2


def child_command(args: argparse.Namespace, name: str, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "alco", "--log-level", args.log_level]
    if args.config:
        cmd += ["--config", args.config]
    return [*cmd, name, *extra]


def serves_lines(config: Config) -> bool:
    """Whether this is a shard that serves its line store to the head ([sphinx] api_port and
    lines_port: alco.linestore.service)."""
    return bool(config.sphinx.api_port and config.sphinx.lines_port)


def lines_command(args: argparse.Namespace) -> list[str]:
    """The shard's line service as a child command."""
    cmd = [sys.executable, "-m", "alco.linestore.service", "--log-level", args.log_level]
    return [*cmd, "--config", args.config] if args.config else cmd


class SearchdPart:
    """The managed searchd as a part of ``alco run``."""

    name = "searchd"
    settle_s = 0.0  # start() returns once searchd answers

    def __init__(self, searchd: ManagedSearchd) -> None:
        self.searchd = searchd
        self.log_hint = str(searchd.data_dir / "searchd.log")

    def start(self) -> None:
        self.searchd.start()

    def exit_status(self) -> int | None:
        proc = self.searchd.proc
        return None if proc is None else proc.poll()

    def stop(self, timeout: float) -> bool:
        self.searchd.stop(timeout)
        return True


def run_all(args: argparse.Namespace, config: Config, collector: bool, web: bool) -> int:
    metrics_dir = os.path.abspath(config.collector.metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client loads
    from alco import metrics

    metrics.prepare_multiprocess_dir(metrics_dir)  # once: the collector keeps it (restarts)
    with stop_on_signals() as stop:  # a second signal raises KeyboardInterrupt
        return _run_all(args, config, collector, web, stop.is_set,
                        lambda part: metrics.PART_RESTARTS.labels(part).inc())


def parts_of(args: argparse.Namespace, config: Config, searchd: ManagedSearchd | None,
             collector: bool, web: bool) -> list[Part]:
    parent = preexec_for(os.getpid())
    stderr = "the output of alco run above (its stderr)"
    parts: list[Part] = [] if searchd is None else [SearchdPart(searchd)]
    if serves_lines(config) and (collector or not web):  # a shard's, not a head's
        parts.append(CommandPart("lines", lines_command(args), stderr, parent))
    if web:
        parts.append(CommandPart("web", child_command(args, "web"), stderr, parent))
    if collector:  # last: stopped first (it drains and acks), then web, then searchd
        parts.append(CommandPart("collector", child_command(args, "collect", "--keep-metrics"),
                                 stderr, parent))
    return parts


def _run_all(args: argparse.Namespace, config: Config, collector: bool, web: bool,
             stopping: Callable[[], bool], on_restart: Callable[[str], None]) -> int:
    # (a new day gets the value hashes of the columns the catalog has seen)
    searchd = (ManagedSearchd(config, seen_columns(config.redis.url, config.redis.prefix),
                              catalog_values(config.redis.url, config.redis.prefix))
               if config.sphinx.managed else None)
    if searchd is None and not port_answers(config.sphinx.host, config.sphinx.port):
        log.error("searchd does not answer on %s:%s ([sphinx] managed = false): start it with "
                  "the config from `alco sphinx-conf`", config.sphinx.host, config.sphinx.port)
        return 1
    keeper = KeepUp(parts_of(args, config, searchd, collector, web), on_restart=on_restart)
    try:
        keeper.start()
        if web:
            log.info("web app on %s/", config.web.api_url)
        _watch(keeper, searchd, stopping, config)
    except (PartFailed, SearchdError) as exc:
        log.error("%s", exc)
        keeper.stop(config.collector.shutdown_grace + 5)
        return 1
    return 0 if keeper.stop(config.collector.shutdown_grace + 5) else 1


def rotate(config: Config, searchd: ManagedSearchd | None, today: date,
           trimmed_for: date | None) -> date | None:
    """One rotation step: the config for ``today`` applied, values trimmed once a day.
    Returns the day the values were last trimmed for."""
    if searchd is not None:
        try:
            searchd.reload(today)
        except SearchdError as exc:
            log.error("searchd rotation failed: %s", exc)
    try:
        retention.enforce_max_disk(config, today)  # [sphinx] max_disk: the oldest days go
    except Exception:  # housekeeping never stops alco run (DESIGN.md 1)
        log.exception("max_disk step failed")
    if trimmed_for != today and values.trim_values(config, today):
        return today
    return trimmed_for


def _watch(keeper: KeepUp, searchd: ManagedSearchd | None, stopping: Callable[[], bool],
           config: Config) -> None:
    """Until a stop is asked for: keep the parts up, rotate searchd's config."""
    next_rotation = time.monotonic()
    trimmed_for: date | None = None
    compactor = Compactor(config)  # past days merged at [sphinx] compact_hour
    repacker = Repacker(config)  # and their line store compressed again
    while not stopping():
        keeper.check()
        if time.monotonic() >= next_rotation:
            trimmed_for = rotate(config, searchd, today_utc(), trimmed_for)
            try:
                compactor.step()
            except Exception:  # housekeeping never stops alco run (DESIGN.md 1)
                log.exception("compaction step failed")
            try:
                repacker.step()
            except Exception:  # housekeeping never stops alco run (DESIGN.md 1)
                log.exception("line store repack step failed")
            next_rotation = time.monotonic() + ROTATE_EVERY
        time.sleep(CHECK_EVERY)
