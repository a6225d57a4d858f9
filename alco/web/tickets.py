"""Short-lived tickets: what the page puts into a URL instead of a token.

A browser cannot put headers on an ``EventSource`` or a download link, and a long-lived token
in a URL ends up in access logs, proxies and the browser's history.  The page asks
``POST /api/<index>/ticket?for=tail|export`` (with its token in the header) and gets a ticket
bound to its credential's name, that one index and that one purpose, valid for TTL_S seconds
and signed with a key derived from all the configured secrets (alco.web.credentials): the same
in every worker, and void as soon as any credential changes.  alco.web.auth takes it as
``?ticket=`` on that index's tail or export only; a stream opened with it runs on after.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alco.errors import BadInput
from alco.web.api import index_or_404
from alco.web.credentials import principal_of

TTL_S = 60
PURPOSES = ("tail", "export")
clock = time.time  # (tests move it on)


@dataclass(frozen=True)
class Ticket:
    name: str  # the credential's name (alco.web.credentials.Principal.name)
    index: str
    purpose: str
    expires: int  # unix seconds


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _payload(t: Ticket) -> bytes:
    return "\n".join((t.name, t.index, t.purpose, str(t.expires))).encode()


def sign(key: bytes, ticket: Ticket) -> str:
    payload = _payload(ticket)
    return _b64(payload) + "." + _b64(hmac.new(key, payload, hashlib.sha256).digest())


def verify(key: bytes, text: str, index: str, purpose: str,
           now: float | None = None) -> str | None:
    """The credential's name if ``text`` is a valid ticket for ``index`` and ``purpose``
    that has not expired; else None."""
    body, _, mac = text.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
        name, ix, what, expires = payload.decode().split("\n")
        expiry = int(expires)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    good = hmac.compare_digest(given, hmac.new(key, payload, hashlib.sha256).digest())
    now = clock() if now is None else now
    if not good or ix != index or what != purpose or now >= expiry:
        return None
    return name


async def issue(request: Request) -> Response:
    """``POST /api/<index>/ticket?for=tail|export``: ``{"ticket", "expires_in"}``."""
    state = request.app.state.alco
    ix = index_or_404(request, state)
    purpose = request.query_params.get("for", "")
    if purpose not in PURPOSES:
        raise BadInput(f"for: one of {', '.join(PURPOSES)}")
    ticket = Ticket(principal_of(request).name, ix.name, purpose, int(clock()) + TTL_S)
    signed = sign(request.app.state.ticket_key, ticket)
    return JSONResponse({"ticket": signed, "expires_in": TTL_S},
                        headers={"Cache-Control": "no-store"})


routes = [Route("/api/{index}/ticket", issue, methods=["POST"])]
