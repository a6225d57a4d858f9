"""Every Prometheus metric ALCO exports, declared in one place.

The collector runs in multiprocess mode: ``alco collect`` sets ``PROMETHEUS_MULTIPROC_DIR``
before this module is first imported, every process writes its own files, and the exporter
merges them at scrape time.  Import this module lazily (inside functions) in process code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

_LAT = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RECEIVED = Counter("alco_records_received", "Messages received from RabbitMQ", ["index"])
STORED = Counter("alco_records_stored", "Records stored in Sphinx", ["index"])
DROPPED = Counter("alco_records_dropped", "Records not stored, by reason", ["index", "reason"])
DEGRADED = Counter(
    "alco_records_degraded", "Records stored after repair (truncated, re-encoded...)",
    ["index", "reason"],
)
DUPLICATES = Counter(
    "alco_records_duplicate", "Redelivered records already stored (skipped)", ["index"]
)
LATE = Counter("alco_records_late", "Records stored behind a newer line (pushed to live tails "
               "as late)", ["index"])
BATCHES = Counter("alco_batches", "Batches stored", ["index"])
BATCH_SIZE = Histogram(
    "alco_batch_size", "Records per batch", ["index"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
)
INSERT_SECONDS = Histogram("alco_insert_seconds", "Sphinx REPLACE latency", ["index"],
                           buckets=_LAT)
REDIS_SECONDS = Histogram("alco_redis_seconds", "Redis pipeline latency", ["index"],
                          buckets=_LAT)
REDIS_ERRORS = Counter("alco_redis_errors", "Failed Redis updates (retried later)", ["index"])
INSERT_RETRIES = Counter("alco_insert_retries", "Sphinx insert attempts that failed", ["index"])
WRITER_QUEUE = Gauge("alco_writer_queue_depth", "Batches waiting for a writer", ["index"],
                     multiprocess_mode="livemax")
BACKLOG = Gauge("alco_queue_backlog", "Messages ready in the RabbitMQ queue", ["index"],
                multiprocess_mode="livemax")
DISK_FREE = Gauge("alco_disk_free_bytes", "Free bytes under [sphinx] data_dir (as a writer last "
                  "saw it)", ["index"], multiprocess_mode="livemin")
DISK_PAUSED = Gauge("alco_disk_paused", "1 while storing waits for free disk space under "
                    "[sphinx] data_dir (lines wait in RabbitMQ)", ["index"],
                    multiprocess_mode="livemax")
DISK_PAUSES = Counter("alco_disk_pauses", "Times storing paused for disk space (each writer "
                      "counts its own)", ["index"])
DAYS_DROPPED = Counter("alco_days_dropped", "Day indexes dropped whole, by reason (max_disk)",
                       ["index", "reason"])
RESTARTS = Counter("alco_process_restarts", "Collector processes restarted", ["role", "index"])
PART_RESTARTS = Counter("alco_part_restarts", "Parts of alco run (searchd, collector, web) "
                        "started again after they died", ["part"])
SEARCH_PARTIAL = Counter("alco_search_partial", "Search answers missing a shard that did "
                         "not answer (a warning from searchd)", ["endpoint"])
SEARCH_SECONDS = Histogram("alco_search_seconds", "Search API latency", ["endpoint"],
                           buckets=_LAT)
AUTH_FAILURES = Counter("alco_web_auth_failures", "Requests the web app refused to "
                        "authenticate, by reason (missing, wrong, ticket, token_in_url, "
                        "throttled)", ["reason"])

# HTTP ingest (alco web): api is ndjson, bulk, loki or otlp.
INGEST_LINES = Counter("alco_ingest_lines", "Lines accepted over HTTP (confirmed by RabbitMQ)",
                       ["index", "api"])
INGEST_LINES_REJECTED = Counter(
    "alco_ingest_lines_rejected", "Lines refused over HTTP, by reason (the request or its "
    "bulk item says which)", ["api", "reason"])
INGEST_REFUSED = Counter(
    "alco_ingest_refused", "HTTP ingest requests refused, by reason (too_large, bad_body, "
    "bad_line, unknown_index, unsupported, unavailable)", ["api", "reason"])
INGEST_SECONDS = Histogram("alco_ingest_seconds", "HTTP ingest latency, until RabbitMQ "
                           "confirmed the lines", ["api"], buckets=_LAT)


def prepare_multiprocess_dir(path: str) -> None:
    """Empty the directory multiprocess metrics are written to (call before forking)."""
    p = Path(path)
    if p.exists():
        shutil.rmtree(p)
    p.mkdir(parents=True)


def serve_collector_metrics(bind: str) -> None:
    """Export the merged metrics of all collector processes on ``host:port``."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    host, port = bind.rsplit(":", 1)
    start_http_server(int(port), addr=host, registry=registry)


def mark_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
