"""A shard's line service: the head of several machines fetches the shard's lines from it.

A shard ([sphinx] api_port) with ``[sphinx] lines_port`` keeps its lines' text in its own line
store (alco.index.sphinxconf.line_store); ``alco run`` serves that store here, on
``[sphinx] host:lines_port``, so the head reads a page's lines by a small fetch from the shard
that has them instead of a second copy (alco.linestore.remote is the head's side).  Two
endpoints, orjson both ways:

``POST /lines`` with ``{"index": name, "ids": [...], "days": [day index, ...]}`` (and
``"messages": true`` for all but the fields) answers the lines of ``ids`` the store holds, as
columns ``{"id": [...], "ts": [...], "msg": [...], "f": [...], "m": [...]}`` (time in µs,
message, fields, marks; ``f`` left out with ``messages``): what
``LineReader.fetch(name, ids, days)`` finds.

``GET /info?days=logs_20240101,...`` answers ``{"first_slot": n, "slots": {index: writers},
"layouts": {day: {"keeps_text": bool, "has_context": bool, ...} or null}}`` (the
fields of alco.index.schema.DayLayout): the writer slots of
this shard's ids (``first_slot`` up to ``first_slot + writers`` of each index) and, per day
index asked, what its searchd made it with (null: searchd has no such index).

Every request is bounded (MAX_IDS ids, MAX_DAYS days, MAX_BODY bytes) and bad input is a 4xx
saying what is wrong.  With ``[web] tokens`` set, a request needs one of them as
``Authorization: Bearer``; a token limited to some indexes (``tok=shop``) opens those only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hmac
import logging
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alco.config import Config, ConfigError, load, split_scope
from alco.index import sphinxql
from alco.index.schema import DayLayout
from alco.linestore.reading import LineReader
from alco.process.gctune import tune_for_reads

log = logging.getLogger("alco.linestore.service")
MAX_IDS = 2000  # ids of one POST /lines (the head sends more in several)
MAX_DAYS = 64  # day indexes of one request
MAX_BODY = 1 << 20  # bytes of a POST /lines body (2000 ids and 64 days take ~60 KB)
MAX_ID = (1 << 63) - 1
DAY_RE = re.compile(r"^([a-z][a-z0-9_]{0,31})_(\d{8})$")


class Refused(Exception):
    """A request answered with ``status`` and ``message`` (a 4xx, or a 503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Tokens:
    """``[web] tokens`` as (secret, indexes or None for all), compared in constant time."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.entries = [(secret.encode(), None if scope is None else frozenset(scope))
                        for secret, scope in map(split_scope, entries)]

    def scope(self, authorization: str) -> frozenset[str] | None:
        """The indexes the request's ``Authorization`` header opens (None: every index);
        Refused (401) without a configured token."""
        if not self.entries:
            return None
        scheme, _, given = authorization.partition(" ")
        raw = given.strip().encode()
        found: tuple[bool, frozenset[str] | None] = (False, None)
        for secret, indexes in self.entries:  # every entry compared, whichever matches
            if hmac.compare_digest(raw, secret) and not found[0]:
                found = (True, indexes)
        if scheme.lower() != "bearer" or not found[0]:
            raise Refused(401, "a bearer token of the shard's [web] tokens is required")
        return found[1]


class Service:
    """What the endpoints use: the config, the store's reader, the shard's own searchd."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.reader = LineReader(config.sphinx.data_dir)
        self.tokens = Tokens(config.web.tokens)
        self.slots = {ix.name: ix.writers for ix in config.indexes}
        self._sphinx = sphinxql.Sphinx(config.sphinx.host, config.sphinx.port)
        self._sphinx_lock = threading.Lock()

    def opened(self, request: Request, index: str | None = None) -> None:
        """Refused unless the request's token opens ``index`` (or, without one, anything);
        an index it does not open is answered as one that does not exist."""
        scope = self.tokens.scope(request.headers.get("authorization", ""))
        if index is not None and (index not in self.slots
                                  or (scope is not None and index not in scope)):
            raise Refused(404, f"no index {index!r} here")

    def day(self, name: str, index: str | None = None) -> str:
        """``name`` if it is a day index of a configured index (of ``index`` when given)."""
        m = DAY_RE.match(name) if isinstance(name, str) else None
        if m is None or m.group(1) not in self.slots or index not in (None, m.group(1)):
            raise Refused(400, f"{name!r} is not a day index (<index>_<YYYYMMDD>) of "
                               f"{index or 'a configured index'}")
        return name

    def layouts(self, days: list[str]) -> dict[str, dict[str, bool] | None]:
        """The DayLayout of each of ``days`` in this shard's searchd (None: it has no such
        index); Refused (503) when searchd does not answer."""
        out: dict[str, dict[str, bool] | None] = {}
        with self._sphinx_lock:
            for day in days:
                try:
                    found = DayLayout.of(sphinxql.describe(self._sphinx, day))
                except sphinxql.SphinxQueryError:
                    out[day] = None
                    continue
                except sphinxql.SphinxError as exc:
                    if any(t in exc.message.lower() for t in sphinxql.INDEX_MISSING):
                        out[day] = None
                        continue
                    raise Refused(503, f"the shard's searchd did not answer: {exc}") from exc
                # (a shard's days have no common values: alco.index.commonvalues)
                out[day] = {f.name: getattr(found, f.name) for f in dataclasses.fields(found)
                            if f.name != "common"}
        return out

    def lines(self, index: str, ids: list[int], days: list[str], messages: bool) -> bytes:
        """The columns of the lines of ``ids`` the store holds (in id order)."""
        if messages:
            briefs = self.reader.briefs(index, ids, days)
            order = sorted(briefs)
            got = [briefs[i] for i in order]
            return orjson.dumps({"id": order, "ts": [b.ts_us for b in got],
                                 "msg": [b.message for b in got], "m": [b.marks for b in got]})
        entries = self.reader.fetch(index, ids, days)
        order = sorted(entries)
        got = [entries[i] for i in order]
        return orjson.dumps({"id": order, "ts": [e.ts_us for e in got],
                             "msg": [e.message for e in got], "f": [e.fields for e in got],
                             "m": [e.marks for e in got]})

    def close(self) -> None:
        with self._sphinx_lock:
            self._sphinx.close()


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


def _refusal(exc: Refused) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return Response(orjson.dumps({"error": exc.message}), exc.status, headers,
                    media_type="application/json")


async def _body(request: Request) -> dict:
    """The request's JSON object, read up to MAX_BODY bytes."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise Refused(413, f"the body is over {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"the body is over {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body is not a JSON object")
    return body


def _ids(value: object) -> list[int]:
    if not isinstance(value, list):
        raise Refused(400, "ids: expected a list of line ids")
    if len(value) > MAX_IDS:
        raise Refused(413, f"ids: {len(value)} ids, at most {MAX_IDS} a request")
    if not all(type(i) is int and 0 <= i <= MAX_ID for i in value):
        raise Refused(400, "ids: every id is an integer 0..2^63-1")
    return value


def _days(value: object, service: Service, index: str | None = None) -> list[str]:
    if not isinstance(value, list):
        raise Refused(400, "days: expected a list of day index names")
    if len(value) > MAX_DAYS:
        raise Refused(413, f"days: {len(value)} day indexes, at most {MAX_DAYS} a request")
    return [service.day(d, index) for d in value]


def create_app(config: Config) -> Starlette:
    """The line service of the shard configured by ``config``."""
    service = Service(config)

    async def lines(request: Request) -> Response:
        try:
            service.opened(request)
            body = await _body(request)
            index = body.get("index")
            if not isinstance(index, str):
                raise Refused(400, "index: expected the name of an ALCO index")
            service.opened(request, index)
            ids = _ids(body.get("ids"))
            days = _days(body.get("days", []), service, index)
            data = await run_in_threadpool(service.lines, index, ids, days,
                                           body.get("messages") is True)
        except Refused as exc:
            return _refusal(exc)
        return Response(data, media_type="application/json")

    async def info(request: Request) -> Response:
        try:
            service.opened(request)
            asked = [d for d in request.query_params.get("days", "").split(",") if d]
            days = _days(asked, service)
            layouts = await run_in_threadpool(service.layouts, days) if days else {}
        except Refused as exc:
            return _refusal(exc)
        return _json({"first_slot": config.collector.first_slot, "slots": service.slots,
                      "layouts": layouts})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.close()

    return Starlette(routes=[Route("/lines", lines, methods=["POST"]),
                             Route("/info", info, methods=["GET"])], lifespan=lifespan)


def serve(config: Config, log_level: str = "info") -> int:
    """Serve the line service on ``[sphinx] host:lines_port`` until SIGTERM/SIGINT."""
    import uvicorn

    sx = config.sphinx
    if not (sx.api_port and sx.lines_port):
        log.error("the line service is a shard's: set [sphinx] api_port and lines_port")
        return 2
    server = uvicorn.Server(uvicorn.Config(create_app(config), host=sx.host, port=sx.lines_port,
                                           log_level=log_level, access_log=False))
    tune_for_reads()
    asyncio.run(server.serve())
    return 0 if server.started else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m alco.linestore.service [--config FILE] [--log-level L]`` (what ``alco run``
    starts on a shard)."""
    parser = argparse.ArgumentParser(prog="alco-lines", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=None)
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    try:
        config = load(args.config)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    return serve(config, args.log_level)


if __name__ == "__main__":
    raise SystemExit(main())
