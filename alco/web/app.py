"""Application factory: the Starlette app built from the config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alco.config import Config
from alco.web import api, facets_api, page, shortcuts, tickets
from alco.web.auth import AuthMiddleware
from alco.web.credentials import Credentials
from alco.web.http_errors import HANDLED, error_response
from alco.web.intake import routes as intake
from alco.web.state import WebState


def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


HSTS = "max-age=31536000"  # under TLS: browsers use https only for a year


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for k, v in page.SECURITY_HEADERS.items():
                    headers.append((k.lower().encode(), v.encode()))
                if self.hsts:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(config: Config, today: date | None = None) -> Starlette:
    """Build the web app for ``config`` (``today`` pins the clock for tests)."""
    routes = [Route("/metrics", metrics_endpoint), *intake.routes, *api.routes,
              *shortcuts.routes, *tickets.routes, *facets_api.routes, *page.routes]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.alco.warm_up()  # (in the background: the app answers at once)
        yield

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, hsts=config.web.tls),
            Middleware(AuthMiddleware, web=config.web),
        ],
        exception_handlers=dict.fromkeys(HANDLED, error_response),
    )
    app.state.alco = WebState(config, today)
    app.state.ticket_key = Credentials(config.web).signing_key()
    return app
