"""JSON endpoints: parse the request, call alco.index.search, shape the answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alco import metrics
from alco.config import IndexConfig
from alco.index import query as qlang
from alco.index.search import LineQuery, SearchError
from alco.index.sphinxql import SphinxError
from alco.web.state import WebState


class BadRequest(ValueError):
    pass


class NotFound(LookupError):
    pass


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def timed(endpoint: str) -> Callable:
    """Measure an endpoint and turn bad input into 400 and a down searchd into 503."""

    def wrap(fn: Callable) -> Callable:
        def handler(request: Request) -> Response:
            start = time.perf_counter()
            try:
                return fn(request, request.app.state.alco)
            except (BadRequest, SearchError) as exc:
                return error(400, str(exc))
            except NotFound as exc:
                return error(404, str(exc.args[0]))
            except SphinxError as exc:
                request.app.state.alco.sphinx().close()
                return error(503, f"search engine unavailable: {exc.args[-1]}")
            finally:
                metrics.SEARCH_SECONDS.labels(endpoint).observe(time.perf_counter() - start)

        handler.__name__ = fn.__name__
        return handler

    return wrap


def time_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        dt = qlang.parse_time(raw, datetime.now(UTC))
    except qlang.QueryError as exc:
        raise BadRequest(f"{name}: {exc}") from None
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def int_param(request: Request, name: str, default: int | None = None,
              lo: int = 0, hi: int = 2**64 - 1) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


def index_or_404(request: Request, state: WebState) -> IndexConfig:
    ix = state.index(request.path_params["index"])
    if ix is None:
        raise NotFound(f"no index named {request.path_params['index'][:64]!r}")
    return ix


def line_query(request: Request) -> LineQuery:
    return LineQuery(
        q=request.query_params.get("q", ""),
        from_us=time_param(request, "from"),
        to_us=time_param(request, "to"),
        after=int_param(request, "after"),
        before=int_param(request, "before"),
        limit=int_param(request, "limit", 100, 1, 1000) or 100,
        order=request.query_params.get("order", "desc"),
    )


@timed("indexes")
def indexes(request: Request, state: WebState) -> Response:
    searcher = state.searcher()
    since = (time.time_ns() // 1000) - 300 * 1_000_000
    out = []
    for ix in state.config.indexes:
        out.append({"name": ix.name, "last_5m": searcher.count(ix, since, None),
                    "retention_days": ix.retention_days})
    return JSONResponse({"indexes": out})


@timed("lines")
def lines(request: Request, state: WebState) -> Response:
    ix = index_or_404(request, state)
    page = state.searcher().lines(ix, line_query(request), state.known_fields(ix))
    return JSONResponse(page.as_json())


routes = [
    Route("/api/indexes", indexes),
    Route("/api/{index}/lines", lines),
]
