"""The shippers users run today, on the real stack: their records arrive intact in ALCO.

logcollect (with amqp<2) and python-logstash are the real packages, not imitations; ALCO's own
AMQPHandler and `alco send` go the same way; `alco grep` finds what they sent.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alco.cli.main import main
from alco.clients.handler import AMQPHandler
from tests.helpers import all_lines, stored_count, wait_for
from tests.integration.test_grep import start_web, wait_queues

pytestmark = pytest.mark.integration
logcollect_handler = pytest.importorskip("logcollect.handler")
logcollect_formatter = pytest.importorskip("logcollect.formatter")
logstash = pytest.importorskip("logstash")


def isolated_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


def age_s(ts: str) -> float:
    return abs(datetime.now(UTC).timestamp() - datetime.fromisoformat(ts).timestamp())


def crash() -> None:
    raise ZeroDivisionError("division by zero in the test")


def test_logcollect_ten_thousand_lines_exception_and_extra_found_once(stack) -> None:
    # logcollect writes local time with a literal Z: this index reads such stamps as local
    stack.index(name="lc", routing_keys=["lc", "lc.#"], naive_time_is_local=True)
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    handler = logcollect_handler.AMQPHandler(
        broker_uri=stack.data["rabbitmq"]["url"].replace("%2F", ""), exchange=stack.exchange,
        durable=False, routing_key="lc")  # as default_config and ALCO declare it
    handler.setFormatter(logcollect_formatter.AMQPLogstashFormatter())
    logger = isolated_logger(f"shop.lc{uuid.uuid4().hex[:6]}", handler)
    n = 10_000
    for i in range(n):
        logger.info("logcollect line %d", i, extra={"request_id": f"r{i}"})
    try:
        crash()
    except ZeroDivisionError:
        logger.exception("order failed", extra={"order": {"id": 42, "items": 3}})
    handler.close()

    config = stack.config()
    wait_for(lambda: stored_count(config, "lc") >= n + 1, timeout=60, interval=0.2,
             message=f"{n + 1} lines stored")
    lines = all_lines(config, "lc")
    messages = [ln["message"] for ln in lines]
    assert len(messages) == n + 1
    assert sorted(messages[:-1], key=lambda m: int(m.split()[-1])) == [
        f"logcollect line {i}" for i in range(n)]
    assert messages[-1] == "order failed"  # time order: the last one logged is the newest
    first, failed = lines[0], lines[-1]
    assert first["fields"]["request_id"] == "r0"
    assert first["fields"]["levelname"] == "INFO" and first["fields"]["logger"] == logger.name
    assert age_s(first["ts"]) < 120  # local time with a Z, read as local: the right instant
    assert failed["fields"]["levelname"] == "ERROR"
    assert failed["fields"]["exc_info"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero in the test" in failed["fields"]["exc_info"]
    assert failed["fields"]["order"] == {"id": 42, "items": 3}


def test_python_logstash_alco_handler_and_alco_send_arrive_and_grep_finds_them(
        stack, tmp_path, capsys) -> None:
    stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    url = stack.data["rabbitmq"]["url"]

    pl = logstash.AMQPLogstashHandler(
        host="127.0.0.1", port=5672, username="guest", password="guest",
        exchange=stack.exchange, exchange_type="topic", exchange_routing_key="logstash.billing",
        version=1)  # its own default durability
    billing = isolated_logger(f"billing{uuid.uuid4().hex[:6]}", pl)
    billing.info("invoice %s paid", "A-1", extra={"invoice": "A-1", "amount": 12.5})
    try:
        crash()
    except ZeroDivisionError:
        billing.exception("billing crashed")
    pl.close()

    own = AMQPHandler(url, exchange=stack.exchange, project="shop", application="api")
    api = isolated_logger(f"shop.api{uuid.uuid4().hex[:6]}", own)
    api.warning("slow request", extra={"duration_ms": 1234})
    try:
        crash()
    except ZeroDivisionError:
        api.exception("handler crashed")
    own.close()
    assert own.published == 2

    sent = tmp_path / "sent.log"
    sent.write_text('plain send line\n{"message": "json send line", "k": "v"}\n')
    assert main(["--config", str(stack.config_path), "send", "--index", "logs", "-q",
                 str(sent)]) == 0

    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= 6, message="6 lines stored")
    lines = {ln["message"]: ln for ln in all_lines(config, "logs")}
    assert len(lines) == 6

    paid, crashed = lines["invoice A-1 paid"], lines["billing crashed"]
    assert paid["fields"]["invoice"] == "A-1" and paid["fields"]["amount"] == 12.5
    assert (paid["fields"]["level"], paid["fields"]["logger_name"]) == ("INFO", billing.name)
    assert datetime.fromisoformat(paid["ts"]).microsecond % 1000 == 0  # ms stamps, kept
    assert age_s(paid["ts"]) < 120
    assert "ZeroDivisionError" in crashed["fields"]["stack_trace"]
    assert crashed["fields"]["level"] == "ERROR"

    slow, failed = lines["slow request"], lines["handler crashed"]
    assert slow["fields"]["duration_ms"] == 1234 and slow["fields"]["project"] == "shop"
    assert slow["fields"]["logger"] == api.name and age_s(slow["ts"]) < 120
    assert "ZeroDivisionError" in failed["fields"]["exc_info"]

    assert lines["json send line"]["fields"]["k"] == "v"
    assert lines["plain send line"]["fields"]["type"] == "alco-send"

    start_web(stack)
    grep = ["--config", str(stack.config_path), "grep", "--fields", "message"]
    capsys.readouterr()
    assert main([*grep, "logs", "crashed"]) == 0
    assert capsys.readouterr().out.splitlines() == ["billing crashed", "handler crashed"]
    assert main([*grep, "-c", "send", "line"]) == 0
    assert capsys.readouterr().out.strip() == "2"
    assert main([*grep, f"logger_name:{billing.name}"]) == 0
    assert capsys.readouterr().out.splitlines() == ["invoice A-1 paid", "billing crashed"]


def syslog_ng_config(stack, source_file: Path) -> str:
    """The snippet of docs/sending.md, pointed at this stack's broker and exchange."""
    doc = (Path(__file__).parents[2] / "docs" / "sending.md").read_text()
    [snippet] = re.findall(r"```\n(destination d_alco .*?)```", doc, re.S)
    snippet = snippet.replace('host("rabbit")', 'host("127.0.0.1")')
    snippet = snippet.replace('exchange("logstash")', f'exchange("{stack.exchange}")')
    return (f'@version: 3.38\nsource s_src {{ file("{source_file}" follow-freq(0.1)); }};\n'
            + snippet)


