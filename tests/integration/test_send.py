"""send_lines against a real RabbitMQ; follow_files and read_stream on real files and pipes."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pika
import pytest

from alco.clients import lines as send_mod
from alco.clients.lines import SendError, follow_files, read_stream, send_lines
from tests.helpers import NDJSON, Broker, records

pytestmark = pytest.mark.integration
URL = os.environ.get("ALCO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
KEY = "logstash.alco-send-test"


@pytest.fixture
def broker() -> Iterator[Broker]:
    try:
        b = Broker(URL)
    except pika.exceptions.AMQPConnectionError as exc:
        pytest.skip(f"RabbitMQ not reachable: {exc}")
    yield b
    b.close()


def send(broker: Broker, lines: Iterable[bytes], **kw) -> int:
    return send_lines(lines, url=URL, exchange=broker.exchange, routing_key=KEY, host="vm", **kw)


def test_json_passes_through_plain_is_wrapped_blank_is_skipped(broker: Broker) -> None:
    lines = [
        b'{"@timestamp": "2026-11-24T03:57:23.986993Z", "message": "boom", "seq": 1}\n',
        b"\n",
        b"a plain line\n",
        b"   \n",
        b"",
        b'{"message":"compact","x":[1,2]}\r\n',
        b"caf\xe9 not utf-8\n",
        b"[1, 2]\n",
        b"last line without newline",
    ]
    assert send(broker, lines) == 6
    msgs = broker.take(2)  # two batches as NDJSON: b"" (the source is idle) ends the first
    assert len(msgs) == 2
    assert broker.take(1, timeout=0.3) == []
    for method, props, _ in msgs:
        assert method.routing_key == KEY
        assert (props.delivery_mode, props.content_type) == (2, NDJSON)
        assert abs(props.timestamp - time.time()) < 60
        assert len(props.message_id) == 32
    bodies = records(msgs)
    assert len(bodies) == 6
    assert bodies[0] == lines[0][:-1]  # byte-identical, only the line terminator dropped
    assert bodies[2] == lines[5][:-2]
    wrapped = [orjson.loads(bodies[i]) for i in (1, 3, 4, 5)]
    assert [w["message"] for w in wrapped] == [
        "a plain line", "caf\ufffd not utf-8", "[1, 2]", "last line without newline"]
    assert all((w["type"], w["host"], w["logger"], w["@version"]) == ("alco-send", "vm", KEY, 1)
               for w in wrapped)


def test_many_lines_all_confirmed_with_progress(broker: Broker) -> None:
    progress: list[int] = []
    lines = (b'{"message": "m%d"}\n' % i for i in range(5000))
    assert send(broker, lines, batch=300, on_progress=progress.append) == 5000
    # confirmed means enqueued: no waiting needed; at most 300 lines per message
    assert 17 <= broker.count() < 5000
    msgs = broker.take(broker.count())
    assert [orjson.loads(b)["message"] for b in records(msgs)] == [f"m{i}" for i in range(5000)]
    assert max(len(records([m])) for m in msgs) <= 300
    assert progress[-1] == 5000 and progress == sorted(progress) and len(progress) >= 5


def test_empty_input_returns_zero(broker: Broker) -> None:
    assert send(broker, [b"\n", b""]) == 0


def test_unreachable_broker_raises_send_error() -> None:
    with pytest.raises(SendError) as info:
        send_lines([b"x\n"], url="amqp://guest:guest@127.0.0.1:1/%2F", exchange="x",
                   routing_key=KEY, host="vm")
    assert info.value.confirmed == 0


def test_source_error_is_raised_after_earlier_lines_are_confirmed(broker: Broker) -> None:
    def lines() -> Iterator[bytes]:
        for i in range(5):
            yield b"line %d\n" % i
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        send(broker, lines())
    assert len(records(broker.take(5, timeout=1))) == 5


def test_channel_failure_raises_with_the_unconfirmed_lines(broker: Broker) -> None:
    def lines() -> Iterator[bytes]:
        yield from (b"ok 1\n", b"ok 2\n", b"ok 3\n")
        deadline = time.monotonic() + 5
        while broker.count() < 1 and time.monotonic() < deadline:
            yield b""  # idle: lets send_lines flush and collect the confirms
        broker.ch.exchange_delete(broker.exchange)  # the next publish gets a 404
        yield from (b"lost 4\n", b"lost 5\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            yield b""
        raise AssertionError("send_lines did not notice the closed channel")

    with pytest.raises(SendError, match="NOT_FOUND") as info:
        send(broker, lines())
    assert info.value.confirmed == 3
    assert info.value.unconfirmed == [b"lost 4\n", b"lost 5\n"]
    broker.ch.exchange_declare(broker.exchange, exchange_type="topic")


def pull(lines: Iterator[bytes], n: int, timeout: float = 5.0) -> list[bytes]:
    """The next n non-empty items of a source that yields b"" while idle."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        line = next(lines)
        if line:
            got.append(line)
    return got


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_follow_files_appends_rotation_truncation_and_late_files(tmp_path: Path) -> None:
    app, late = tmp_path / "app.log", tmp_path / "late.log"
    app.write_bytes(b"old line, not sent\n")
    lines = follow_files([str(app), str(late)], interval=0.02, tick=0.05)
    append(app, b"one\ntwo\npart")
    assert pull(lines, 2) == [b"one\n", b"two\n"]
    append(app, b"ial\n")
    assert pull(lines, 1) == [b"partial\n"]

    app.rename(tmp_path / "app.log.1")  # rotation: the writer still has the old file open
    append(tmp_path / "app.log.1", b"late write to the old file\n")
    app.write_bytes(b"first of the new file\n")
    assert pull(lines, 2) == [b"late write to the old file\n", b"first of the new file\n"]

    with open(app, "r+b") as fh:  # copytruncate
        fh.truncate(0)
    append(app, b"after truncate\n")
    assert pull(lines, 1) == [b"after truncate\n"]

    late.write_bytes(b"a file that appeared later\n")
    assert pull(lines, 1) == [b"a file that appeared later\n"]
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline and next(lines) == b"":
        pass  # idle: the source keeps yielding b"" ticks instead of blocking
    assert time.monotonic() >= deadline


