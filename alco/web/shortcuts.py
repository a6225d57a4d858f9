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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alco.catalog.shortcuts import SavedSearches
from alco.errors import BadInput, NotFound
from alco.web.credentials import may_use
from alco.web.page import shell
from alco.web.state import WebState

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SLOT = "{}"
MAX_QUERY = 2000
NEEDS_QUOTES = re.compile(r'[\s,:"]')
RESERVED = {"lines", "histogram", "columns", "export", "tail"}  # /api/<index>/<endpoint>


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


def store(request: Request) -> SavedSearches:
    """The saved searches (Redis errors are answered as 503 by alco.web.http_errors)."""
    state: WebState = request.app.state.alco
    return state.saved_searches


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


def readable(request: Request, shortcut: dict | None) -> dict | None:
    """The shortcut, if the credential may read its index (else as if there were none)."""
    if shortcut is None or not may_use(request, str(shortcut.get("index"))):
        return None
    return shortcut


async def list_shortcuts(request: Request) -> Response:
    saved = store(request).all()
    items = [{"name": k, **v} for k, v in sorted(saved.items()) if readable(request, v)]
    return JSONResponse({"shortcuts": items})


async def create_shortcut(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": "send the shortcut as application/json"},
                            status_code=415)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadInput("the body is not JSON") from None
    shortcut = validated(request.app.state.alco, body)
    if isinstance(shortcut, dict) and not readable(request, shortcut):
        shortcut = f"index: no index named {shortcut['index'][:64]!r}"
    elif isinstance(shortcut, dict):  # never over another team's shortcut
        kept = store(request).get(shortcut["name"])
        if kept is not None and not readable(request, kept):
            shortcut = "name: taken"
    if isinstance(shortcut, str):
        raise BadInput(shortcut)
    name = shortcut.pop("name")
    store(request).put(name, shortcut)
    return JSONResponse({"name": name, **shortcut}, status_code=201)


async def get_shortcut(request: Request) -> Response:
    name = request.path_params["name"]
    shortcut = readable(request, store(request).get(name))
    if shortcut is None:
        raise NotFound(f"no shortcut named {name[:64]!r}")
    query = fill(shortcut.get("query", ""), request.query_params.get("value", ""))
    return JSONResponse({"name": name, **shortcut, "q": query,
                         "url": page_url(shortcut["index"], query)})


async def delete_shortcut(request: Request) -> Response:
    name = request.path_params["name"]
    if not readable(request, store(request).get(name)) or not store(request).delete(name):
        raise NotFound(f"no shortcut named {name[:64]!r}")
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
