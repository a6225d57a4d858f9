"""Who a request is: the credentials of ``[web] tokens``, ``ingest_tokens`` and ``basic_auth``
and the indexes each may use.

An entry ending in ``=index1,index2`` (``"t-shop=shop"``, ``"ann:pw=shop,billing"``) opens those
indexes only (alco.config.split_scope); without it, every index.  The request's ``Principal``
is put into the ASGI scope by alco.web.auth; endpoints ask ``may_use(request, index)``.  An index
a principal may not use answers as an index that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from alco.config import WebConfig, split_scope

SCOPE_KEY = "alco.principal"


@dataclass(frozen=True)
class Principal:
    """Who is asking: ``name`` is what the audit trail shows (never a secret)."""

    name: str
    indexes: frozenset[str] | None = None  # None: every index
    ingest_only: bool = False

    def may(self, index: str) -> bool:
        return self.indexes is None or index in self.indexes


ANONYMOUS = Principal("anonymous")  # no credentials configured: everything is open


@dataclass(frozen=True)
class Credential:
    secret: bytes
    principal: Principal


def token_name(secret: str) -> str:
    """A token's name in the audit trail: the start of its SHA-256 (``sha256sum`` finds it)."""
    return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _credential(entry: str, basic: bool, ingest_only: bool) -> Credential:
    secret, indexes = split_scope(entry)
    name = "user:" + secret.partition(":")[0] if basic else token_name(secret)
    scope = None if indexes is None else frozenset(indexes)
    return Credential(secret.encode(), Principal(name, scope, ingest_only))


def _find(given: str, pool: tuple[Credential, ...]) -> Principal | None:
    raw = given.encode()
    found = None
    for cred in pool:  # every entry compared: the time says nothing about which matched
        if hmac.compare_digest(raw, cred.secret) and found is None:
            found = cred.principal
    return found


class Credentials:
    """The configured credentials, looked up in constant time per entry."""

    def __init__(self, web: WebConfig) -> None:
        self.tokens = tuple(_credential(e, False, False) for e in web.tokens)
        self.ingest = tuple(_credential(e, False, True) for e in web.ingest_tokens)
        self.basic = tuple(_credential(e, True, False) for e in web.basic_auth)

    @property
    def guard_reads(self) -> bool:
        return bool(self.tokens or self.basic)

    @property
    def guard_ingest(self) -> bool:
        return bool(self.tokens or self.basic or self.ingest)

    def token(self, given: str, ingest: bool) -> Principal | None:
        return _find(given, (*self.tokens, *self.ingest) if ingest else self.tokens)

    def user(self, user_password: str) -> Principal | None:
        return _find(user_password, self.basic)

    def named(self, name: str) -> Principal | None:
        """The principal of that name among the API's credentials (a ticket's owner)."""
        return next((c.principal for c in (*self.tokens, *self.basic)
                     if c.principal.name == name), None)

    def signing_key(self) -> bytes:
        """A key only the holder of every secret could compute: the same in every worker
        and after a restart, changed by any change of the credentials."""
        secrets = sorted(c.secret for c in (*self.tokens, *self.basic))
        return hashlib.sha256(b"alco tickets\0" + b"\0".join(secrets)).digest()


def principal_of(conn: HTTPConnection) -> Principal:
    """Who sent the request (alco.web.auth put it into the scope)."""
    return conn.scope.get(SCOPE_KEY, ANONYMOUS)


def may_use(conn: HTTPConnection, index: str) -> bool:
    """Whether the request's credential opens ``index``."""
    return principal_of(conn).may(index)
