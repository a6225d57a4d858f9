"""The supervisor: titles, team restart with backoff after kill -9, ordered shutdown, a second
stop signal forcing it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from alco.process import supervisor as sup
from alco.process.flags import StopFlag
from alco.process.supervisor import Child, Supervisor, Team
from tests.helpers import wait_for


def idle(flag: StopFlag, log: str, name: str) -> None:
    while not flag.is_set():
        time.sleep(0.02)
    with open(log, "a") as fh:
        fh.write(f"{name} {time.monotonic()}\n")


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode().strip()


@pytest.fixture
def running(tmp_path, monkeypatch):
    monkeypatch.setattr(sup, "MIN_BACKOFF", 0.2)
    log = str(tmp_path / "stops.log")
    first, second = StopFlag(), StopFlag()
    made: dict[str, int] = {"a": 0, "b": 0}

    def factory(name: str):
        def make() -> list[Child]:
            made[name] += 1
            return [Child(f"alco: first {name}#0", "first", idle, (first, log, f"first-{name}")),
                    Child(f"alco: second {name}#0", "second", idle,
                          (second, log, f"second-{name}"))]
        return make

    restarts: list[str] = []
    exits: list[int] = []
    s = Supervisor([Team("a", factory("a")), Team("b", factory("b"))],
                   stop_order=[("first", first), ("second", second)], grace=10,
                   on_restart=lambda c: restarts.append(c.title), on_exit=exits.append,
                   signals=())  # run() in a thread: signal handlers need the main thread
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(s.run()))
    thread.start()
    wait_for(lambda: len(s.children) == 4 and all(c.started for c in s.children))
    yield s, made, restarts, exits, log
    s.should_exit = True
    thread.join(20)
    assert result == [0]


def test_children_show_role_and_index_in_ps(running):
    s = running[0]
    titles = wait_for(lambda: (t := sorted(cmdline(c.process.pid) for c in s.children))
                      and all(x.startswith("alco:") for x in t) and t)
    assert titles == ["alco: first a#0", "alco: first b#0", "alco: second a#0",
                      "alco: second b#0"]


def test_kill_9_restarts_the_whole_team_only(running):
    s, made, restarts, exits, _ = running
    team_a, team_b = s.teams
    old_a = [c.process.pid for c in team_a.children]
    old_b = [c.process.pid for c in team_b.children]
    os.kill(old_a[0], signal.SIGKILL)
    wait_for(lambda: made["a"] == 2 and all(c.started and c.process.is_alive()
                                            for c in team_a.children),
             timeout=10, message="team a restarted")
    assert restarts == ["alco: first a#0"]
    assert sorted(exits) == sorted(old_a)  # both members of team a ended and were reported
    assert not {c.process.pid for c in team_a.children} & set(old_a)
    assert [c.process.pid for c in team_b.children] == old_b and made["b"] == 1
    # a second death soon after waits twice as long
    assert team_a.backoff.delay == pytest.approx(0.4)
    os.kill(team_a.children[1].process.pid, signal.SIGKILL)
    died = time.monotonic()
    wait_for(lambda: made["a"] == 3, timeout=10, message="team a restarted again")
    assert time.monotonic() - died >= 0.35


def test_shutdown_stops_roles_in_order(running):
    s, _, _, _, log = running
    s.should_exit = True
    wait_for(lambda: all(not c.process.is_alive() for c in s.children), timeout=15)
    lines = [ln.split() for ln in Path(log).read_text().splitlines()]
    order = [name.split("-")[0] for name, _ in sorted(lines, key=lambda x: float(x[1]))]
    assert order == ["first", "first", "second", "second"]


def test_stop_flag_wait():
    flag = StopFlag()
    start = time.monotonic()
    assert flag.wait(0.1) is False and time.monotonic() - start >= 0.1
    flag.set()
    assert flag.wait(5) is True and flag.is_set()


SUPERVISED = """
import sys, time
from alco.process.supervisor import _child_main
import multiprocessing as mp, os
def sleep_forever():
    while True:
        time.sleep(0.1)
p = mp.Process(target=_child_main, args=("alco: test child", sleep_forever, (), os.getpid()))
p.start()
print(p.pid, flush=True)
time.sleep(60)
"""


def test_children_die_with_a_killed_supervisor():
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", SUPERVISED], stdout=subprocess.PIPE,
                              text=True)
    child = int(parent.stdout.readline())
    assert "alco: test child" in wait_for(lambda: cmdline(child), message="child title")
    parent.kill()  # SIGKILL: no chance to stop anything in order
    parent.wait()

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        return state == "Z"  # exited, waiting for init to reap it

    wait_for(gone, timeout=10, message="the orphaned child to exit")


def stubborn() -> None:
    """A member that never looks at its stop flag."""
    while True:
        time.sleep(0.05)


def signal_self(supervisor: Supervisor, *after: Callable[[], object]) -> threading.Thread:
    """Send this process one SIGTERM once ``after[i]()`` holds, for each i; if a condition never
    holds, force the supervisor's stop so that the test ends."""
    def send() -> None:
        try:
            for condition in after:
                wait_for(condition, timeout=20)
                os.kill(os.getpid(), signal.SIGTERM)
        except BaseException:
            supervisor.force_exit()
            raise

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_first_sigterm_drains_in_order(tmp_path):
    log = str(tmp_path / "stops.log")
    flag = StopFlag()
    s = Supervisor([Team("t", lambda: [Child("alco: idle t#0", "only", idle, (flag, log, "x"))])],
                   stop_order=[("only", flag)], grace=10)
    before = signal.getsignal(signal.SIGTERM)
    thread = signal_self(s, lambda: s.children and all(c.started for c in s.children))
    assert s.run() == 0  # in the main thread: real signal handlers
    thread.join(5)
    assert s.children[0].process.exitcode == 0 and Path(log).read_text().startswith("x ")
    assert signal.getsignal(signal.SIGTERM) is before


def test_second_sigterm_ends_the_grace_period(caplog):
    flag = StopFlag()
    s = Supervisor([Team("t", lambda: [Child("alco: stubborn t#0", "only", stubborn)])],
                   stop_order=[("only", flag)], grace=60)
    started = time.monotonic()
    thread = signal_self(s, lambda: s.children and all(c.started for c in s.children),
                         flag.is_set)
    assert s.run() == 1
    thread.join(5)
    assert time.monotonic() - started < 20  # not the 60 s grace period
    assert s.forced and s.children[0].process.exitcode == -signal.SIGTERM
    assert "before a forced stop" in caplog.text
