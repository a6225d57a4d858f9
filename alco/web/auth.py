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
endpoints (alco.web.credentials.may_use); ``/metrics`` (every index's rates) needs one that
opens every index.  Refusals are counted by reason (``alco_web_auth_failures``); an address
that keeps presenting wrong credentials is closed for a while (alco.web.throttle: 429).
"""

from __future__ import annotations

import base64
import binascii
import re

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alco import metrics
from alco.config import WebConfig
from alco.web import tickets
from alco.web.credentials import SCOPE_KEY, Credentials, Principal
from alco.web.throttle import Throttle

OPEN_PATHS = ("/healthz",)
OPEN_PREFIXES = ("/static/",)
DATA_PREFIXES = ("/api/", "/metrics")
INGEST_PREFIXES = ("/loki/", "/v1/logs")
TICKET_PATH = re.compile(r"^/api/([^/]+)/(tail|export)$")
TICKET_REFUSED = ("authentication required: the ticket has expired (tickets last a minute) "
                  "or is for another index or purpose")
THROTTLED = "too many failed authentications from this address: try again later"
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
        self.throttle = Throttle()

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
        request, path = Request(scope), scope["path"]
        if self.creds.guard_ingest and "token" in request.query_params:
            response = refusal("token_in_url", URL_TOKEN)
        elif self.is_open(path):  # (no data there, or nothing configured: every index)
            await self.app(scope, receive, send)
            return
        else:
            response = self.check(request, scope)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def check(self, request: Request, scope: Scope) -> Response | None:
        """None with the principal put into ``scope``, or the answer refusing the request."""
        address = request.client.host if request.client else ""
        presented = "authorization" in request.headers or "ticket" in request.query_params
        wait = self.throttle.wait(address) if presented else 0
        if wait:
            return refusal("throttled", THROTTLED, 429, {"Retry-After": str(wait)})
        found = self.principal(request, is_ingest(request.url.path))
        if found is None:
            return self.failed(request, address, presented)
        if request.url.path == "/metrics" and found.indexes is not None:
            return PlainTextResponse("/metrics needs a credential that opens every index", 403)
        scope[SCOPE_KEY] = found
        return None

    def failed(self, request: Request, address: str, presented: bool) -> Response:
        if presented:
            self.throttle.failed(address)
        headers = {"WWW-Authenticate": 'Basic realm="alco"'} if self.creds.basic else {}
        if "ticket" in request.query_params and "authorization" not in request.headers:
            return refusal("ticket", TICKET_REFUSED, 401, headers)
        return refusal("wrong" if presented else "missing", "authentication required", 401,
                       headers)


def refusal(reason: str, text: str, status: int = 401,
            headers: dict[str, str] | None = None) -> Response:
    """A refused authentication, counted by reason."""
    metrics.AUTH_FAILURES.labels(reason).inc()
    return PlainTextResponse(text, status, headers=headers)
