"""Optional bearer tokens / basic auth from the config, on every route but /healthz."""

from __future__ import annotations

import base64
import hmac

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/healthz",)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: tuple[str, ...], basic: tuple[str, ...]) -> None:
        self.app = app
        self.tokens = tokens
        self.basic = basic

    def allowed(self, headers: Headers, query_token: str | None) -> bool:
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        candidates = []
        if scheme.lower() == "bearer":
            candidates.append(("token", value.strip()))
        elif scheme.lower() == "basic":
            try:
                candidates.append(("basic", base64.b64decode(value).decode()))
            except (ValueError, UnicodeDecodeError):
                return False
        if query_token:  # EventSource cannot send headers
            candidates.append(("token", query_token))
        for kind, given in candidates:
            pool = self.tokens if kind == "token" else self.basic
            if any(hmac.compare_digest(given.encode(), p.encode()) for p in pool):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or not (
                self.tokens or self.basic):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        if self.allowed(request.headers, request.query_params.get("token")):
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.basic else {}
        await PlainTextResponse("authentication required", 401, headers=headers)(
            scope, receive, send)
