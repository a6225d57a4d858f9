"""``alco check``: does each server answer, and what to do if not."""

from __future__ import annotations

import logging
from collections.abc import Callable

from alco.config import Config


def _rabbitmq(config: Config) -> str:
    import pika
    import pika.exceptions

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # the failure is reported below
    params = pika.URLParameters(config.rabbitmq.url)
    params.socket_timeout = 3
    params.blocked_connection_timeout = 3
    params.connection_attempts = 1
    try:
        conn = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        raise ConnectionError(f"no answer at {params.host}:{params.port} "
                              f"({type(exc).__name__} {exc})".replace(" )", ")")) from None
    conn.close()
    return f"answers at {params.host}:{params.port}"


def _redis(config: Config) -> str:
    from alco.stores.values import ValuesReader

    if not ValuesReader(config.redis.url, config.redis.prefix).ping():
        raise ConnectionError(f"no answer to PING at {config.redis.url}")
    return f"answers at {config.redis.url}"


def _searchd(config: Config) -> str:
    from alco.index.sphinxql import Sphinx

    sx = Sphinx(config.sphinx.host, config.sphinx.port, connect_timeout=3)
    try:
        n = len(sx.indexes())
    except Exception as exc:
        raise ConnectionError(f"no answer at {config.sphinx.host}:{config.sphinx.port} "
                              f"({exc.args[-1] if exc.args else exc})") from None
    finally:
        sx.close()
    return f"answers at {config.sphinx.host}:{config.sphinx.port} with {n} indexes"


HINTS = {
    "RabbitMQ": "start it (`rabbitmq-server -detached`) or fix [rabbitmq] url",
    "Redis": "start it (`redis-server --daemonize yes`) or fix [redis] url",
    "searchd": "start ALCO with `alco run` (managed searchd) or run searchd with the config "
               "from `alco sphinx-conf`; or fix [sphinx] host/port",
}


def run_checks(config: Config, out: Callable[[str], None] = print) -> int:
    failed = 0
    for name, probe in (("RabbitMQ", _rabbitmq), ("Redis", _redis), ("searchd", _searchd)):
        try:
            out(f"ok      {name}: {probe(config)}")
        except Exception as exc:  # every failure is reported, none is fatal to the check
            failed += 1
            detail = str(exc) if isinstance(exc, ConnectionError) and str(exc) else \
                f"{type(exc).__name__}: {exc or 'no answer'}"
            out(f"FAILED  {name}: {detail} -> {HINTS[name]}")
    return 1 if failed else 0
