"""`alco grep` against a real web app, collector and searchd."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest

from alco.cli.main import main
from alco.index.searchd import port_answers
from tests.helpers import free_port, logcollect_body, publish, stored_count, wait_for

pytestmark = pytest.mark.integration
TOKEN = "grep-test-token"
N = 30  # lines "line <i> of the test"; levelname ERROR for i = 0, 10, 20


def start(stack, n: int = N) -> None:
    stack.data["web"]["tokens"] = [TOKEN]
    stack.index()
    stack.index(name="other", routing_keys=["other.#"])
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    publish(stack.data["rabbitmq"]["url"], stack.exchange,
            [logcollect_body(i) for i in range(n)], "logstash.shop.views")
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= n, message=f"{n} lines stored")
    start_web(stack)


def start_web(stack) -> None:
    """Run `alco web` on the stack's config and wait until it answers."""
    web = stack.alco("web", stdout=subprocess.DEVNULL, stderr=open(stack.tmp / "web.log", "ab"))
    port = int(stack.data["web"]["bind"].rsplit(":", 1)[1])
    wait_for(lambda: port_answers("127.0.0.1", port) or web.poll() is not None,
             message="web app port")
    assert web.poll() is None, (stack.tmp / "web.log").read_text()


def wait_queues(stack) -> None:
    """The collector's consumers declare their queues: publish only once they exist."""
    import pika

    def exist() -> bool:
        conn = pika.BlockingConnection(pika.URLParameters(stack.data["rabbitmq"]["url"]))
        try:
            for ix in stack.data["index"]:
                conn.channel().queue_declare(ix["queue"], passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker:
            return False
        finally:
            conn.close()

    wait_for(exist, message="queues declared")


def grep(stack, capsys, *args: str) -> tuple[int, list[str], str]:
    rc = main(["--config", str(stack.config_path), "grep", *args])
    out = capsys.readouterr()
    return rc, out.out.splitlines(), out.err


def messages(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line != "--"]


def test_search_count_context_json_and_errors(stack, capsys) -> None:
    start(stack)
    rc, out, _ = grep(stack, capsys, "logs", "test", "--fields", "message")
    assert rc == 0 and messages(out) == list(range(N))  # oldest first, every line once

    rc, out, _ = grep(stack, capsys, "levelname:ERROR")  # INDEX omitted: the first index
    assert rc == 0 and len(out) == 3
    assert out[0].split()[2:] == ["vm0", "line", "0", "of", "the", "test"]
    assert "\x1b" not in "".join(out)  # not a terminal: no color

    rc, out, _ = grep(stack, capsys, "logs", "test", "-m", "4", "--fields", "message")
    assert rc == 0 and messages(out) == [0, 1, 2, 3]
    assert grep(stack, capsys, "-c", "logs", "test")[:2] == (0, [str(N)])
    assert grep(stack, capsys, "-c", "host:vm1")[:2] == (0, ["10"])
    assert grep(stack, capsys, "-c", "-m", "5", "test")[:2] == (0, ["5"])  # at most -m

    rc, out, _ = grep(stack, capsys, "levelname:ERROR", "-C", "1", "--fields", "message")
    assert rc == 0
    assert out == ["line 0 of the test", "line 1 of the test", "--",
                   "line 9 of the test", "line 10 of the test", "line 11 of the test", "--",
                   "line 19 of the test", "line 20 of the test", "line 21 of the test"]
    rc, out, _ = grep(stack, capsys, "logs", "15", "-B", "2", "-A", "0", "--fields", "message")
    assert messages(out) == [13, 14, 15]
    rc, out, _ = grep(stack, capsys, "logs", "15", "-C", "2", "--same", "host",
                      "--fields", "message")
    assert messages(out) == [9, 12, 15, 18, 21]  # only host vm0 around line 15

    rc, out, _ = grep(stack, capsys, "logs", "line 7", "--json")  # a phrase from one argument
    [doc] = [json.loads(line) for line in out]
    assert doc["message"] == "line 7 of the test" and doc["fields"]["host"] == "vm1"
    assert isinstance(doc["id"], str)
    rc, out, _ = grep(stack, capsys, "logs", "7", "--color=always", "--fields", "host,message")
    assert out == ["\x1b[35mvm1\x1b[0m line \x1b[1;31m7\x1b[0m of the test"]

    rc, out, _ = grep(stack, capsys, "-l")
    assert rc == 0 and [line.split("\t")[0] for line in out] == ["logs", "other"]
    assert grep(stack, capsys, "other", "test")[:2] == (1, [])  # a known index, no match
    assert grep(stack, capsys, "nothing-like-this")[:2] == (1, [])
    assert grep(stack, capsys, "-c", "nothing-like-this")[:2] == (1, ["0"])
    rc, out, err = grep(stack, capsys, "-c", "logz", "test")  # a misspelt index: said so
    assert (rc, out) == (2, []) and "no index 'logz' (indexes: logs, other); did you mean " \
        "'logs'? 'logz' was searched as a word in index 'logs'" in err
    assert grep(stack, capsys, "logs", "test", "-host:vm1", "-c")[:2] == (0, ["20"])
    assert grep(stack, capsys, "test", "--until", "2000-01-01")[:2] == (1, [])
    assert grep(stack, capsys, "-c", "test", "--until", "2000-01-01")[:2] == (1, ["0"])
    rc, _, err = grep(stack, capsys, "test", "--since", "30m")
    assert rc == 0, err

    rc, _, err = grep(stack, capsys, "test", "--token", "wrong")
    assert rc == 2 and "authentication required" in err
    rc, _, err = grep(stack, capsys, "test", "--since", "yesterday-ish")
    assert rc == 2 and "server said 400" in err
    dead = f"http://127.0.0.1:{free_port()}"
    rc, _, err = grep(stack, capsys, "test", "--server", dead)
    assert rc == 2 and f"cannot reach ALCO at {dead}" in err and "alco web" in err


class BrokenStdout(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        return self.fd


def test_follow_prints_new_matches_and_a_closed_pipe_is_quiet(stack, capsys,
                                                            monkeypatch) -> None:
    start(stack, n=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "alco", "--config", str(stack.config_path), "grep", "-f",
         "-m", "2", "--fields", "message", "logs", "fresh"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent = 0

    def publish_until_done() -> bool:  # the follower may start late: keep lines coming
        nonlocal sent
        publish(stack.data["rabbitmq"]["url"], stack.exchange,
                [json.dumps({"message": f"fresh {sent}", "host": "vm9"}).encode()])
        sent += 1
        time.sleep(0.3)
        return proc.poll() is not None

    wait_for(publish_until_done, timeout=40, interval=0, message="grep -f -m 2 to exit")
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    got = out.splitlines()
    assert len(got) == 2 and all(line.startswith("fresh ") for line in got)
    assert int(got[1].split()[1]) > int(got[0].split()[1])

    monkeypatch.setattr(sys, "stdout", BrokenStdout())
    rc = main(["--config", str(stack.config_path), "grep", "logs", "test"])
    assert rc == 0 and capsys.readouterr().err == ""
