"""Optional bearer tokens / basic auth from the config.

When ``[web] tokens`` or ``[web] basic_auth`` are set, every request needs them except:
``/healthz``; ``/static/*`` (the page's code, no log data); and, when only tokens are set, the
HTML shell of the page (no log data either: the page asks for a token and sends it as a
``Bearer`` header with every API call).  With basic auth the shell is protected too, so the
browser prompts once and then sends the credentials with every request, SSE included.
A ``?token=`` query parameter is accepted everywhere because EventSource cannot send headers.

Ingest paths (HTTP ingest: ``/api/<index>/ingest``, ``/_bulk``, ``/<target>/_bulk``, Loki's
push, OTLP's ``/v1/logs``) need credentials as soon as any are configured, and take the
``[web] ingest_tokens`` too, which open nothing else.  Shippers that can only send basic auth
(rsyslog, Elasticsearch clients, Loki clients) may give a token as the password (any user
name); ``ApiKey <token>`` works as well.
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
INGEST_PREFIXES = ("/loki/", "/v1/logs")


def is_ingest(path: str) -> bool:
    """Whether ``path`` is an HTTP ingest endpoint."""
    return (path.startswith(INGEST_PREFIXES) or path.endswith("/_bulk")
            or (path.startswith("/api/") and path.endswith("/ingest")))


def is_shell(path: str) -> bool:
    """Whether ``path`` is served the page's HTML shell (no data in it)."""
    return (not path.startswith(DATA_PREFIXES) and not path.startswith(OPEN_PREFIXES)
            and not is_ingest(path))


def _matches(given: str, pool: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(given.encode(), p.encode()) for p in pool)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: tuple[str, ...], basic: tuple[str, ...],
                 ingest_tokens: tuple[str, ...] = ()) -> None:
        self.app = app
        self.tokens = tokens
        self.basic = basic
        self.ingest_tokens = ingest_tokens

    def allowed(self, headers: Headers, query_token: str | None, ingest: bool = False) -> bool:
        tokens = (*self.tokens, *self.ingest_tokens) if ingest else self.tokens
        scheme, _, value = headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme in ("bearer", "apikey") and _matches(value.strip(), tokens):
            return True
        if scheme == "basic":
            try:
                given = base64.b64decode(value, validate=True).decode()
            except (ValueError, binascii.Error, UnicodeDecodeError):
                given = ""
            if given and _matches(given, self.basic):
                return True
            password = given.partition(":")[2]
            if ingest and password and _matches(password, tokens):
                return True
        return bool(query_token) and _matches(query_token, tokens)

    def is_open(self, path: str) -> bool:
        if is_ingest(path):
            return not (self.tokens or self.basic or self.ingest_tokens)
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
        if self.allowed(request.headers, request.query_params.get("token"),
                        is_ingest(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.basic else {}
        await PlainTextResponse("authentication required", 401, headers=headers)(
            scope, receive, send)
