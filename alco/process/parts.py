"""Keep the parts of a deployment up: each is restarted with backoff when it dies.

A :class:`Part` is anything that can be started, asked whether it is alive, and stopped: a
child command, a managed server.  :class:`KeepUp` watches them in its owner's loop (no
threads): a part that dies is logged with its exit status, counted, and started again after
its backoff delay.  Only a part that cannot start at all is fatal: its first start fails, or
it dies within its ``settle_s`` of starting, ``first_tries`` times in a row (a port taken for a
moment or a server still coming up is a passing failure; a bad config fails every time).
:class:`PartFailed` then names it and where to look.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from alco.process.backoff import Backoff

log = logging.getLogger("alco.process.parts")


class Part(Protocol):
    name: str
    log_hint: str  # where its own log is, for a person
    settle_s: float  # alive this long after its first start: it could start (0: start() waits)

    def start(self) -> None: ...

    def exit_status(self) -> int | None:
        """None while alive, else how it ended (a negative number: the signal)."""

    def stop(self, timeout: float) -> bool:
        """Stop in order; False when it had to be killed."""


class PartFailed(RuntimeError):
    def __init__(self, part: Part, detail: str) -> None:
        super().__init__(f"{part.name} cannot start: {detail}; see {part.log_hint}")
        self.part = part


def describe(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


@dataclass
class _Watched:
    part: Part
    backoff: Backoff
    started_at: float = 0.0
    restart_at: float | None = None  # dead, to be started again at this monotonic time
    restarts: int = 0
    ever_up: bool = False
    failed_tries: int = 0  # failed starts before it was ever up


@dataclass
class KeepUp:
    """Start parts in order, restart the dead, stop them in reverse order."""

    parts: list[Part]
    on_restart: Callable[[str], None] = lambda name: None
    first_s: float = 0.5
    cap_s: float = 30.0
    first_tries: int = 3
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _watched: list[_Watched] = field(default_factory=list)

    def start(self) -> None:
        """Start every part in order (each at most ``first_tries`` times, with backoff); a part
        that cannot start raises :class:`PartFailed`."""
        for part in self.parts:
            w = _Watched(part, Backoff(self.first_s, self.cap_s, jitter=0.2))
            self._watched.append(w)
            self._start(w)
            while w.restart_at is not None:  # bounded: _start raises after first_tries
                self.sleep(max(w.restart_at - self.clock(), 0.0))
                self._start(w)

    def _start(self, w: _Watched) -> None:
        try:
            w.part.start()
            w.ever_up = w.ever_up or w.part.settle_s <= 0
        except Exception as exc:
            self._failed(w, str(exc), exc)
            return
        w.started_at, w.restart_at = self.clock(), None

    def _failed(self, w: _Watched, detail: str, exc: Exception | None = None) -> None:
        """A start that failed (or a death within ``settle_s`` of it): try again after the
        backoff delay, or raise :class:`PartFailed` once a never-up part failed
        ``first_tries`` times."""
        if not w.ever_up:
            w.failed_tries += 1
            if w.failed_tries >= self.first_tries:
                tries = f" ({w.failed_tries} tries)" if w.failed_tries > 1 else ""
                raise PartFailed(w.part, detail + tries) from exc
        delay = w.backoff.next_delay()
        log.error("%s did not start (%s); trying again in %.1f s; see %s", w.part.name, detail,
                  delay, w.part.log_hint)
        w.restart_at = self.clock() + delay

    def check(self) -> None:
        """One look at every part: note the dead, restart those whose delay is over."""
        now = self.clock()
        for w in self._watched:
            if w.restart_at is not None:
                if now >= w.restart_at:
                    w.restarts += 1
                    self.on_restart(w.part.name)
                    log.warning("starting %s again (restart %d)", w.part.name, w.restarts)
                    self._start(w)
                continue
            status = w.part.exit_status()
            if status is None:
                if not w.ever_up and now - w.started_at >= w.part.settle_s:
                    w.ever_up = True
                if w.ever_up and now - w.started_at >= self.cap_s:
                    w.backoff.reset()  # up long enough: the next death restarts quickly
                continue
            if not w.ever_up:
                self._failed(w, f"it ended within {w.part.settle_s:g} s of its start "
                                f"({describe(status)})")
                continue
            delay = w.backoff.next_delay()
            log.error("%s ended (%s); starting it again in %.1f s; see %s", w.part.name,
                      describe(status), delay, w.part.log_hint)
            w.restart_at = now + delay

    def restarts(self) -> dict[str, int]:
        return {w.part.name: w.restarts for w in self._watched}

    def stop(self, timeout: float) -> bool:
        """Stop the parts in reverse order of start; False when one had to be killed."""
        clean = True
        for w in reversed(self._watched):
            if w.restart_at is None and w.part.exit_status() is None:
                clean = w.part.stop(timeout) and clean
        return clean


class CommandPart:
    """A child command (``alco collect``, ``alco web``) as a part."""

    def __init__(self, name: str, argv: list[str], log_hint: str,
                 preexec: Callable[[], None] | None = None, settle_s: float = 3.0) -> None:
        self.name, self.argv, self.log_hint, self.preexec = name, argv, log_hint, preexec
        self.settle_s = settle_s
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, preexec_fn=self.preexec)

    def exit_status(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("%s did not stop within %.0f s; killing it", self.name, timeout)
            self.proc.kill()
            self.proc.wait()
            return False
        return self.proc.returncode in (0, -signal.SIGTERM)
