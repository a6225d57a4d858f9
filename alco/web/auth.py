"""Optional bearer tokens / basic auth from the config.

When ``[web] tokens`` or ``[web] basic_auth`` are set, every request needs them except:
``/healthz``; ``/static/*`` (the page's code, no log data); and, when only tokens are set, the
HTML shell of the page (no log data either: the page asks for a token and sends it as a
``Bearer`` header with every API call).  With basic auth the shell is protected too, so the
browser prompts once and then sends the credentials with every request, SSE included.
A ``?token=`` query parameter is accepted everywhere because EventSource cannot send headers.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/healthz",)
OPEN_PREFIXES = ("/static/",)
DATA_PREFIXES = ("/api/", "/metrics")


def is_shell(path: str) -> bool:
    """Whether ``path`` is served the page's HTML shell (no data in it)."""
    return not path.startswith(DATA_PREFIXES) and not path.startswith(OPEN_PREFIXES)


def _matches(given: str, pool: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(given.encode(), p.encode()) for p in pool)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: tuple[str, ...], basic: tuple[str, ...]) -> None:
        self.app = app
        self.tokens = tokens
        self.basic = basic

    def allowed(self, headers: Headers, query_token: str | None) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _matches(value.strip(), self.tokens):
            return True
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(value, validate=True).decode()
            except (ValueError, binascii.Error, UnicodeDecodeError):
                given = ""
            if given and _matches(given, self.basic):
                return True
        return bool(query_token) and _matches(query_token, self.tokens)

    def is_open(self, path: str) -> bool:
        if not (self.tokens or self.basic):
            return True
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        return not self.basic and is_shell(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.allowed(request.headers, request.query_params.get("token")):
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.basic else {}
        await PlainTextResponse("authentication required", 401, headers=headers)(
            scope, receive, send)
