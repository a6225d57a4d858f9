"""A small process supervisor: start, watch, restart with backoff, stop in order.

It knows processes and signals only.  Processes come in *teams* (the consumers and writers of
one index) that share queues; a process killed at a bad moment (``kill -9`` while it holds a
queue's lock) can leave those queues unusable, so when one member dies the whole team is
stopped and started afresh from its factory, with new queues, after a backoff.  What the team
had in flight is redelivered by RabbitMQ.

Shutdown is a flag set by the signal handler; the main loop then stops the roles one after
the other (consumers first, then writers), each within the grace period.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from setproctitle import setproctitle

from alco.process.lifetime import die_with

log = logging.getLogger("alco.supervisor")
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 30.0


class StopFlag:
    """A lock-free shared flag: unlike ``multiprocessing.Event`` it survives ``kill -9`` of a
    process that was reading it."""

    def __init__(self) -> None:
        self._value = mp.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.05, left))
        return True


@dataclass
class Child:
    """One supervised process: ``target(*args)`` under the title ``title``."""

    title: str
    role: str
    target: Callable[..., None]
    args: tuple = ()
    process: Any = None


@dataclass
class Team:
    """Processes that live and die together; ``make`` builds a fresh set (new queues)."""

    name: str
    make: Callable[[], list[Child]]
    children: list[Child] = field(default_factory=list)
    started: float = 0.0
    backoff: float = 0.0  # the next restart's delay; 0: MIN_BACKOFF
    restart_at: float = 0.0
    down: bool = False
    restarts: int = 0


def _child_main(title: str, target: Callable[..., None], args: tuple, parent: int) -> None:
    setproctitle(title)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with(parent)  # an orphaned consumer would take messages no writer stores
    target(*args)


@dataclass
class Supervisor:
    teams: list[Team]
    stop_order: list[tuple[str, StopFlag]]  # (role, its stop flag), in the order to stop
    grace: float = 30.0
    on_restart: Callable[[Child], None] | None = None  # a member died (counted once)
    on_exit: Callable[[int], None] | None = None  # pid of every process that ended
    on_tick: Callable[[], None] | None = None
    should_exit: bool = field(default=False, init=False)

    @property
    def children(self) -> list[Child]:
        return [c for t in self.teams for c in t.children]

    def start_team(self, team: Team) -> None:
        team.children = team.make()
        for child in team.children:
            child.process = mp.Process(target=_child_main, name=child.title,
                                       args=(child.title, child.target, child.args,
                                             os.getpid()))
            child.process.start()
            log.info("started %s (pid %s)", child.title, child.process.pid)
        team.started = time.monotonic()
        team.down = False

    def install_signals(self) -> None:
        def handler(signum: int, frame: object) -> None:
            self.should_exit = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status."""
        self.install_signals()
        for team in self.teams:
            self.start_team(team)
        while not self.should_exit:
            self.watch()
            if self.on_tick is not None:
                self.on_tick()
            time.sleep(0.1)
        return self.shutdown()

    def watch(self) -> None:
        now = time.monotonic()
        for team in self.teams:
            if team.down:
                if now >= team.restart_at and not self.should_exit:
                    log.info("restarting team %s (restart %d)", team.name, team.restarts)
                    self.start_team(team)
                continue
            dead = [c for c in team.children if not c.process.is_alive()]
            if dead:
                self._team_died(team, dead, now)
            elif now - team.started > HEALTHY_AFTER:
                team.backoff = 0.0

    def _team_died(self, team: Team, dead: list[Child], now: float) -> None:
        delay = team.backoff or MIN_BACKOFF
        for child in dead:
            child.process.join(0)
            log.warning("%s (pid %s) exited with %s; restarting team %s in %.1fs",
                        child.title, child.process.pid, child.process.exitcode, team.name,
                        delay)
            if self.on_restart is not None:
                self.on_restart(child)
        for child in team.children:
            if child.process.is_alive():
                child.process.kill()  # its queues may be broken: nothing can be drained
            child.process.join(10)
            if self.on_exit is not None:
                self.on_exit(child.process.pid)
        team.restarts += 1
        team.down = True
        team.restart_at = now + delay
        team.backoff = min(delay * 2, MAX_BACKOFF)

    def shutdown(self) -> int:
        log.info("stopping: %s", ", ".join(role for role, _ in self.stop_order))
        status = 0
        deadline = time.monotonic() + self.grace
        for role, flag in self.stop_order:
            flag.set()
            for child in self.children:
                if child.role != role or child.process is None:
                    continue
                child.process.join(max(0.1, deadline - time.monotonic()))
                if child.process.is_alive():
                    log.error("%s did not stop within the grace period; terminating",
                              child.title)
                    child.process.terminate()
                    child.process.join(5)
                    status = 1
                elif child.process.exitcode not in (0, None):
                    log.warning("%s exited with %s", child.title, child.process.exitcode)
        return status
