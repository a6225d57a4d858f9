"""The `alco send` command against a real RabbitMQ: stdin, files, -F, progress, exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from alco.cli import send as sendcmd
from alco.cli.main import main
from tests.helpers import Broker, records, to_toml, wait_for

pytestmark = pytest.mark.integration
URL = os.environ.get("ALCO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ALCO_")}


def take(broker: Broker, n: int) -> list[tuple]:
    """The first ``n`` messages, which must already be queued (sent means confirmed)."""
    got = []
    while len(got) < n:
        method, props, body = broker.ch.basic_get(broker.queue, auto_ack=True)
        assert method is not None, f"only {len(got)} of {n} messages"
        got.append((method, props, body))
    return got


@pytest.fixture
def broker() -> Iterator[Broker]:
    b = Broker(URL)
    yield b
    b.close()


@pytest.fixture
def config(tmp_path: Path, broker: Broker) -> Path:
    path = tmp_path / "alco.toml"
    path.write_text(to_toml({"rabbitmq": {"url": URL, "exchange": broker.exchange},
                             "index": [{"name": "logs"}]}))
    return path


def alco(config: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "alco", "--config", str(config), "send",
                             *args], env=ENV, stderr=subprocess.PIPE, text=True, **kw)


def test_stdin_is_sent_with_the_index_routing_key(broker: Broker, config: Path) -> None:
    proc = alco(config, "--index", "logs", stdin=subprocess.PIPE)
    _, err = proc.communicate('plain one\n{"message": "json two", "x": 1}\n\nthree', timeout=30)
    assert proc.returncode == 0, err
    assert "3 lines sent" in err and "'logstash.logs'" in err
    msgs = take(broker, broker.count())
    assert {m.routing_key for m, _, _ in msgs} == {"logstash.logs"}
    bodies = [orjson.loads(b) for b in records(msgs)]
    assert [b["message"] for b in bodies] == ["plain one", "json two", "three"]
    assert bodies[1] == {"message": "json two", "x": 1}  # JSON passes through unchanged
    assert bodies[0]["type"] == "alco-send"


def test_files_progress_and_default_key(broker: Broker, config: Path, tmp_path: Path,
                                        capsys, monkeypatch) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"".join(b'{"message": "a%d"}\n' % i for i in range(3000)))
    second.write_bytes(b"b0\nb1\n")
    monkeypatch.setattr(sendcmd, "PROGRESS_S", 0.0)
    before = signal.getsignal(signal.SIGINT)
    assert main(["--config", str(config), "send", str(first), str(second)]) == 0
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    err = capsys.readouterr().err
    assert "alco send: 3002 lines sent to exchange" in err and "'logstash.send'" in err
    assert "lines sent (" in err  # progress while sending
    assert len(records(take(broker, broker.count()))) == 3002


def test_bad_input_and_unreachable_broker_exit_codes(config: Path, tmp_path: Path,
                                                     capsys) -> None:
    assert main(["--config", str(config), "send", str(tmp_path / "missing.log")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["--config", str(config), "send", "-F"]) == 2
    capsys.readouterr()
    path = tmp_path / "x.log"
    path.write_bytes(b"x\n")
    rc = main(["--config", str(config), "send", "--url", "amqp://guest:guest@127.0.0.1:1/%2F",
               str(path)])
    assert rc == 1
    assert "connection to RabbitMQ failed" in capsys.readouterr().err


def test_follow_sends_appended_lines_and_stops_cleanly_on_sigint(
        broker: Broker, config: Path, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"already there, not sent\n")
    proc = alco(config, "-F", "--routing-key", "logstash.app", str(path))
    got: list[tuple] = []
    try:
        n = 0

        def appended_and_arrived() -> bool:  # -F starts at the end: wait until it is reading
            nonlocal n
            with open(path, "ab") as fh:
                fh.write(b"new %d\n" % n)
            n += 1
            time.sleep(0.1)
            return broker.count() > 0

        def everything_arrived() -> bool:
            got.extend(take(broker, broker.count()))
            return bool(got) and orjson.loads(records(got)[-1])["message"] == f"new {n - 1}"

        wait_for(appended_and_arrived, timeout=20, interval=0, message="first followed line")
        wait_for(everything_arrived, message="the last appended line")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    sent = int(err.split("alco send: ")[-1].split()[0])
    messages = [orjson.loads(b)["message"] for b in records(got)]
    first = int(messages[0].split()[1])  # lines written before it was reading are not sent
    assert sent == len(messages) and messages == [f"new {i}" for i in range(first, n)]
    assert {m.routing_key for m, _, _ in got} == {"logstash.app"}


def test_one_line_is_one_line(broker: Broker, config: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "one.log"
    path.write_bytes(b"only\n")
    assert main(["--config", str(config), "send", str(path)]) == 0
    assert "alco send: 1 line sent to exchange" in capsys.readouterr().err


def test_an_index_the_config_does_not_have_is_refused(broker: Broker, config: Path,
                                                      tmp_path: Path, capsys) -> None:
    path = tmp_path / "one.log"
    path.write_bytes(b"only\n")
    assert main(["--config", str(config), "send", "--index", "logz", str(path)]) == 2
    err = capsys.readouterr().err
    assert "has no index 'logz' (its indexes: logs)" in err and "--routing-key" in err
    assert broker.count() == 0


def test_without_a_config_file_an_index_needs_its_queue(broker: Broker, tmp_path: Path,
                                                        capsys, monkeypatch) -> None:
    """No alco.toml (a client machine): --index is checked against the broker, which has a
    queue alco.<index> for every index an ALCO collects (unless configured otherwise)."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("ALCO_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "one.log"
    path.write_bytes(b"only\n")
    missing = f"test{uuid.uuid4().hex[:8]}"
    args = ["send", "--url", URL, "--exchange", broker.exchange, str(path)]
    assert main([*args[:-1], "--index", missing, str(path)]) == 2
    assert f"no index {missing!r}: no config file names it (the defaults have logs) and " \
        f"RabbitMQ has no queue 'alco.{missing}'" in capsys.readouterr().err
    assert broker.count() == 0
    broker.ch.queue_declare(f"alco.{missing}", auto_delete=True)
    try:
        assert main([*args[:-1], "--index", missing, str(path)]) == 0
        assert len(take(broker, 1)) == 1
    finally:
        broker.ch.queue_delete(f"alco.{missing}")