@pytest.mark.skipif(shutil.which("syslog-ng") is None, reason="needs syslog-ng")
def test_syslog_ng_amqp_destination_of_the_docs(stack) -> None:
    source, conf = stack.tmp / "in.log", stack.tmp / "syslog-ng.conf"
    source.write_text("")
    conf.write_text(syslog_ng_config(stack, source))
    check = subprocess.run(["syslog-ng", "--syntax-only", "-f", str(conf)], capture_output=True,
                           text=True)
    if check.returncode != 0 and "amqp" in check.stderr:
        pytest.skip(f"syslog-ng without the amqp module: {check.stderr.strip()[:200]}")
    assert check.returncode == 0, check.stderr
    stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    run = stack.tmp / "syslog-ng"
    daemon = subprocess.Popen(
        ["syslog-ng", "-F", "-f", str(conf), "-R", f"{run}.persist", "-p", f"{run}.pid",
         "-c", f"{run}.ctl"], env={**os.environ, "TZ": "UTC"},
        stdout=subprocess.DEVNULL, stderr=open(stack.tmp / "syslog-ng.log", "ab"))
    stack.procs.append(daemon)  # killed by the fixture if still running
    stamp = (datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0)
    config = stack.config()

    def written_and_stored() -> bool:  # syslog-ng may start reading late: keep writing
        with source.open("a") as fh:
            fh.write(f"{stamp:%b %d %H:%M:%S} web-1 shop[4242]: payment timeout for order 7\n")
        return stored_count(config, "logs") > 0

    wait_for(written_and_stored, interval=0.5, message="a syslog-ng line stored")
    daemon.terminate()
    daemon.wait(10)
    line = all_lines(config, "logs")[0]
    assert line["message"] == "payment timeout for order 7"
    assert datetime.fromisoformat(line["ts"]) == stamp
    fields = line["fields"]
    assert (fields["program"], fields["pid"], fields["levelname"]) == ("shop", "4242", "notice")
