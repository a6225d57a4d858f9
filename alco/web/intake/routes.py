"""The HTTP ingest endpoints: read and check the request, publish its lines (confirmed by
RabbitMQ) on a publishing thread, answer in the protocol's own format.

Answers: 2xx only once RabbitMQ confirmed every accepted line; 503 with ``Retry-After`` when it
did not (nothing of the request is known to be kept, except bulk items answered 201); 413 over
the body limit; 400 for a body that cannot be read, naming the bad line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alco import metrics
from alco.config import Config, IndexConfig
from alco.errors import BadInput, NotFound
from alco.web import page
from alco.web.credentials import may_use
from alco.web.intake import esbulk, idempotency, loki, otlp
from alco.web.intake.body import TooLarge, Unsupported, decode, media_type, read_body
from alco.web.intake.lines import BadLine, ndjson_lines, text_lines
from alco.web.intake.publish import IntakePublisher, PublishFailed

_lock = threading.Lock()
INDEX_HEADER = "x-alco-index"  # OTLP and Loki: the index (else Loki's tenant, else default)


def publisher(request: Request) -> IntakePublisher:
    """The app's publisher, made on first use."""
    state = request.app.state
    with _lock:
        pub = getattr(state, "intake_publisher", None)
        if pub is None:
            pub = IntakePublisher(config_of(request))
            state.intake_publisher = pub
    return pub


def config_of(request: Request) -> Config:
    return request.app.state.alco.config


def default_index(config: Config) -> IndexConfig:
    name = config.web.ingest_default_index
    return config.index(name) if name else config.indexes[0]


def named_index(request: Request, name: str | None) -> IndexConfig:
    """The index named (else the default); one the credential may not send to is unknown."""
    config = config_of(request)
    try:
        ix = config.index(name) if name else default_index(config)
    except KeyError:
        ix = None
    if ix is None or not may_use(request, ix.name):
        raise NotFound(f"no index {name or ix.name!r}", index=name) from None
    return ix


def refused(api: str, reason: str, status: int, body: dict, headers: dict | None = None,
            lines: int = 0) -> Response:
    metrics.INGEST_REFUSED.labels(api, reason).inc()
    if lines:
        metrics.INGEST_LINES_REJECTED.labels(api, reason).inc(lines)
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable(request: Request, api: str, exc: PublishFailed, lines: int) -> Response:
    retry = str(config_of(request).web.ingest_retry_after)
    return refused(api, "unavailable", 503,
                   {"error": f"lines not stored: {exc.reason}", "accepted": 0,
                    "service": "rabbitmq"}, {"Retry-After": retry}, lines)


def ingest_endpoint(api: str) -> Callable[[Callable], Callable[[Request], Awaitable[Response]]]:
    """Time the endpoint; answer its BadInput/NotFound as 400/413/415/404 and count them."""

    def wrap(fn: Callable[[Request], Awaitable[Response]]) -> Callable:
        async def handler(request: Request) -> Response:
            start = time.perf_counter()
            try:
                return await fn(request)
            except TooLarge as exc:
                return refused(api, "too_large", 413, {"error": exc.message, **exc.detail})
            except Unsupported as exc:
                return refused(api, "unsupported", 415, {"error": exc.message})
            except BadLine as exc:
                return refused(api, "bad_line", 400, {"error": exc.message, **exc.detail})
            except NotFound as exc:
                return refused(api, "unknown_index", 404, {"error": exc.message})
            except BadInput as exc:
                return refused(api, "bad_body", 400, {"error": exc.message, **exc.detail})
            finally:
                metrics.INGEST_SECONDS.labels(api).observe(time.perf_counter() - start)

        handler.__name__ = fn.__name__
        return handler

    return wrap


async def body_of(request: Request, raw: bool = False) -> bytes:
    limit = config_of(request).web.ingest_max_bytes
    body = await read_body(request, limit)
    request.state.body_sha = idempotency.body_sha(body)  # (a retry's key without a header)
    return body if raw else decode(body, request.headers.get("content-encoding"), limit)


async def publish(request: Request, api: str, ix: IndexConfig, lines: list[bytes]) -> int:
    """Publish (confirmed) what a retry of the request did not publish yet, and count;
    return how many of ``lines`` are published; PublishFailed (saying as much) passes
    through."""
    if not lines:
        return 0
    arrival = time.time_ns() // 1000
    pub = publisher(request)
    config = config_of(request)
    memo = progress(request)
    key = idempotency.request_key(config.redis.prefix, api, ix.name,
                                  request.headers.get(idempotency.HEADER),
                                  getattr(request.state, "body_sha", ""))
    skip = min(await pub.submit(memo.done, key), len(lines))
    try:
        done = await pub.submit(pub.publish, ix.ingest_routing_key, lines[skip:], arrival,
                                lambda n: memo.record(key, skip + n, len(lines)))
    except PublishFailed as exc:
        metrics.INGEST_LINES.labels(ix.name, api).inc(exc.done)  # (confirmed all the same)
        raise PublishFailed(exc.reason, skip + exc.done) from None
    metrics.INGEST_LINES.labels(ix.name, api).inc(done)
    return skip + done


def progress(request: Request) -> idempotency.Progress:
    """The app's record of what requests published (alco.web.intake.idempotency)."""
    state = request.app.state
    with _lock:
        memo = getattr(state, "intake_progress", None)
        if memo is None:
            memo = state.intake_progress = idempotency.Progress(config_of(request).redis.url)
    return memo


