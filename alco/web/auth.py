"""Optional bearer tokens / basic auth from the config (alco.web.credentials).

When ``[web] tokens`` or ``[web] basic_auth`` are set, every request needs them except:
``/healthz``; ``/static/*`` (the page's code, no log data); and, when only tokens are set, the
HTML shell of the page (no log data either: the page asks for a token and sends it as a
``Bearer`` header with every API call).  With basic auth the shell is protected too, so the
browser prompts once and then sends the credentials with every request, SSE included.

No long-lived secret in a URL: ``?token=`` is refused with a 401 saying why (it would be kept
in access logs, proxies and the browser's history).  The page's tail and export links carry a
one-minute ticket instead (alco.web.tickets), good for one index and one purpose.

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
import re

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from alco.config import WebConfig
from alco.web import tickets
from alco.web.credentials import SCOPE_KEY, Credentials, Principal

OPEN_PATHS = ("/healthz",)
OPEN_PREFIXES = ("/static/",)
DATA_PREFIXES = ("/api/", "/metrics")
INGEST_PREFIXES = ("/loki/", "/v1/logs")
TICKET_PATH = re.compile(r"^/api/([^/]+)/(tail|export)$")
TICKET_REFUSED = ("authentication required: the ticket has expired (tickets last a minute) "
                  "or is for another index or purpose")
URL_TOKEN = ("a token in the URL is refused: URLs are kept in access logs, proxies and the "
             "browser's history. Send it as 'Authorization: Bearer <token>' (the page asks "
             "for a one-minute ticket for the live tail and export links).")


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
        self.key = self.creds.signing_key()

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
        if found is None and "ticket" in request.query_params:
            found = self.ticket_holder(request)
        if found is not None and request.url.path == "/metrics" and found.indexes is not None:
            return None  # every index's rates: for credentials that open every index
        return found

    def ticket_holder(self, request: Request) -> Principal | None:
        """The principal of a valid ``?ticket=`` on the tail or export it was issued for,
        limited to that index."""
        m = TICKET_PATH.match(request.url.path)
        if m is None:
            return None
        index, purpose = m.group(1), m.group(2)
        name = tickets.verify(self.key, request.query_params["ticket"], index, purpose)
        owner = self.creds.named(name) if name else None
        if owner is None or not owner.may(index):
            return None
        return Principal(owner.name, frozenset({index}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.creds.guard_ingest and b"token=" in scope.get("query_string", b"") \
                and "token" in Request(scope).query_params:
            await PlainTextResponse(URL_TOKEN, 401)(scope, receive, send)
            return
        if self.is_open(path):  # (no data there, or nothing configured: every index)
            await self.app(scope, receive, send)
            return
        found = self.principal(Request(scope), is_ingest(path))
        if found is not None:
            scope[SCOPE_KEY] = found
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.creds.basic else {}
        why = TICKET_REFUSED if b"ticket=" in scope.get("query_string", b"") \
            else "authentication required"
        await PlainTextResponse(why, 401, headers=headers)(scope, receive, send)
