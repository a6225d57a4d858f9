"""Facet endpoints: the top values of a field for a query and range, and the histogram
stacked by a field's values (alco.search.facets)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alco.errors import BadInput
from alco.index.sphinxconf import retention_days
from alco.search import language as qlang
from alco.search.compile import SearchError, compile_query
from alco.search.facets import MAX_LIMIT, MAX_STACKED, Facets
from alco.search.histograms import bucket_us_for
from alco.web.api import answer, index_or_404, int_param, time_param, timed
from alco.web.present import iso_us
from alco.web.state import WebState

MAX_SYNONYMS = 3  # names a stacked histogram's field may have


def field_param(request: Request, known: set[str] | None) -> str:
    name = request.query_params.get("field", "")
    if not name:
        raise BadInput("field: which field to count, please")
    if known is not None and name not in known:
        raise BadInput(f"field: unknown field {name[:64]!r}")
    return name


def parsed_query(text: str, known: set[str] | None) -> qlang.Query:
    try:
        return qlang.parse(text, known)
    except qlang.QueryError as exc:
        raise SearchError(f"{exc} (at position {exc.position})",
                          position=exc.position) from None


def facets_of(state: WebState) -> Facets:
    return Facets(state.searcher())


@timed("facets")
def facets(request: Request, state: WebState) -> Response:
    """``{"field", "values": [{"value", "count"}], "total", "other", "distinct"}``: the top
    values among the lines matching ``q`` in [from, to], ``partial`` when the time budget
    cut the count (``searched_to``: how far back a pattern search read)."""
    ix = index_or_404(request, state)
    known = state.known_fields(ix)
    name = field_param(request, known)
    limit = int_param(request, "limit", 10, 1, MAX_LIMIT) or 10
    c = compile_query(ix, parsed_query(request.query_params.get("q", ""), known))
    from_us, to_us = time_param(request, "from"), time_param(request, "to")
    got = facets_of(state).top(ix, c, name, from_us, to_us, limit)
    shown = sum(n for _, n in got.values)
    return answer(state, "facets", {
        "field": name, "from": iso_us(from_us) if from_us is not None else None,
        "to": iso_us(to_us) if to_us is not None else None,
        "total": got.total, "distinct": got.distinct, "other": max(0, got.total - shown),
        "values": [{"value": v, "count": n} for v, n in got.values],
        "searched_to": iso_us(got.searched_to_us) if got.searched_to_us else None})


@timed("histogram_by")
def histogram_by(request: Request, state: WebState) -> Response:
    """/histogram's answer, each bucket with ``by``: the hits of each of the ``top`` most
    frequent values of ``field`` (``values``, most frequent first); the rest is ``count``
    less their sum.  ``field`` may name synonyms, comma-separated (``levelname,level``):
    their values count as one field's."""
    ix = index_or_404(request, state)
    known = state.known_fields(ix)
    names = tuple(dict.fromkeys(n for n in field_param(request, None).split(",") if n))
    if not 1 <= len(names) <= MAX_SYNONYMS:
        raise BadInput(f"field: one to {MAX_SYNONYMS} names, comma-separated")
    for name in names:
        if known is not None and name not in known:
            raise BadInput(f"field: unknown field {name[:64]!r}")
    parsed = parsed_query(request.query_params.get("q", ""), known)
    counter = facets_of(state)
    to_us = time_param(request, "to") or time.time_ns() // 1000
    first_day = retention_days(ix, counter.searcher.today())[0]
    from_us = time_param(request, "from") or int(
        datetime.combine(first_day, datetime.min.time(), UTC).timestamp()) * 1_000_000
    if from_us >= to_us:
        raise BadInput("from must be before to")
    buckets = int_param(request, "buckets", 60, 1, 1000) or 60
    top = int_param(request, "top", 6, 1, MAX_STACKED) or 6
    bucket_us = bucket_us_for(from_us, to_us, buckets)
    start_us = from_us - from_us % bucket_us
    got = counter.histogram_by(ix, parsed, names, from_us, to_us, bucket_us, top)
    return answer(state, "histogram_by", {
        "from": iso_us(from_us), "to": iso_us(to_us), "bucket_seconds": bucket_us / 1e6,
        "field": ",".join(names), "values": got.values, "totals": got.totals,
        "total": sum(got.counts.values()),
        "searched_to": iso_us(got.searched_to_us) if got.searched_to_us else None,
        "buckets": [{"ts": iso_us(t), "count": got.counts.get(t, 0), "by": got.by.get(t, {})}
                    for t in range(start_us, to_us + 1, bucket_us)]})


routes = [
    Route("/api/{index}/facets", facets),
    Route("/api/{index}/histogram_by", histogram_by),
]
