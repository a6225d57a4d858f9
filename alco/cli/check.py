"""``alco check``: does each server answer, and what to do if not."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from alco.config import EXCHANGE_TYPES, Config


class Failed(ConnectionError):
    """A server answered, or could not be asked, in a way the usual hint ("start it") does
    not fit: what happened and what to do instead."""

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.hint = hint


def _rabbitmq_refusal(exc: Exception, params: Any) -> Failed | None:
    """A broker that answered and refused: the login, or the vhost."""
    import pika.exceptions

    where = f"RabbitMQ at {params.host}:{params.port}"
    if isinstance(exc, pika.exceptions.ProbableAuthenticationError):
        return Failed(f"{where} refused the login of user {params.credentials.username!r}",
                      "fix the user and password in [rabbitmq] url "
                      "(`rabbitmqctl list_users`)")
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
        return Failed(f"{where} refused access to vhost {params.virtual_host!r}",
                      "fix the vhost in [rabbitmq] url (%2F is /) or grant access "
                      "(`rabbitmqctl set_permissions -p VHOST USER '.*' '.*' '.*'`)")
    return None


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
        refused = _rabbitmq_refusal(exc, params)
        if refused is not None:
            raise refused from None
        raise ConnectionError(f"no answer at {params.host}:{params.port} "
                              f"({type(exc).__name__} {exc})".replace(" )", ")")) from None
    conn.close()
    return f"answers at {params.host}:{params.port}"


def exchange_kind(conn: object, exchange: str) -> tuple[str, bool] | None:
    """The type and durability of an existing exchange, or None when it does not exist.

    AMQP has no call that reads them: a declaration with the same properties is a no-op and
    one with others is refused (406), so the answer is the first declaration accepted."""
    import pika.exceptions

    try:
        conn.channel().exchange_declare(exchange, passive=True)
    except pika.exceptions.ChannelClosedByBroker:
        return None
    for kind in EXCHANGE_TYPES:
        for durable in (False, True):
            try:
                conn.channel().exchange_declare(exchange, exchange_type=kind, durable=durable)
                return kind, durable
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != 406:
                    raise
    raise ConnectionError(f"exchange {exchange!r} exists with arguments ALCO does not know")


def _exchange(config: Config) -> tuple[str, bool]:
    """What to say of the exchange, and the durability the shippers must declare it with (as
    it is, or as ALCO will declare it)."""
    import pika

    rabbit = config.rabbitmq
    conn = pika.BlockingConnection(pika.URLParameters(rabbit.url))
    try:
        found = exchange_kind(conn, rabbit.exchange)
    finally:
        conn.close()
    wanted = f"{rabbit.exchange_type}, {_durability(rabbit.exchange_durable)}"
    if found is None:
        return (f"{rabbit.exchange!r} does not exist yet; ALCO will declare it {wanted}",
                rabbit.exchange_durable)
    kind, durable = found
    text = f"{rabbit.exchange!r} is {kind}, {_durability(durable)}"
    if (kind, durable) != (rabbit.exchange_type, rabbit.exchange_durable):
        text += (" (declared by another program; ALCO uses it as it is and never changes it; "
                 f"its config says {wanted})")
    return text, durable


def _durability(durable: bool) -> str:
    return "durable" if durable else "non-durable"


def shipper_settings(config: Config, durable: bool) -> list[str]:
    """What each shipper must be told to publish to this exchange as it is."""
    rabbit = config.rabbitmq
    ex, py = rabbit.exchange, "True" if durable else "False"
    return [
        f"logcollect:      default_config(broker_uri, exchange={ex!r}, durable={py})"
        + ("   (its default)" if not durable else ""),
        f"python-logstash: AMQPLogstashHandler(host, version=1, exchange={ex!r}, "
        f"exchange_type='topic', durable={py})" + ("   (its default)" if not durable else ""),
        f"syslog-ng:       amqp(exchange(\"{ex}\") exchange-type(\"topic\") ...)   "
        "(exchange-declare(no), its default)",
        f"ALCO handler:    AMQPHandler(url, exchange={ex!r}) (declares it "
        f"{'non-durable' if not durable else 'only if missing'}; uses an existing one as it is)",
    ]


def _redis(config: Config) -> str:
    from alco.catalog.reader import ValuesReader

    try:
        reader = ValuesReader(config.redis.url, config.redis.prefix)
    except ValueError as exc:  # redis-py reads the URL before it connects
        raise Failed(f"cannot read [redis] url {config.redis.url!r} ({exc})",
                     "fix [redis] url (redis://HOST:PORT/DB, rediss://, unix://)") from None
    if not reader.ping():
        raise ConnectionError(f"no answer to PING at {config.redis.url}")
    from alco.catalog.installs import shared_prefix

    shared = shared_prefix(config.redis.url, config.redis.prefix, config.sphinx.data_dir,
                           register=False)
    return f"answers at {config.redis.url}" + (f"; but {shared}" if shared else "")


def _searchd(config: Config) -> str:
    from alco.index.sphinxql import SPHINX_ERRORS, Sphinx

    sx = Sphinx(config.sphinx.host, config.sphinx.port, connect_timeout=3)
    try:
        n = len(sx.indexes())
    except SPHINX_ERRORS as exc:
        raise ConnectionError(f"no answer at {config.sphinx.host}:{config.sphinx.port} "
                              f"({exc.message})") from None
    finally:
        sx.close()
    return f"answers at {config.sphinx.host}:{config.sphinx.port} with {n} indexes"


def _disk(config: Config) -> str:
    """Whether the disk under data_dir has room for searchd's next write-outs."""
    from alco.index import diskspace
    from alco.index.sphinxql import Sphinx

    sx = Sphinx(config.sphinx.host, config.sphinx.port, connect_timeout=3)
    try:
        state = diskspace.measure(config, sx)
    finally:
        sx.close()
    if state is None:
        return f"{config.sphinx.data_dir} is not on this machine (not checked)"
    if state.full:
        raise ConnectionError(f"full: storing is paused, lines wait in RabbitMQ; "
                              f"{state.describe()}")
    return state.describe()


