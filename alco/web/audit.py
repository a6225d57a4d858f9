"""The audit trail: every read and export, logged once to the logger ``alco.audit``.

A record says who (the credential's name, never its secret: ``user:ann``,
``token:<start of its SHA-256>``, ``anonymous`` without auth), from where, which endpoint and
index, the query, how many rows the answer gave (lines; for counts, histograms and facets the
lines counted; entries for columns, values and the index list) and the outcome.  The fields
are the log record's attributes (``extra``), so a handler can ship them as fields (e.g. into
ALCO itself: ``[web] audit_routing_prefix``).  A request's record is emitted when its answer
is made; a stream's (export, live tail) when the stream ends, with the rows it sent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

from starlette.requests import Request

from alco.web.credentials import principal_of

log = logging.getLogger("alco.audit")
_current: ContextVar[Read | None] = ContextVar("alco_audit_read", default=None)


@dataclass
class Read:
    credential: str
    client: str
    endpoint: str
    index: str
    query: str
    rows: int = 0
    outcome: str = "ok"
    streamed: bool = False

    def add(self, rows: int) -> None:
        self.rows += rows


def ship_to(handler: logging.Handler) -> None:
    """Send the audit trail to ``handler`` too (``alco web`` gives it ALCO's own AMQP
    handler when ``[web] audit_routing_prefix`` is set)."""
    handler.setLevel(logging.INFO)
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def emit(read: Read) -> None:
    fields = asdict(read)
    del fields["streamed"]
    log.info("%s %s of %s by %s: %d rows (%s) q=%r", read.outcome, read.endpoint, read.index,
             read.credential, read.rows, read.client, read.query, extra=fields)


@contextmanager
def reading(request: Request, endpoint: str) -> Iterator[Read]:
    """The audit record of one request, emitted at the end (unless a stream took it)."""
    client = request.client.host if request.client else ""
    read = Read(principal_of(request).name, client, endpoint,
                request.path_params.get("index", "*"), request.query_params.get("q", ""))
    token = _current.set(read)
    try:
        yield read
    except Exception as exc:
        read.outcome = type(exc).__name__
        raise
    finally:
        _current.reset(token)
        if not read.streamed or read.outcome != "ok":
            emit(read)


def rows(n: int) -> None:
    """The number of rows of the answer being made."""
    read = _current.get()
    if read is not None:
        read.rows = n


def rows_in(body: dict) -> int:
    """How many rows a JSON answer holds (what the audit trail counts)."""
    if "lines" in body:
        return len(body["lines"])
    if "line" in body:  # a line's context
        return 1 + len(body.get("before", ())) + len(body.get("after", ()))
    for key in ("count", "total"):
        if isinstance(body.get(key), int):
            return body[key]
    return len(body.get("indexes", ()))


def stream_record() -> Read | None:
    """The request's record, to be emitted when its stream ends (``until_end``)."""
    read = _current.get()
    if read is not None:
        read.streamed = True
    return read


def until_end(chunks: Iterator[bytes], read: Read | None) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        if read is not None:
            emit(read)


async def until_end_async(events: AsyncIterator[bytes], read: Read | None,
                          ) -> AsyncIterator[bytes]:
    """A live tail's events, counting its lines, its record emitted when it ends."""
    try:
        async for event in events:
            if read is not None and event.startswith(b"event: line"):
                read.rows += 1
            yield event
    finally:
        if read is not None:
            emit(read)
