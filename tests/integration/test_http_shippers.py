"""Real shippers over HTTP into a real stack (`alco web`, RabbitMQ, collector, searchd): the
snippets of docs/sending.md run by rsyslog (omelasticsearch) and syslog-ng (elasticsearch-http
and http), the OpenTelemetry Python SDK's OTLP/HTTP log exporter, and a Loki push client
sending protobuf in a snappy block.  Each: every line arrives with its fields, once."""

from __future__ import annotations

import glob
import importlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.helpers import all_lines, stored_count, wait_for
from tests.integration.test_metrics import start_collector

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "sending.md"
TOKEN = "ship-token"
N = 200


def serve(stack) -> tuple[str, int]:
    """A stack with index ``logs`` whose ingest needs ``TOKEN``; returns (host, port)."""
    stack.index()
    stack.data["web"]["ingest_tokens"] = [TOKEN]
    stack.start_searchd()
    start_collector(stack)
    stack.web()
    host, port = stack.data["web"]["bind"].rsplit(":", 1)
    return host, int(port)


def snippet(start: str) -> str:
    """The fenced block of docs/sending.md that begins with ``start``."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", DOC.read_text(), re.S)
    [block] = [b for b in blocks if b.startswith(start)]
    return block


def arrived(stack, marker: str, n: int) -> list[dict]:
    """The stored lines containing ``marker`` once ``n`` are there (and no more come)."""
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs", marker) >= n, timeout=60, interval=0.3,
             message=f"{n} lines with {marker}")
    time.sleep(1.0)  # a duplicate would come now
    return all_lines(config, "logs", marker)


def assert_once(lines: list[dict], marker: str, n: int) -> None:
    numbers = sorted(int(ln["message"].rsplit(" ", 1)[1]) for ln in lines)
    assert numbers == list(range(n)), f"{len(numbers)} lines for {n}"


# -- rsyslog --------------------------------------------------------------------------------

def rsyslogd() -> tuple[list[str], dict[str, str]]:
    """The rsyslogd to run and its environment: the system's if it has omelasticsearch, else
    the one scripts/bootstrap.sh unpacked into var/tools/rsyslog."""
    for root in ("", str(ROOT / "var" / "tools" / "rsyslog")):
        modules = glob.glob(f"{root}/usr/lib/*/rsyslog/omelasticsearch.so")
        binary = f"{root}/usr/sbin/rsyslogd"
        if modules and os.access(binary, os.X_OK):
            moddir = os.path.dirname(modules[0])
            env = dict(os.environ)
            if root:
                env["LD_LIBRARY_PATH"] = os.path.dirname(moddir)
            return [binary, "-M", moddir], env
    pytest.skip("needs rsyslogd with omelasticsearch (scripts/bootstrap.sh test unpacks "
                "Debian's rsyslog and rsyslog-elasticsearch into var/tools/rsyslog)")


def test_rsyslog_omelasticsearch_of_the_docs(stack):
    command, env = rsyslogd()
    host, port = serve(stack)
    source, work = stack.tmp / "app.log", stack.tmp / "rsyslog-work"
    work.mkdir()
    conf = snippet('module(load="imfile")')
    conf = conf.replace("/var/log/app/app.log", str(source))
    conf = conf.replace('server="alco" serverport="8000"', f'server="{host}" serverport="{port}"')
    conf = conf.replace("INGEST_TOKEN", TOKEN)
    marker = f"rs{uuid.uuid4().hex[:8]}"
    source.write_text("".join(f"{marker} rsyslog line {i}\n" for i in range(N)))
    (stack.tmp / "rsyslog.conf").write_text(f'global(workDirectory="{work}")\n' + conf)
    daemon = subprocess.Popen(
        [*command, "-n", "-f", str(stack.tmp / "rsyslog.conf"), "-i",
         str(stack.tmp / "rsyslog.pid")], env=env, stdout=subprocess.DEVNULL,
        stderr=open(stack.tmp / "rsyslog.log", "ab"))
    stack.procs.append(daemon)
    lines = arrived(stack, marker, N)
    daemon.terminate()
    daemon.wait(10)
    assert_once(lines, marker, N)
    fields = lines[0]["fields"]
    assert fields["program"] == "app" and fields["levelname"] == "notice"
    assert fields["facility"] == "local0" and fields["host"]
    assert abs(datetime.fromisoformat(lines[0]["ts"]).timestamp() - time.time()) < 120


# -- syslog-ng ------------------------------------------------------------------------------

def syslog_ng_ready(conf: Path) -> None:
    if shutil.which("syslog-ng") is None:
        pytest.skip("needs syslog-ng (Debian syslog-ng-core)")
    check = subprocess.run(["syslog-ng", "--syntax-only", "-f", str(conf)],
                           capture_output=True, text=True)
    if check.returncode != 0 and ("http" in check.stderr or "elasticsearch" in check.stderr):
        pytest.skip("syslog-ng without the http module or its SCL (Debian syslog-ng-mod-http, "
                    f"syslog-ng-scl): {check.stderr.strip()[:200]}")
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("destination", ["d_alco_bulk", "d_alco_ndjson"])
def test_syslog_ng_http_destinations_of_the_docs(stack, destination):
    source, conf = stack.tmp / "in.log", stack.tmp / "syslog-ng.conf"
    block = snippet(f"destination {destination} ")
    block = block.split("\nlog {")[0]  # the log path is the test's
    host, port = stack.data["web"]["bind"].rsplit(":", 1)
    block = block.replace("alco:8000", f"{host}:{port}").replace("INGEST_TOKEN", TOKEN)
    source.write_text("")
    conf.write_text(
        '@version: 3.38\n@include "scl.conf"\n'
        f'source s_src {{ file("{source}" follow-freq(0.1)); }};\n{block}\n'
        f"log {{ source(s_src); destination({destination}); }};\n")
    syslog_ng_ready(conf)
    serve(stack)
    run = stack.tmp / "syslog-ng"
    daemon = subprocess.Popen(
        ["syslog-ng", "-F", "-f", str(conf), "-R", f"{run}.persist", "-p", f"{run}.pid",
         "-c", f"{run}.ctl"], env={**os.environ, "TZ": "UTC"},
        stdout=subprocess.DEVNULL, stderr=open(stack.tmp / "syslog-ng.log", "ab"))
    stack.procs.append(daemon)
    marker = f"sng{uuid.uuid4().hex[:8]}"
    stamp = (datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0)
    time.sleep(1.0)  # syslog-ng follows the file from its end: start writing once it runs
    with source.open("a") as fh:
        for i in range(N):
            fh.write(f"{stamp:%b %d %H:%M:%S} web-1 shop[4242]: {marker} syslog-ng line {i}\n")
    lines = arrived(stack, marker, N)
    daemon.terminate()
    daemon.wait(10)
    assert_once(lines, marker, N)
    fields = lines[0]["fields"]
    assert (fields["program"], fields["pid"]) == ("shop", "4242") and fields["host"]
    assert fields["levelname"] == "notice"
    assert datetime.fromisoformat(lines[0]["ts"]) == stamp


# -- OpenTelemetry SDK ----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_opentelemetry_sdk_otlp_http_exporter(stack):
    exporter_mod = pytest.importorskip("opentelemetry.exporter.otlp.proto.http._log_exporter")
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    host, port = serve(stack)
    provider = LoggerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter_mod.OTLPLogExporter(
        endpoint=f"http://{host}:{port}/v1/logs", compression=Compression.Gzip,
        headers={"Authorization": f"Bearer {TOKEN}", "X-Alco-Index": "logs"})))
    logger = logging.getLogger(f"otel.{uuid.uuid4().hex[:6]}")
    logger.handlers = [LoggingHandler(logger_provider=provider)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    marker = f"otel{uuid.uuid4().hex[:8]}"
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("checkout") as span:
        for i in range(N):
            logger.warning("%s otel line %d", marker, i, extra={"order_id": i})
        trace_id = format(span.get_span_context().trace_id, "032x")
        span_id = format(span.get_span_context().span_id, "016x")
    provider.shutdown()  # flushes
    lines = arrived(stack, marker, N)
    assert_once(lines, marker, N)
    line = next(ln for ln in lines if ln["message"].endswith(" otel line 7"))
    fields = line["fields"]
    assert fields["service.name"] == "shop" and fields["scope.name"] == logger.name
    assert fields["order_id"] == 7 and fields["levelname"] == "WARN"
    assert fields["severity_number"] == 13
    assert (fields["trace_id"], fields["span_id"]) == (trace_id, span_id)
    assert abs(datetime.fromisoformat(line["ts"]).timestamp() - time.time()) < 120


# -- Loki push, protobuf + snappy -----------------------------------------------------------

def loki_push_pb2(tmp: Path):
    """``push_pb2`` compiled from tests/integration/loki/push.proto with grpcio-tools."""
    protoc = pytest.importorskip("grpc_tools.protoc")
    proto_dir = Path(__file__).with_name("loki")
    include = importlib.resources.files("grpc_tools") / "_proto"
    assert protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={tmp}",
                        str(proto_dir / "push.proto")]) == 0
    sys.path.insert(0, str(tmp))
    try:
        return importlib.import_module("push_pb2")
    finally:
        sys.path.remove(str(tmp))


def test_loki_push_protobuf_snappy(stack):
    cramjam = pytest.importorskip("cramjam")
    out = stack.tmp / "loki_pb"
    out.mkdir()
    push_pb2 = loki_push_pb2(out)
    host, port = serve(stack)
    marker = f"loki{uuid.uuid4().hex[:8]}"
    request = push_pb2.PushRequest()
    now_ns = time.time_ns()
    for job in ("api", "worker"):
        stream = request.streams.add(labels=f'{{job="{job}", host="web-1", path="/a \\"b\\""}}')
        for i in range(N // 2):
            n = i if job == "api" else N // 2 + i
            entry = stream.entries.add(line=f"{marker} loki line {n}")
            entry.timestamp.FromNanoseconds(now_ns + n * 1000)
            entry.structuredMetadata.add(name="trace_id", value=f"t{n}")
    body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    r = httpx.post(f"http://{host}:{port}/loki/api/v1/push", content=body,
                   headers={"Content-Type": "application/x-protobuf", "X-Scope-OrgID": "logs"},
                   auth=("promtail", TOKEN))
    assert r.status_code == 204, r.text
    lines = arrived(stack, marker, N)
    assert_once(lines, marker, N)
    line = next(ln for ln in lines if ln["message"].endswith(" loki line 150"))
    assert line["fields"] == {"job": "worker", "host": "web-1", "path": '/a "b"',
                              "trace_id": "t150"}
    ts = datetime.fromisoformat(line["ts"])
    assert int(ts.timestamp()) * 10**9 + ts.microsecond * 1000 == (now_ns + 150_000) // 1000 * 1000
