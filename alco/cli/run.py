"""``alco run``: a managed searchd, the collector and the web app, started and stopped together.

The collector and the web app run as child commands (``alco collect``, ``alco web``) so each
has its own metrics mode; this process keeps searchd's config current (daily rotation: every
ROTATE_EVERY seconds the config is regenerated and applied, see alco.index.searchd), trims the
field values in Redis to the retention window once a day, and forwards the stop signal in
order: collector (drains and acks), web, searchd.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import date

from alco.config import Config
from alco.index.searchd import ManagedSearchd, SearchdError, port_answers, today_utc
from alco.process.lifetime import preexec_for
from alco.stores import values

log = logging.getLogger("alco.cli.run")
ROTATE_EVERY = 60.0


def child_command(args: argparse.Namespace, name: str) -> list[str]:
    cmd = [sys.executable, "-m", "alco", "--log-level", args.log_level]
    if args.config:
        cmd += ["--config", args.config]
    return [*cmd, name]


def run_all(args: argparse.Namespace, config: Config, collector: bool, web: bool) -> int:
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    searchd = ManagedSearchd(config) if config.sphinx.managed else None
    if searchd is not None:
        try:
            searchd.start()
        except SearchdError as exc:
            log.error("%s", exc)
            return 1
    elif not port_answers(config.sphinx.host, config.sphinx.port):
        log.error("searchd does not answer on %s:%s ([sphinx] managed = false): start it with "
                  "the config from `alco sphinx-conf`", config.sphinx.host, config.sphinx.port)
        return 1
    children: dict[str, subprocess.Popen[bytes]] = {}
    if collector:
        children["collector"] = subprocess.Popen(child_command(args, "collect"),
                                               preexec_fn=preexec_for(os.getpid()))
    if web:
        children["web"] = subprocess.Popen(child_command(args, "web"),
                                         preexec_fn=preexec_for(os.getpid()))
        log.info("web app on http://%s/", config.web.bind)
    status = _watch(children, searchd, lambda: stopping, config)
    return _stop(children, searchd, config.collector.shutdown_grace) or status


def rotate(config: Config, searchd: ManagedSearchd | None, today: date,
           trimmed_for: date | None) -> date | None:
    """One rotation step: the config for ``today`` applied, values trimmed once a day.
    Returns the day the values were last trimmed for."""
    if searchd is not None:
        try:
            searchd.reload(today)
        except SearchdError as exc:
            log.error("searchd rotation failed: %s", exc)
    if trimmed_for != today and values.trim_values(config, today):
        return today
    return trimmed_for


def _watch(children: dict[str, subprocess.Popen[bytes]], searchd: ManagedSearchd | None,
           stopping: object, config: Config) -> int:
    next_rotation = time.monotonic()
    trimmed_for: date | None = None
    while not stopping():  # type: ignore[operator]
        for name, proc in children.items():
            if proc.poll() is not None:
                log.error("%s exited with %s; stopping everything", name, proc.returncode)
                return 1
        if searchd is not None:
            if not searchd.alive():
                log.error("searchd exited; see %s", searchd.data_dir / "searchd.log")
                return 1
        if time.monotonic() >= next_rotation:
            trimmed_for = rotate(config, searchd, today_utc(), trimmed_for)
            next_rotation = time.monotonic() + ROTATE_EVERY
        time.sleep(0.2)
    return 0


def _stop(children: dict[str, subprocess.Popen[bytes]], searchd: ManagedSearchd | None,
          grace: float) -> int:
    status = 0
    for name in ("collector", "web"):
        proc = children.get(name)
        if proc is None or proc.poll() is not None:
            continue
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace + 5)
        except subprocess.TimeoutExpired:
            log.error("%s did not stop in time; killing it", name)
            proc.kill()
            status = 1
        if proc.returncode not in (0, -signal.SIGTERM):
            status = status or 1
    if searchd is not None:
        searchd.stop()
    return status
