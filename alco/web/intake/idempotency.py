"""A retried HTTP ingest request stores each of its lines once.

A 503 after part of a request was confirmed by RabbitMQ would make the client's retry publish
that part again.  So how many of a request's lines (per index) RabbitMQ confirmed is kept in
Redis, after every confirmed AMQP message, under the request's key, and a retry publishes only
the lines after them and answers as the first request would have:

* ``Idempotency-Key: <anything>`` from the client: kept IDEMPOTENCY_TTL_S, also once the whole
  request was published (a retry after a lost answer publishes nothing);
* no header: the SHA-256 of the body.  Two equal bodies may be two sets of lines (plain text
  takes its time from the arrival), so such a key is kept only while the request is partly
  published (RETRY_TTL_S) and forgotten once all of it was.

Redis not answering: the request is published whole (as without this module) and counted.
"""

from __future__ import annotations

import hashlib
import logging

import redis

log = logging.getLogger("alco.web.intake")
HEADER = "idempotency-key"
IDEMPOTENCY_TTL_S = 24 * 3600
RETRY_TTL_S = 3600


def request_key(prefix: str, api: str, index: str, header: str | None, body_sha: str) -> str:
    """The Redis key of a request's progress for one index."""
    if header:
        digest = hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()
        return f"{prefix}:INGEST:{api}:{index}:key:{digest}"
    return f"{prefix}:INGEST:{api}:{index}:body:{body_sha}"


def body_sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Progress:
    """How many lines of a request were confirmed, in Redis (best effort)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def done(self, key: str) -> int:
        """Lines of the request already published (0: none, or Redis does not answer)."""
        try:
            value = self.client.get(key)
        except redis.RedisError as exc:
            log.warning("idempotency: Redis does not answer (%s); publishing the request whole",
                        exc)
            return 0
        return int(value) if value else 0

    def record(self, key: str, done: int, total: int) -> None:
        """``done`` of ``total`` lines are published."""
        by_header = ":key:" in key
        try:
            if done >= total and not by_header:
                self.client.delete(key)
            else:
                self.client.set(key, done, ex=IDEMPOTENCY_TTL_S if by_header else RETRY_TTL_S)
        except redis.RedisError as exc:
            log.warning("idempotency: cannot keep the progress of a request (%s): a retry of "
                        "it may store its first %d lines twice", exc, done)