def _ids(config: Config) -> str:
    """Whether the day indexes since [sphinx] dense_ids_from hold ids of the form the map
    gives their day (an older version of ALCO, or a host with another dense_ids_from or
    slot_bits, writes another)."""
    from alco.index import ids
    from alco.index.daystore import id_form_problem
    from alco.index.schema import day_of_index
    from alco.index.sphinxql import Sphinx

    first = ids.dense_from_day()
    names = {ix.name for ix in config.indexes}
    sx = Sphinx(config.sphinx.host, config.sphinx.port, connect_timeout=3)
    try:
        days = [i for i in sx.indexes() if i.rsplit("_", 1)[0] in names
                and (day_of_index(i) or first) >= first]
        problems = [p for i in days if (p := id_form_problem(sx, i))]
    finally:
        sx.close()
    if problems:
        raise ConnectionError("; ".join(problems))
    narrow = "".join(f", {bits}-bit writer slots from {day}" for day, bits in ids.narrow_forms())
    return (f"dense from {first} ([sphinx] dense_ids_from){narrow}, {len(days)} day indexes "
            "since")


HINTS = {
    "disk": "free space under [sphinx] data_dir, or set [sphinx] max_disk (docs/ingest.md, "
            "When the disk fills)",
    "exchange": "see docs/sending.md: the shippers and ALCO must declare it alike",
    "ids": "writers do not write into such a day (its lines wait in RabbitMQ): see "
           "docs/ingest.md, Ids",
    "RabbitMQ": "start it (`rabbitmq-server -detached`) or fix [rabbitmq] url",
    "Redis": "start it (`redis-server --daemonize yes`) or fix [redis] url",
    "searchd": "start ALCO with `alco run` (managed searchd) or run searchd with the config "
               "from `alco sphinx-conf`; or fix [sphinx] host/port",
}


def run_checks(config: Config, out: Callable[[str], None] = print) -> int:
    failed: set[str] = set()
    shippers_durable: list[bool] = []  # the exchange's durability, once it was probed

    def exchange(config: Config) -> str:
        text, durable = _exchange(config)
        shippers_durable.append(durable)
        return text

    probes = (("RabbitMQ", _rabbitmq), ("exchange", exchange), ("Redis", _redis),
              ("searchd", _searchd), ("disk", _disk), ("ids", _ids))
    for name, probe in probes:
        if name == "exchange" and "RabbitMQ" in failed or name == "ids" and "searchd" in failed:
            continue  # nothing to say about the exchange of a broker that does not answer
        try:
            out(f"ok      {name}: {probe(config)}")
        except Exception as exc:  # every failure is reported, none is fatal to the check
            failed.add(name)
            detail = str(exc) if isinstance(exc, ConnectionError) and str(exc) else \
                f"{type(exc).__name__}: {exc or 'no answer'}"
            out(f"FAILED  {name}: {detail} -> {getattr(exc, 'hint', HINTS[name])}")
    if shippers_durable:
        out("shippers must declare the exchange as it is:")
        for line in shipper_settings(config, shippers_durable[0]):
            out(f"        {line}")
    return 1 if failed else 0