@ingest_endpoint("ndjson")
async def ingest_lines(request: Request) -> Response:
    """``POST /api/<index>/ingest``: JSON lines (``application/x-ndjson``) or plain text."""
    ix = named_index(request, request.path_params["index"])
    kind = media_type(request)
    body = await body_of(request)
    if kind in ("text/plain", ""):
        lines = text_lines(body)
    elif kind in ("application/x-ndjson", "application/jsonl", "application/json",
                  "application/x-jsonlines", "application/jsonlines"):
        lines = ndjson_lines(body)
    else:
        raise Unsupported(f"Content-Type {kind!r}: send application/x-ndjson or text/plain")
    try:
        done = await publish(request, "ndjson", ix, lines)
    except PublishFailed as exc:
        return unavailable(request, "ndjson", exc, len(lines))
    return JSONResponse({"accepted": done})


@ingest_endpoint("bulk")
async def es_bulk(request: Request) -> Response:
    """``POST /_bulk``, ``POST /<target>/_bulk``: Elasticsearch's bulk API."""
    start = time.monotonic()
    config = config_of(request)
    body = await body_of(request)
    bulk = esbulk.parse(body, request.path_params.get("target"),
                        [ix.name for ix in config.indexes], default_index(config).name)
    refuse_foreign(request, bulk)
    failed: PublishFailed | None = None
    for name, items in bulk.by_index().items():
        ix = config.index(name)
        lines = [item.line for item in items if item.line is not None]
        try:
            done = await publish(request, "bulk", ix, lines)
        except PublishFailed as exc:
            done, failed = exc.done, exc
        for k, item in enumerate(items):
            if k < done:
                item.status = 201
            else:
                item.status, item.error = 503, ("unavailable_shards_exception",
                                                f"not stored: {failed.reason if failed else ''}")
    for item in bulk.items:
        if item.error is not None and item.status != 503:
            metrics.INGEST_LINES_REJECTED.labels("bulk", "bad_item").inc()
    if failed is not None and not any(item.status == 201 for item in bulk.items):
        return unavailable(request, "bulk", failed, len(bulk.items))
    took = int((time.monotonic() - start) * 1000)
    return Response(esbulk.response(bulk, took), media_type="application/json")


def refuse_foreign(request: Request, bulk: esbulk.Bulk) -> None:
    """Items for an index the credential may not send to: a 403 each (the rest go on)."""
    for item in bulk.items:
        if item.line is not None and not may_use(request, item.index):
            item.line, item.status = None, 403
            item.error = ("security_exception",
                          f"this credential may not send to {item.target or item.index!r}")


@ingest_endpoint("loki")
async def loki_push(request: Request) -> Response:
    """``POST /loki/api/v1/push``: JSON, or protobuf in a snappy block."""
    ix = named_index(request, request.headers.get(INDEX_HEADER)
                     or request.query_params.get("index") or tenant_index(request))
    kind = media_type(request)
    limit = config_of(request).web.ingest_max_bytes
    if kind == "application/x-protobuf" or (kind == "" and request.headers.get(
            "content-encoding", "").lower() == "snappy"):
        lines = loki.from_protobuf(await body_of(request, raw=True), limit)
    elif kind == "application/json":
        lines = loki.from_json(await body_of(request))
    else:
        raise Unsupported(f"Content-Type {kind!r}: send application/x-protobuf (snappy) "
                          "or application/json")
    try:
        await publish(request, "loki", ix, lines)
    except PublishFailed as exc:
        return unavailable(request, "loki", exc, len(lines))
    return Response(status_code=204)


def tenant_index(request: Request) -> str | None:
    """Loki's tenant header, when it names an index."""
    tenant = request.headers.get("x-scope-orgid")
    names = [ix.name for ix in config_of(request).indexes]
    return tenant if tenant in names else None


@ingest_endpoint("otlp")
async def otlp_logs(request: Request) -> Response:
    """``POST /v1/logs``: OTLP/HTTP logs, protobuf or JSON."""
    ix = named_index(request, request.headers.get(INDEX_HEADER)
                     or request.query_params.get("index"))
    kind = media_type(request)
    body = await body_of(request)
    if kind == "application/x-protobuf":
        lines = otlp.from_protobuf(body)
    elif kind == "application/json":
        lines = otlp.from_json(body)
    else:
        raise Unsupported(f"Content-Type {kind!r}: send application/x-protobuf or "
                          "application/json")
    try:
        await publish(request, "otlp", ix, lines)
    except PublishFailed as exc:
        return unavailable(request, "otlp", exc, len(lines))
    content, media = otlp.response(kind == "application/json")
    return Response(content, media_type=media)


async def es_root(request: Request) -> Response:
    """``GET /``: Elasticsearch's version info for clients that ask for JSON (or send no
    ``Accept`` at all, as Go's client does); the reading page for everyone else."""
    accept = request.headers.get("accept")
    if accept is not None and ("json" not in accept or "text/html" in accept):
        return page.shell(request)
    return Response(esbulk.info(), media_type="application/json")


async def es_health(request: Request) -> Response:
    """``/_cat/health`` (rsyslog's omelasticsearch checks it before sending)."""
    return Response(b"0 alco alco green 1 1 0 0 0 0 0 0 - 100.0%\n", media_type="text/plain")


async def es_cluster_health(request: Request) -> Response:
    return Response(orjson.dumps({"cluster_name": "alco", "status": "green"}),
                    media_type="application/json")


routes = [
    Route("/api/{index}/ingest", ingest_lines, methods=["POST"]),
    Route("/_bulk", es_bulk, methods=["POST", "PUT"]),
    Route("/{target}/_bulk", es_bulk, methods=["POST", "PUT"]),
    Route("/_cat/health", es_health, methods=["GET", "HEAD"]),
    Route("/_cluster/health", es_cluster_health, methods=["GET", "HEAD"]),
    Route("/loki/api/v1/push", loki_push, methods=["POST"]),
    Route("/v1/logs", otlp_logs, methods=["POST"]),
    Route("/", es_root, methods=["GET", "HEAD"]),
]