def test_rotation_drains_what_the_old_file_got_after_the_last_read(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"")
    tail = send_mod._Tail(str(path), at_end=True)
    read = tail._read

    def read_then_rotate() -> tuple[list[bytes], bool]:
        result = read()
        if not path.with_suffix(".log.1").exists():  # the race: rotated between read and stat
            path.rename(path.with_suffix(".log.1"))
            append(path.with_suffix(".log.1"), b"late\nno newline")
            path.write_bytes(b"new\n")
        return result

    tail._read = read_then_rotate  # type: ignore[method-assign]
    assert tail.poll() == [b"late\n", b"no newline"]
    assert tail.poll() == [b"new\n"]


def test_follow_from_start(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"x\ny\n")
    assert pull(follow_files([str(path)], from_start=True, tick=0.05), 2) == [b"x\n", b"y\n"]


def until(lines: Iterator[bytes], stop: threading.Event) -> Iterator[bytes]:
    for line in lines:
        if stop.is_set():
            return
        yield line


def test_send_follows_a_trickle_and_confirms_it_promptly(broker: Broker, tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_bytes(b"")
    stop = threading.Event()
    progress: list[int] = []
    result: list[int] = []
    source = until(follow_files([str(path)], interval=0.02, tick=0.05), stop)
    thread = threading.Thread(
        target=lambda: result.append(send(broker, source, batch=1000, on_progress=progress.append)))
    thread.start()
    try:
        for i in range(5):  # far fewer than a batch: must still go out, one by one
            append(path, b'{"message": "trickle %d"}\n' % i)
            [(_, _, body)] = broker.take(1, timeout=5)
            assert orjson.loads(body)["message"] == f"trickle {i}"
    finally:
        stop.set()
        thread.join(10)
    assert result == [5] and progress[-1] == 5


def test_read_stream_pipe_ticks_when_idle() -> None:
    r, w = os.pipe()
    with os.fdopen(r, "rb") as fh:
        lines = read_stream(fh, tick=0.05)
        os.write(w, b"a\nb")
        assert pull(lines, 1) == [b"a\n"]
        assert next(lines) == b""  # nothing complete: idle tick, not a block
        os.write(w, b"c\nd")
        os.close(w)
        assert list(lines) == [b"bc\n", b"d"]


def test_read_stream_regular_file_and_bytesio(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"1\n2\n3")
    with open(path, "rb") as fh:
        assert list(read_stream(fh)) == [b"1\n", b"2\n", b"3"]
    assert list(read_stream(io.BytesIO(b"x\ny\n"))) == [b"x\n", b"y\n"]
    assert list(read_stream(io.StringIO("t\n"))) == [b"t\n"]
