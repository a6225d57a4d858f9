"""Saved searches: ``/s/<name>/<value>`` and their management API.

A shortcut is ``{"index": ..., "query": ..., "description": ...}``; the query holds a ``{}`` slot
that the value fills (``request_id:{}`` + ``/s/req/abc`` -> ``request_id:abc``); without a slot
the value is appended as a word.  ``/s/...`` serves the page, which resolves the shortcut through
``GET /api/shortcuts/<name>?value=...`` (so it works with token auth) and shows the lines.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import orjson
import redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alco.stores.values import SavedSearches
from alco.web.page import shell
from alco.web.state import WebState

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SLOT = "{}"
MAX_QUERY = 2000
NEEDS_QUOTES = re.compile(r'[\s,:"]')
RESERVED = {"lines", "histogram", "columns", "export", "tail"}  # /api/<index>/<endpoint>


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def quoted(value: str) -> str:
    """A value as one query term: quoted when it holds spaces, commas or colons."""
    value = value.replace('"', " ").strip()
    return f'"{value}"' if NEEDS_QUOTES.search(value) else value


def fill(template: str, value: str) -> str:
    """The query of a shortcut with ``value`` in its slot (appended when there is none)."""
    if not value:
        return template.replace(SLOT, "").strip()
    if SLOT in template:
        return template.replace(SLOT, quoted(value))
    return f"{template} {quoted(value)}".strip()


def page_url(index: str, query: str) -> str:
    return f"/{quote(index, safe='')}?{urlencode({'q': query})}"


def store(state: WebState) -> SavedSearches:
    saved = getattr(state, "_saved_searches", None)
    if saved is None:
        saved = SavedSearches(state.config.redis.url, state.config.redis.prefix)
        state._saved_searches = saved  # type: ignore[attr-defined]
    return saved


def validated(state: WebState, body: object) -> dict | str:
    """The shortcut to store, or the message saying what is wrong with ``body``."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    name, index = body.get("name"), body.get("index")
    query, description = body.get("query", ""), body.get("description", "")
    if not isinstance(name, str) or not NAME_RE.match(name):
        return "name: 1-64 letters, digits, '_', '.', '-'"
    if name in RESERVED:
        return f"name: {name!r} is reserved"
    if not isinstance(index, str) or state.index(index) is None:
        return f"index: no index named {str(index)[:64]!r}"
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return f"query: a string of at most {MAX_QUERY} characters"
    if not isinstance(description, str) or len(description) > 200:
        return "description: a string of at most 200 characters"
    return {"name": name, "index": index, "query": query, "description": description}


def guarded(fn):  # noqa: ANN001, ANN201
    """Turn an unreachable Redis into 503."""

    async def handler(request: Request) -> Response:
        try:
            return await fn(request, request.app.state.alco)
        except redis.RedisError as exc:
            return error(503, f"redis unavailable: {exc}")

    handler.__name__ = fn.__name__
    return handler


@guarded
async def list_shortcuts(request: Request, state: WebState) -> Response:
    saved = store(state).all()
    items = [{"name": k, **v} for k, v in sorted(saved.items())]
    return JSONResponse({"shortcuts": items})


@guarded
async def create_shortcut(request: Request, state: WebState) -> Response:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return error(415, "send the shortcut as application/json")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error(400, "the body is not JSON")
    shortcut = validated(state, body)
    if isinstance(shortcut, str):
        return error(400, shortcut)
    name = shortcut.pop("name")
    store(state).put(name, shortcut)
    return JSONResponse({"name": name, **shortcut}, status_code=201)


@guarded
async def get_shortcut(request: Request, state: WebState) -> Response:
    name = request.path_params["name"]
    shortcut = store(state).get(name)
    if shortcut is None:
        return error(404, f"no shortcut named {name[:64]!r}")
    query = fill(shortcut.get("query", ""), request.query_params.get("value", ""))
    return JSONResponse({"name": name, **shortcut, "q": query,
                         "url": page_url(shortcut["index"], query)})


@guarded
async def delete_shortcut(request: Request, state: WebState) -> Response:
    name = request.path_params["name"]
    if not store(state).delete(name):
        return error(404, f"no shortcut named {name[:64]!r}")
    return Response(status_code=204)


routes = [
    Route("/api/shortcuts", list_shortcuts, methods=["GET"]),
    Route("/api/shortcuts", create_shortcut, methods=["POST"]),
    Route("/api/shortcuts/{name}", get_shortcut, methods=["GET"]),
    Route("/api/shortcuts/{name}", delete_shortcut, methods=["DELETE"]),
    Route("/s", shell),
    Route("/s/{name}", shell),
    Route("/s/{name}/{value:path}", shell),
]
