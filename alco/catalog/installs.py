"""Which ALCO installs use a Redis prefix: two on one prefix (``ALCO``, the default) mix their
field lists and values, and the second is told so when it starts.

``<prefix>:INSTALLS`` is a hash: an install (``host:data_dir``) -> when it last started (s).
An install that has not started for ``FORGET_S`` is forgotten.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import redis

from alco.catalog.keys import installs_key

FORGET_S = 30 * 86_400


def identity(data_dir: str) -> str:
    """This install: the host and its searchd data directory."""
    return f"{socket.gethostname()}:{Path(data_dir).resolve()}"


def others_on_prefix(url: str, prefix: str, me: str, register: bool = True,
                     now: float | None = None) -> list[str]:
    """The other installs that started under ``prefix`` in the last FORGET_S (oldest first),
    registering ``me`` (a collector starting; not ``alco check``); [] when Redis does not
    answer."""
    now = time.time() if now is None else now
    key = installs_key(prefix)
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                  decode_responses=True)
    try:
        seen = client.hgetall(key)
        if register:
            client.hset(key, me, int(now))
        stale = [name for name, at in seen.items() if now - float(at) > FORGET_S]
        if stale:
            client.hdel(key, *stale)
    except (redis.RedisError, ValueError):
        return []
    finally:
        client.close()
    return [name for name, at in sorted(seen.items(), key=lambda kv: float(kv[1]))
            if name != me and name not in stale]


def shared_prefix(url: str, prefix: str, data_dir: str, register: bool = True) -> str | None:
    """What to say when another install uses this prefix too; None when none does."""
    others = others_on_prefix(url, prefix, identity(data_dir), register)
    if not others:
        return None
    return (f"Redis prefix {prefix!r} is used by another ALCO too ({', '.join(others)}): "
            "their field lists, values and saved searches mix; give each its own "
            "[redis] prefix")
