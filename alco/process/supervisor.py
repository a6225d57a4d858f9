"""A small process supervisor: start, watch, restart with backoff, stop in order.

It knows processes and signals only.  Processes come in *teams* (the consumers and writers of
one index) that share queues; a process killed at a bad moment (``kill -9`` while it holds a
queue's lock) can leave those queues unusable, so when one member dies the whole team is
stopped and started afresh from its factory, with new queues, after a backoff.  What the team
had in flight is redelivered by RabbitMQ.

Shutdown is a flag set by the first SIGTERM/SIGINT; the main loop then stops the roles one
after the other (consumers first, then writers), each within the grace period.  A second signal
cuts the grace period short: whatever still runs is terminated at once (exit status 1).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from setproctitle import setproctitle

from alco.process.backoff import Backoff
from alco.process.flags import StopFlag
from alco.process.lifetime import die_with
from alco.process.signals import STOP_SIGNALS, stop_on_signals

log = logging.getLogger("alco.supervisor")
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 30.0


@dataclass
class Child:
    """One supervised process: ``target(*args)`` under the title ``title``."""

    title: str
    role: str
    target: Callable[..., None]
    args: tuple = ()
    _process: BaseProcess | None = field(default=None, init=False, repr=False)

    @property
    def started(self) -> bool:
        return self._process is not None

    @property
    def process(self) -> BaseProcess:
        """The process (once :meth:`start` returned)."""
        if self._process is None:
            raise RuntimeError(f"{self.title} was not started")
        return self._process

    @property
    def pid(self) -> int:
        """The pid of the started process."""
        return self.process.pid or 0  # a started process has one

    def start(self, parent: int) -> None:
        process = mp.Process(target=_child_main, name=self.title,
                             args=(self.title, self.target, self.args, parent))
        process.start()
        self._process = process


def _restart_backoff() -> Backoff:
    return Backoff(MIN_BACKOFF, MAX_BACKOFF)


@dataclass
class Team:
    """Processes that live and die together; ``make`` builds a fresh set (new queues)."""

    name: str
    make: Callable[[], list[Child]]
    children: list[Child] = field(default_factory=list)
    started: float = 0.0
    backoff: Backoff = field(default_factory=_restart_backoff)  # delays between restarts
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
    signals: tuple[int, ...] = STOP_SIGNALS  # the first drains, the second forces
    should_exit: bool = field(default=False, init=False)
    forced: bool = field(default=False, init=False)  # stop now: no more grace

    @property
    def children(self) -> list[Child]:
        return [c for t in self.teams for c in t.children]

    def start_team(self, team: Team) -> None:
        team.children = team.make()
        for child in team.children:
            child.start(os.getpid())
            log.info("started %s (pid %s)", child.title, child.pid)
        team.started = time.monotonic()
        team.down = False

    def request_exit(self, _signum: int = 0) -> None:
        """Stop in order (the first stop signal)."""
        self.should_exit = True

    def force_exit(self, _signum: int = 0) -> None:
        """Stop now: what still runs is terminated (a second stop signal)."""
        self.should_exit = self.forced = True

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status."""
        with stop_on_signals(self.request_exit, force=self.force_exit, signals=self.signals):
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
                team.backoff.reset()

    def _team_died(self, team: Team, dead: list[Child], now: float) -> None:
        delay = team.backoff.next_delay()
        for child in dead:
            child.process.join(0)
            log.warning("%s (pid %s) exited with %s; restarting team %s in %.1fs",
                        child.title, child.pid, child.process.exitcode, team.name, delay)
            if self.on_restart is not None:
                self.on_restart(child)
        for child in team.children:
            if child.process.is_alive():
                child.process.kill()  # its queues may be broken: nothing can be drained
            child.process.join(10)
            if self.on_exit is not None:
                self.on_exit(child.pid)
        team.restarts += 1
        team.down = True
        team.restart_at = now + delay

    def shutdown(self) -> int:
        log.info("stopping: %s", ", ".join(role for role, _ in self.stop_order))
        status = 0
        deadline = time.monotonic() + self.grace
        for role, flag in self.stop_order:
            flag.set()
            for child in self.children:
                if child.role != role or not child.started:
                    continue
                if not self._join(child, deadline):
                    log.error("%s did not stop %s; terminating", child.title,
                              "before a forced stop" if self.forced
                              else "within the grace period")
                    child.process.terminate()
                    child.process.join(5)
                    status = 1
                elif child.process.exitcode not in (0, None):
                    log.warning("%s exited with %s", child.title, child.process.exitcode)
        return status

    def _join(self, child: Child, deadline: float) -> bool:
        """Wait until ``child`` exited, the deadline passed or the stop is forced; whether it
        exited."""
        process = child.process
        process.join(0.1)
        while process.is_alive() and not self.forced and time.monotonic() < deadline:
            process.join(0.1)
        return not process.is_alive()
