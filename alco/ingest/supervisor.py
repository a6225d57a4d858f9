"""A small process supervisor: start, watch, restart with backoff, stop in order.

It knows processes and signals only.  Shutdown is a flag set by the signal handler; the main
loop then stops the groups one after the other (consumers first, then writers).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from setproctitle import setproctitle

log = logging.getLogger("alco.supervisor")
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 30.0


@dataclass
class Child:
    """One supervised process: ``target(*args)`` under the title ``title``."""

    title: str
    group: str
    target: Callable[..., None]
    args: tuple = ()
    on_death: Callable[[Child], None] | None = None
    process: Any = None
    started: float = 0.0
    backoff: float = MIN_BACKOFF
    restart_at: float = 0.0
    restarts: int = 0


def _child_main(title: str, target: Callable[..., None], args: tuple) -> None:
    setproctitle(title)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    target(*args)


@dataclass
class Supervisor:
    children: list[Child]
    stop_order: list[tuple[str, Any]]  # (group, its stop event), in the order to stop them
    grace: float = 30.0
    on_restart: Callable[[Child], None] | None = None
    on_tick: Callable[[], None] | None = None
    should_exit: bool = field(default=False, init=False)

    def start(self, child: Child) -> None:
        child.process = mp.Process(target=_child_main, name=child.title,
                                   args=(child.title, child.target, child.args), daemon=False)
        child.process.start()
        child.started = time.monotonic()
        log.info("started %s (pid %s)", child.title, child.process.pid)

    def install_signals(self) -> None:
        def handler(signum: int, frame: object) -> None:
            self.should_exit = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status."""
        self.install_signals()
        for child in self.children:
            self.start(child)
        while not self.should_exit:
            self.watch()
            if self.on_tick is not None:
                self.on_tick()
            time.sleep(0.1)
        return self.shutdown()

    def watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if proc is not None and proc.is_alive():
                if now - child.started > HEALTHY_AFTER:
                    child.backoff = MIN_BACKOFF
                continue
            if proc is not None:
                self._on_exit(child, now)
            elif now >= child.restart_at:
                child.restarts += 1
                if self.on_restart is not None:
                    self.on_restart(child)
                self.start(child)

    def _on_exit(self, child: Child, now: float) -> None:
        proc = child.process
        proc.join(0)
        log.warning("%s (pid %s) exited with %s; restarting in %.1fs", child.title, proc.pid,
                    proc.exitcode, child.backoff)
        if child.on_death is not None:
            child.on_death(child)
        child.process = None
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    def shutdown(self) -> int:
        log.info("stopping: %s", ", ".join(g for g, _ in self.stop_order))
        status = 0
        deadline = time.monotonic() + self.grace
        for group, event in self.stop_order:
            event.set()
            for child in self.children:
                if child.group != group or child.process is None:
                    continue
                child.process.join(max(0.1, deadline - time.monotonic()))
                if child.process.is_alive():
                    log.error("%s did not stop within the grace period; terminating",
                              child.title)
                    child.process.terminate()
                    child.process.join(5)
                    status = 1
        return status

