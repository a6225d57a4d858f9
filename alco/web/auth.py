"""Optional bearer tokens / basic auth from the config (alco.web.credentials).

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

The request's ``Principal`` (who, and which indexes) goes into the ASGI scope for the
endpoints (alco.web.credentials.may_use).
"""

from __future__ import annotations

import base64
import binascii

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from alco.config import WebConfig
from alco.web.credentials import SCOPE_KEY, Credentials, Principal

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


def _basic(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return ""


def from_headers(creds: Credentials, headers: Headers, ingest: bool) -> Principal | None:
    """The principal of the request's ``Authorization`` header, if it names one."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "apikey"):
        return creds.token(value.strip(), ingest)
    if scheme != "basic":
        return None
    given = _basic(value)
    found = creds.user(given) if given else None
    password = given.partition(":")[2]
    if found is None and ingest and password:  # a shipper's token as the password
        found = creds.token(password, ingest)
    return found


class AuthMiddleware:
    def __init__(self, app: ASGIApp, web: WebConfig) -> None:
        self.app = app
        self.creds = Credentials(web)

    def is_open(self, path: str) -> bool:
        if is_ingest(path):
            return not self.creds.guard_ingest
        if not self.creds.guard_reads:
            return True
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        return not self.creds.basic and is_shell(path)

    def principal(self, request: Request, ingest: bool) -> Principal | None:
        found = from_headers(self.creds, request.headers, ingest)
        query_token = request.query_params.get("token")
        if found is None and query_token:
            found = self.creds.token(query_token, ingest)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.is_open(path):  # (no data there, or nothing configured: every index)
            await self.app(scope, receive, send)
            return
        found = self.principal(Request(scope), is_ingest(path))
        if found is not None:
            scope[SCOPE_KEY] = found
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.creds.basic else {}
        await PlainTextResponse("authentication required", 401, headers=headers)(
            scope, receive, send)
