"""JSON endpoints: parse the request, call alco.search.reader, shape the answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from alco import metrics
from alco.catalog.stored import StoredSignal
from alco.config import IndexConfig
from alco.errors import BadInput, NotFound, Unavailable
from alco.index.schema import id_range_of_us
from alco.index.sphinxconf import retention_days
from alco.search import language as qlang
from alco.search.compile import compile_text
from alco.search.counting import MAX_COUNT
from alco.search.histograms import bucket_us_for
from alco.search.reader import LineQuery
from alco.web import audit
from alco.web.credentials import may_use
from alco.web.export import FORMATS, export_lines
from alco.web.present import context_json, iso_us, page_json
from alco.web.state import WebState
from alco.web.tail import newest_id, tail_events

MAX_ID = 2**63 - 1
DEFAULT_CAP = 10_000


def timed(endpoint: str) -> Callable:
    """Measure an endpoint (its errors are answered by alco.web.http_errors)."""

    def wrap(fn: Callable) -> Callable:
        def handler(request: Request) -> Response:
            start = time.perf_counter()
            request.app.state.alco.sphinx().take_warnings()  # none left from another request
            try:
                with audit.reading(request, endpoint):
                    return fn(request, request.app.state.alco)
            finally:
                metrics.SEARCH_SECONDS.labels(endpoint).observe(time.perf_counter() - start)

        handler.__name__ = fn.__name__
        return handler

    return wrap


def answer(state: WebState, endpoint: str, body: dict) -> Response:
    """``body`` as JSON (orjson: a page of 1000 lines in 0.2 ms, not 3), with the warnings of
    its queries: a shard that did not answer makes the answer partial, and the client must be
    able to tell."""
    body["warnings"] = state.sphinx().take_warnings()
    body["partial"] = bool(body["warnings"])  # a shard missing, or the time budget spent
    audit.rows(audit.rows_in(body))
    if body["warnings"]:
        metrics.SEARCH_PARTIAL.labels(endpoint).inc()
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
                    media_type="application/json")


def time_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        dt = qlang.parse_time(raw, datetime.now(UTC))
    except qlang.QueryError as exc:
        raise BadInput(f"{name}: {exc}") from None
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def int_param(request: Request, name: str, default: int | None = None,
              lo: int = 0, hi: int = 2**64 - 1) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw[:40]) if len(raw) <= 40 else int("not a number")
    except ValueError:
        raise BadInput(f"{name} must be an integer, got {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise BadInput(f"{name} must be between {lo} and {hi}")
    return value


def id_param(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) >= 2**63:
        raise BadInput(f"a line id is a positive 64-bit integer, got {raw[:40]!r}")
    return int(raw)


def fields_param(request: Request, name: str, known: set[str] | None) -> tuple[str, ...]:
    names = tuple(n for n in request.query_params.get(name, "").split(",") if n)
    for field in names:
        if known is not None and field not in known:
            raise BadInput(f"{name}: unknown field {field[:64]!r}")
    return names


def index_or_404(request: Request, state: WebState) -> IndexConfig:
    """The index of the path; one the credential may not read is as unknown as any other."""
    ix = state.index(request.path_params["index"])
    if ix is None or not may_use(request, ix.name):
        names = ", ".join(ix.name for ix in state.config.indexes if may_use(request, ix.name))
        raise NotFound(f"no index named {request.path_params['index'][:64]!r} "
                       f"(indexes: {names})")
    return ix


def line_query(request: Request) -> LineQuery:
    return LineQuery(
        q=request.query_params.get("q", ""),
        from_us=time_param(request, "from"),
        to_us=time_param(request, "to"),
        after=int_param(request, "after", None, 0, MAX_ID),
        before=int_param(request, "before", None, 0, MAX_ID),
        limit=int_param(request, "limit", 100, 1, 1000) or 100,
        order=request.query_params.get("order", "desc"),
    )


@timed("indexes")
def indexes(request: Request, state: WebState) -> Response:
    searcher = state.searcher()
    since = (time.time_ns() // 1000) - 300 * 1_000_000
    out = []
    for ix in (ix for ix in state.config.indexes if may_use(request, ix.name)):
        out.append({"name": ix.name, "last_5m": searcher.count(ix, since, None),
                    "retention_days": ix.retention_days})
    return answer(state, "indexes", {"indexes": out})


@timed("lines")
def lines(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    page = state.searcher().lines(ix, line_query(request), state.known_fields(ix))
    return answer(state, "lines", page_json(page))


@timed("context")
def context(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    doc_id = id_param(request.path_params["id"])
    same = fields_param(request, "same", state.known_fields(ix))
    found = state.searcher().context(
        ix, doc_id, int_param(request, "before", 10, 0, 1000) or 0,
        int_param(request, "after", 10, 0, 1000) or 0, same)
    if found is None:
        raise NotFound(f"no line {doc_id} in {ix.name}")
    return answer(state, "context", context_json(found))


@timed("histogram")
def histogram(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    c = compile_text(ix, request.query_params.get("q", ""), state.known_fields(ix))
    searcher = state.searcher()
    to_us = time_param(request, "to") or time.time_ns() // 1000
    first_day = retention_days(ix, searcher.today())[0]
    from_us = time_param(request, "from") or int(
        datetime.combine(first_day, datetime.min.time(), UTC).timestamp()) * 1_000_000
    if from_us >= to_us:
        raise BadInput("from must be before to")
    buckets = int_param(request, "buckets", 60, 1, 1000) or 60
    bucket_us = bucket_us_for(from_us, to_us, buckets)
    start_us = from_us - from_us % bucket_us
    counts = searcher.histogram(ix, c, from_us, to_us, bucket_us)
    return answer(state, "histogram", {
        "from": iso_us(from_us), "to": iso_us(to_us), "bucket_seconds": bucket_us / 1e6,
        "total": sum(counts.values()),
        "buckets": [{"ts": iso_us(t), "count": counts.get(t, 0)}
                    for t in range(start_us, to_us + 1, bucket_us)]})


@timed("count")
def count(request: Request, state: WebState) -> Response:
    """Lines matching ``q`` in the range (``after``/``before`` ids excluded, like /lines):
    exact for what the index answers alone; a query with patterns is counted by reading, up
    to ``cap`` (``capped``) and within the time budget (``partial``)."""
    ix = index_or_404(request, state)
    lq = line_query(request)
    cap = int_param(request, "cap", DEFAULT_CAP, 1, MAX_COUNT) or DEFAULT_CAP
    c = compile_text(ix, lq.q, state.known_fields(ix))
    lo, hi = id_range_of_us(lq.from_us, lq.to_us)
    if lq.after is not None:
        lo = max(lo, lq.after + 1)
    if lq.before is not None:
        hi = min(hi, lq.before - 1)
    searcher = state.searcher()
    searcher.start_request()
    if c.checks:
        n, capped, _ = searcher.count_checked(ix, c, lo, hi, cap)
    else:
        n, capped = searcher.count_ids(ix, c, lo, hi), False
    return answer(state, "count", {"count": n, "capped": capped})


@timed("columns")
def columns(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    seen = state.values.columns(ix.name)
    if seen is None:
        raise Unavailable("the seen columns are unknown", service="redis")
    names = sorted((set(seen) | set(ix.columns)) - set(ix.columns_with("excluded")))
    audit.rows(len(names))
    return JSONResponse({"columns": [
        {"name": n, "role": ix.columns.get(n, "display"),
         "first_seen": iso_us(seen[n] * 1_000_000) if n in seen else None} for n in names]})


@timed("values")
def values(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    name = request.path_params["field"]
    if len(name) > 64:
        raise BadInput("field name too long")
    found = state.values.values(ix.name, name, int_param(request, "limit", 100, 1, 1000) or 100,
                                request.query_params.get("prefix", "")[:256])
    if found is None:
        raise Unavailable("the values are unknown", service="redis")
    audit.rows(len(found))
    return JSONResponse({"field": name, "role": ix.columns.get(name, "display"), "values": [
        {"value": v, "last_seen": iso_us(int(s) * 1_000_000)} for v, s in found]})


@timed("export")
def export(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    fmt = request.query_params.get("format", "ndjson")
    if fmt not in FORMATS:
        raise BadInput(f"format must be one of {', '.join(FORMATS)}")
    lq = line_query(request)
    known = state.known_fields(ix)
    compile_text(ix, lq.q, known)  # a bad query is a 400 before the stream starts
    headers = {"Content-Disposition": f'attachment; filename="{ix.name}.{fmt}"'}
    read = audit.stream_record()
    lines = export_lines(state.own_searcher, ix, lq, known, fmt, read.add if read else None)
    return StreamingResponse(audit.until_end(lines, read), media_type=FORMATS[fmt],
                             headers=headers)


@timed("tail")
def tail(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    c = compile_text(ix, request.query_params.get("q", ""), state.known_fields(ix))
    start = int_param(request, "after", None, 0, MAX_ID)
    cursor = newest_id(state.searcher(), ix) if start is None else start
    wake = StoredSignal(state.config.redis.url, state.config.redis.prefix, ix.name)
    events = tail_events(state.own_searcher, ix, c, cursor, late_source=state.values,
                         wake=wake)
    return StreamingResponse(audit.until_end_async(events, audit.stream_record()),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [
    Route("/api/indexes", indexes),
    Route("/api/{index}/lines", lines),
    Route("/api/{index}/context/{id}", context),
    Route("/api/{index}/histogram", histogram),
    Route("/api/{index}/count", count),
    Route("/api/{index}/columns", columns),
    Route("/api/{index}/values/{field}", values),
    Route("/api/{index}/export", export),
    Route("/api/{index}/tail", tail),
]
