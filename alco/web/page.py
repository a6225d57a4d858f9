"""The reading page: one static HTML shell plus ES modules and CSS, no build step."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from alco.web.state import REDIS_DOWN

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def shell(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def no_favicon(request: Request) -> Response:
    return Response(status_code=204)


def healthz(request: Request) -> Response:
    """``ok``; or, still 200 (reads go on), why storing is paused: ``disk full: ...``, or
    what is missing while Redis does not answer: ``ok, but Redis ...``."""
    from alco.index import diskspace

    state = getattr(request.app.state, "alco", None)
    disk = None if state is None else diskspace.measure(state.config, state.sphinx())
    if disk is not None and disk.full:
        return PlainTextResponse(f"disk full: storing paused, lines wait in RabbitMQ; "
                                 f"{disk.describe()}")
    if state is not None and not state.values.ping():
        return PlainTextResponse(f"ok, but {REDIS_DOWN}")
    return PlainTextResponse("ok")


routes = [
    Route("/healthz", healthz),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
    Route("/favicon.ico", no_favicon),
    Route("/", shell),
    Route("/{index}", shell),
]
