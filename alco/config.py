"""ALCO configuration: one TOML file read once into frozen dataclasses.

Order of precedence: defaults < TOML file < environment (``ALCO_<SECTION>_<KEY>``).
This is the only module that reads the environment for settings.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMN_ROLES = ("filtered", "display", "context", "indexed", "excluded")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_CONFIG_PATHS = ("alco.toml",)
SIZE_RE = re.compile(r"^\s*\d+(\.\d+)?\s*([kmgtKMGT]i?[bB]?|%)?\s*$")  # of a disk


class ConfigError(ValueError):
    """A setting is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class RabbitMQConfig:
    url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    exchange: str = "logstash"
    # How ALCO declares the exchange when it does not exist yet: as the shippers' own defaults
    # declare it (logcollect, python-logstash: a non-durable topic exchange).  An existing
    # exchange is never changed.
    exchange_type: str = "topic"
    exchange_durable: bool = False
    prefetch: int = 6000  # 3 batches in flight per consumer: writers never wait
    heartbeat: int = 30


@dataclass(frozen=True)
class RedisConfig:
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "ALCO"


@dataclass(frozen=True)
class SphinxConfig:
    host: str = "127.0.0.1"
    port: int = 9306
    managed: bool = True
    data_dir: str = "var/sphinx"
    binlog: bool = True
    searchd: str = "searchd"
    # scale-out: "host:port" API listeners of shard searchds; the day indexes become
    # distributed indexes over them (alco/index/sphinxconf.py)
    agents: tuple[str, ...] = ()
    api_port: int = 0  # also listen with the native API protocol here (a shard for agents)
    agent_connect_timeout: float = 1.0  # seconds a shard may take to accept a head's query
    agent_query_timeout: float = 30.0  # seconds a shard may take to answer it
    # the line service of a shard (alco.linestore.service): a shard (api_port set) with
    # lines_port keeps its lines' text in its line store and serves them there, on
    # host:lines_port, to the head (without it the text stays in searchd's logline
    # attribute, read through the agents).  A head (agents set) finds each agent's line
    # service at the agent's host and lines_port, or at agent_lines: "host:port" per agent,
    # in the order of agents (several shards on one host need ports of their own).
    lines_port: int = 0
    agent_lines: tuple[str, ...] = ()
    # compaction of past days (alco/index/compaction.py): in this UTC hour (-1: never) each
    # day before today gets its RAM chunk flushed and its disk chunks merged into one
    compact_hour: int = 3
    compact_timeout: float = 3600.0  # seconds one day's merge may take before it is left
    # the disk under data_dir (alco/index/diskspace.py, retention.py): bytes, "64M", "2G" or
    # "5%" of the filesystem.  Storing pauses while less than the RAM chunks' write-outs plus
    # min_free is free; past max_disk ("": no limit) the oldest days are dropped
    min_free: str = "128M"
    max_disk: str = ""
    # the first UTC day whose lines get dense ids (alco/index/ids.py): the same in every
    # process and host of a deployment; a later day when upgrading from a version before them
    dense_ids_from: str = "2026-12-06"
    # "DAY:BITS": from each UTC day on, the ids' writer slots have that many bits, 0-6:
    # 2 ** BITS writer slots for the whole deployment (every index's [collector] first_slot
    # + writers, on every shard), each bit 1-2 B a line of disk (alco/index/ids.py,
    # docs/ingest.md "Ids").  The same in every process and host; more slots later: a new
    # entry from a day no line has reached yet
    slot_bits: tuple[str, ...] = ("2026-12-08:2",)
    # a new day's common values (alco/index/commonvalues.py): a ``filtered`` column's value
    # on at least this share of the lines of the index's busiest day gets no tag token, its
    # lines are found by their value hash (0: every value keeps its tag token)
    common_share: float = 0.1

    @property
    def dense_from(self) -> date:
        return date.fromisoformat(self.dense_ids_from)

    @property
    def narrow_forms(self) -> list[tuple[date, int]]:
        """``slot_bits`` as (day, bits), in order."""
        return [(date.fromisoformat(day), int(bits))
                for day, _, bits in (entry.partition(":") for entry in self.slot_bits)]

    @property
    def slots(self) -> int:
        """How many writer slots ids have from the last ``slot_bits`` day on."""
        forms = self.narrow_forms
        return 1 << (forms[-1][1] if forms else 6)


@dataclass(frozen=True)
class WebConfig:
    bind: str = "127.0.0.1:8000"
    tokens: tuple[str, ...] = ()
    basic_auth: tuple[str, ...] = ()  # "user:password" entries
    url: str = ""  # where `alco grep` finds the API; default derived from bind
    time_budget: float = 10.0  # seconds a search request may read; past it: a partial answer
    # HTTP ingest (alco/web/intake): tokens that may only send lines (the API's tokens and
    # basic_auth may too); the body limit (compressed and decompressed); where Elasticsearch
    # bulk documents for an unknown target go ("": the first index); Retry-After of a 503.
    ingest_tokens: tuple[str, ...] = ()
    ingest_max_bytes: int = 32 * 1024 * 1024
    ingest_default_index: str = ""
    ingest_retry_after: int = 5
    ingest_publishers: int = 4  # threads (each with its RabbitMQ connection) publishing
    # TLS without a proxy (uvicorn's own): PEM files of the certificate (chain) and its key
    tls_cert: str = ""
    tls_key: str = ""
    # the audit trail (logger alco.audit) also published to [rabbitmq] exchange with the
    # routing key "<audit_routing_prefix>.alco.audit" ("": only the web app's own log)
    audit_routing_prefix: str = ""

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def host(self) -> str:
        return self.bind.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.bind.rsplit(":", 1)[1])

    @property
    def api_url(self) -> str:
        return self.url or f"{'https' if self.tls else 'http'}://{self.bind}"

    @property
    def first_token(self) -> str | None:
        """The secret of the first of ``tokens`` (what `alco grep` sends by default)."""
        return split_scope(self.tokens[0])[0] if self.tokens else None

    @property
    def first_basic(self) -> str | None:
        """``user:password`` of the first of ``basic_auth``."""
        return split_scope(self.basic_auth[0])[0] if self.basic_auth else None


CREDENTIAL_KEYS = ("tokens", "ingest_tokens", "basic_auth")
SCOPE_RE = re.compile(r"=([a-z][a-z0-9_]{0,31}(?:,[a-z][a-z0-9_]{0,31})*)$")


def split_scope(entry: str) -> tuple[str, tuple[str, ...] | None]:
    """A credential of ``[web] tokens``, ``ingest_tokens`` or ``basic_auth`` as (secret,
    indexes): an entry ending in ``=index1,index2`` opens those indexes only; ``None``: all."""
    m = SCOPE_RE.search(entry)
    if m is None or m.start() == 0:
        return entry, None
    return entry[:m.start()], tuple(m.group(1).split(","))


def _regrouped(entries: tuple[str, ...], names: set[str]) -> tuple[str, ...]:
    """``ALCO_WEB_TOKENS="t-all,t-shop=shop,billing"`` split at every comma: an index name
    after a limited entry is one more index of that entry."""
    out: list[str] = []
    for entry in entries:
        if out and entry in names and split_scope(out[-1])[1] is not None:
            out[-1] += "," + entry
        else:
            out.append(entry)
    return tuple(out)


def _checked_web(web: WebConfig, env_keys: set[str], names: set[str],
                 source: str) -> WebConfig:
    """[web] with the credentials from the environment regrouped and every limit checked
    (errors name the key and the entry's position, never the secret)."""
    changes = {k: _regrouped(getattr(web, k), names) for k in CREDENTIAL_KEYS if k in env_keys}
    web = dataclasses.replace(web, **changes)
    for key in CREDENTIAL_KEYS:
        for n, entry in enumerate(getattr(web, key), 1):
            secret, indexes = split_scope(entry)
            unknown = sorted(set(indexes or ()) - names)
            if unknown or not secret:
                raise ConfigError(f"{source}: web.{key}: entry {n} is limited to "
                                  f"{', '.join(unknown) or 'nothing'}, not an index "
                                  "(an entry ending in =name,... opens only those indexes)")
            if key == "basic_auth" and ":" not in secret:
                raise ConfigError(f"{source}: web.basic_auth: entry {n} is not user:password")
    if bool(web.tls_cert) != bool(web.tls_key):
        raise ConfigError(f"{source}: web.tls_cert and web.tls_key go together")
    return web


@dataclass(frozen=True)
class CollectorConfig:
    metrics_bind: str = "127.0.0.1:9108"
    shutdown_grace: float = 30.0
    metrics_dir: str = "var/metrics"
    max_message_bytes: int = 256 * 1024
    max_fields: int = 200
    max_depth: int = 10
    max_field_bytes: int = 64 * 1024
    first_slot: int = 0  # id slot of writer 0; shards of one distributed index need own slots


@dataclass(frozen=True)
class IndexConfig:
    name: str = "logs"
    # logcollect sends "logstash.<logger>", python-logstash "" (its default routing key)
    routing_keys: tuple[str, ...] = ("logstash", "logstash.#", "")
    retention_days: int = 30
    consumers: int = 1
    writers: int = 1
    batch_size: int = 2000
    batch_ms: int = 200
    durable: bool = True
    queue: str = ""  # default: "alco.<name>"
    queue_type: str = "classic"  # or "quorum": RabbitMQ's replicated queue type
    naive_time_is_local: bool = False  # logcollect writes local time with a literal Z
    # infixes (of 3 characters and more) in new day indexes: 'ayment' looks up *ayment*;
    # false: prefixes only ('ayment 42' looks up 42*; a piece inside a word is scanned for),
    # whose dictionary takes searchd a fifth of the memory and no more to write
    infixes: bool = True
    # the disk chunks' attributes, strings and JSON as file-backed mmap (page cache the
    # kernel can reclaim) instead of searchd's shared memory: RAM becomes a cache
    ondisk_attrs: bool = True
    # the line text of new day indexes in the compressed line store beside searchd (under
    # [sphinx] data_dir) instead of a string attribute of searchd's (alco.linestore); a shard
    # of a distributed index ([sphinx] api_port set) keeps it in searchd
    line_store: bool = True
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def queue_name(self) -> str:
        return self.queue or f"alco.{self.name}"

    @property
    def ingest_routing_key(self) -> str:
        """The key HTTP ingest publishes this index's lines with (its queue binds it too)."""
        return f"alco.ingest.{self.name}"

    def columns_with(self, role: str) -> tuple[str, ...]:
        return tuple(sorted(c for c, r in self.columns.items() if r == role))


DEFAULT_COLUMNS = {
    "levelname": "filtered",
    "level": "filtered",
    "host": "filtered",
    "logger": "filtered",
    "logger_name": "filtered",
    "application": "filtered",
    "project": "filtered",
    # the context of a line from the same process (same=host,process) is then a tag lookup
    "process": "filtered",
    "exc_info": "context",
    "stack_trace": "context",
}


@dataclass(frozen=True)
class Config:
    rabbitmq: RabbitMQConfig = field(default_factory=RabbitMQConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    sphinx: SphinxConfig = field(default_factory=SphinxConfig)
    web: WebConfig = field(default_factory=WebConfig)
    collector: CollectorConfig = field(default_factory=CollectorConfig)
    indexes: tuple[IndexConfig, ...] = field(
        default_factory=lambda: (IndexConfig(columns=dict(DEFAULT_COLUMNS)),)
    )
    source: str = "<defaults>"

    def index(self, name: str) -> IndexConfig:
        for ix in self.indexes:
            if ix.name == name:
                return ix
        raise KeyError(name)


QUEUE_TYPES = ("classic", "quorum")
EXCHANGE_TYPES = ("topic", "direct", "fanout", "headers")

SECTIONS: dict[str, type] = {
    "rabbitmq": RabbitMQConfig,
    "redis": RedisConfig,
    "sphinx": SphinxConfig,
    "web": WebConfig,
    "collector": CollectorConfig,
}


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Convert a TOML or environment value to the type of the default."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false",
                                                         "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
        f = known[key]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kwargs[key] = _coerce(value, default, f"{where}.{key}")
    return cls(**kwargs)


def _build_index(data: dict[str, Any], where: str) -> IndexConfig:
    data = dict(data)
    columns = data.pop("columns", None)
    ix = _build(IndexConfig, data, where)
    if not NAME_RE.match(ix.name):
        raise ConfigError(f"{where}.name: {ix.name!r} must match {NAME_RE.pattern}")
    cols = dict(DEFAULT_COLUMNS) if columns is None else {}
    if columns is not None:
        if not isinstance(columns, dict):
            raise ConfigError(f"{where}.columns: expected a table of column = role")
        for col, role in columns.items():
            if role not in COLUMN_ROLES:
                raise ConfigError(
                    f"{where}.columns.{col}: role {role!r} is not one of {', '.join(COLUMN_ROLES)}"
                )
            if not re.match(r"^[A-Za-z_@][A-Za-z0-9_.@-]{0,63}$", col):
                raise ConfigError(f"{where}.columns: bad column name {col!r}")
            cols[col] = role
    for key in ("consumers", "writers", "batch_size", "batch_ms", "retention_days"):
        if getattr(ix, key) < 1:
            raise ConfigError(f"{where}.{key}: must be at least 1")
    if ix.writers > 64:
        raise ConfigError(f"{where}.writers: at most 64 writers per index")

    if ix.queue_type not in QUEUE_TYPES:
        raise ConfigError(f"{where}.queue_type: {ix.queue_type!r} is not one of "
                          f"{', '.join(QUEUE_TYPES)}")
    if ix.queue_type == "quorum" and not ix.durable:
        raise ConfigError(f"{where}.durable: a quorum queue is always durable; "
                          "remove durable = false")
    return dataclasses.replace(ix, columns=cols)


def _env_overrides(env: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith("ALCO_"):
            continue
        rest = name[5:].lower()
        for section in SECTIONS:
            if rest.startswith(section + "_"):
                out.setdefault(section, {})[rest[len(section) + 1:]] = value
    return out


def _check_env(overrides: dict[str, dict[str, str]]) -> None:
    """Each override names a key of its section with a value of its type; else the error
    names the variable (``ALCO_WEB_BNID``), not a key of a file that never had it."""
    for section, values in overrides.items():
        fields = {f.name: f for f in dataclasses.fields(SECTIONS[section])}
        for key, value in values.items():
            var = f"ALCO_{section.upper()}_{key.upper()}"
            if key not in fields:
                raise ConfigError(f"environment variable {var}: [{section}] has no key "
                                  f"{key!r} (known: {', '.join(fields)})")
            f = fields[key]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            _coerce(value, default, f"environment variable {var} ({section}.{key})")


HOST_PORT_RE = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")


def _check_lines(sx: SphinxConfig, source: str) -> None:
    """[sphinx] lines_port and agent_lines: a shard's or a head's, each a usable address."""
    if not 0 <= sx.lines_port <= 65535:
        raise ConfigError(f"{source}: sphinx.lines_port: a port 1-65535, or 0 for none")
    if sx.lines_port and not (sx.api_port or sx.agents):
        raise ConfigError(f"{source}: sphinx.lines_port: only a shard (sphinx.api_port set) "
                          "serves its lines, and only a head (sphinx.agents set) asks for them")
    if sx.lines_port and sx.lines_port in (sx.port, sx.api_port):
        raise ConfigError(f"{source}: sphinx.lines_port: {sx.lines_port} is already "
                          "sphinx.port or sphinx.api_port; give the line service its own")
    if sx.agent_lines and len(sx.agent_lines) != len(sx.agents):
        raise ConfigError(f"{source}: sphinx.agent_lines: one \"host:port\" per agent, in the "
                          f"order of sphinx.agents ({len(sx.agents)}), got "
                          f"{len(sx.agent_lines)}")
    for entry in sx.agent_lines:
        if not HOST_PORT_RE.match(entry) or not 0 < int(entry.rsplit(":", 1)[1]) < 65536:
            raise ConfigError(f"{source}: sphinx.agent_lines: {entry!r} is not host:port")


def _check_id_forms(sx: SphinxConfig, source: str) -> None:
    """[sphinx] dense_ids_from (a date) and slot_bits ("DAY:BITS" entries, from the dense
    day on, in order, 0-6 bits)."""
    try:
        date.fromisoformat(sx.dense_ids_from)
    except ValueError:
        raise ConfigError(f"{source}: sphinx.dense_ids_from: {sx.dense_ids_from!r} is not a "
                          "date (YYYY-MM-DD)") from None
    for entry in sx.slot_bits:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}:[0-6]", entry):
            raise ConfigError(f"{source}: sphinx.slot_bits: {entry!r} is not \"YYYY-MM-DD:BITS\""
                              " (the day from which writer slots have BITS bits, 0-6)")
    try:
        days = [day for day, _ in sx.narrow_forms]
    except ValueError:
        raise ConfigError(f"{source}: sphinx.slot_bits: {', '.join(sx.slot_bits)}: not a "
                          "date") from None
    if days != sorted(days) or (days and days[0] < sx.dense_from):
        raise ConfigError(f"{source}: sphinx.slot_bits: the days must be in order and not "
                          f"before sphinx.dense_ids_from ({sx.dense_ids_from})")


def _check_slots(config: Config, today: date | None = None) -> None:
    """Every writer slot of the host (``[collector] first_slot`` + each index's writers) is
    one the ids have on every day a line may still be written into: narrow ids have ``2 **
    bits`` of them, and a late line goes to its own day however old (within the index's
    retention), so a writer slot past an older entry's waits until that entry's days have
    aged out."""
    first, forms = config.collector.first_slot, config.sphinx.narrow_forms
    today = today or datetime.now(UTC).date()
    for ix in config.indexes:
        top = first + ix.writers - 1
        oldest = today - timedelta(days=ix.retention_days)
        # (the entries whose days may still take a line: from the one that covers ``oldest``)
        live = [(n, day, bits) for n, (day, bits) in enumerate(forms)
                if n + 1 == len(forms) or forms[n + 1][0] > oldest]
        narrow = next(((n, day, bits) for n, day, bits in live if top >= 1 << bits), None)
        if first >= 0 and narrow is None:
            continue
        where = (f"{config.source}: index {ix.name!r}: writer slots {first}..{top} "
                 f"([collector] first_slot + writers)")
        if narrow is None or narrow[0] + 1 == len(forms):
            raise ConfigError(
                f"{where} are more than the ids' {config.sphinx.slots} (sphinx.slot_bits "
                f"{', '.join(config.sphinx.slot_bits)}): add \"<a day no line has reached "
                f"yet>:{top.bit_length()}\" to sphinx.slot_bits (upgrading from a version "
                "before narrow ids: that entry alone), in the config of every ALCO process "
                "and host (docs/ingest.md \"Ids\")")
        n, day, bits = narrow
        until = forms[n + 1][0] + timedelta(days=ix.retention_days)
        raise ConfigError(
            f"{where} are more than the {1 << bits} of the ids of {day} (sphinx.slot_bits "
            f"\"{day}:{bits}\"), whose days may still take late lines: start them from "
            f"{until} on, once those days have aged out (docs/ingest.md \"Ids\")")


def parse(data: dict[str, Any], source: str, env: dict[str, str] | None = None) -> Config:
    """Build a Config from parsed TOML data plus environment overrides."""
    env = dict(os.environ) if env is None else env
    unknown = set(data) - set(SECTIONS) - {"index"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {"source": source}
    overrides = _env_overrides(env)
    _check_env(overrides)
    for section, cls in SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        merged = {**table, **overrides.get(section, {})}
        kwargs[section] = _build(cls, merged, f"{source}: {section}")
    if kwargs["rabbitmq"].exchange_type not in EXCHANGE_TYPES:
        raise ConfigError(f"{source}: rabbitmq.exchange_type: "
                          f"{kwargs['rabbitmq'].exchange_type!r} is not one of "
                          f"{', '.join(EXCHANGE_TYPES)}")
    if not -1 <= kwargs["sphinx"].compact_hour <= 23:
        raise ConfigError(f"{source}: sphinx.compact_hour: an hour 0-23 (UTC), or -1 for never")
    if not 0 <= kwargs["sphinx"].common_share < 1:
        raise ConfigError(f"{source}: sphinx.common_share: a share of a day's lines, 0 to "
                          "below 1 (0: no common values)")
    _check_lines(kwargs["sphinx"], source)
    _check_id_forms(kwargs["sphinx"], source)
    for key in ("min_free", "max_disk"):
        size = getattr(kwargs["sphinx"], key)
        if (size or key == "min_free") and not SIZE_RE.match(size):
            raise ConfigError(f"{source}: sphinx.{key}: {size!r} is not a size (bytes, 64M, "
                              "2G or 5%)")
    if "index" in data:
        tables = data["index"]
        if not isinstance(tables, list) or not tables:
            raise ConfigError(f"{source}: [[index]] must be a non-empty array of tables")
        indexes = tuple(
            _build_index(t, f"{source}: index[{i}]") for i, t in enumerate(tables)
        )
        names = [ix.name for ix in indexes]
        if len(set(names)) != len(names):
            raise ConfigError(f"{source}: index names must be unique, got {names}")
        kwargs["indexes"] = indexes
    names = {ix.name for ix in kwargs.get("indexes", Config().indexes)}
    kwargs["web"] = _checked_web(kwargs["web"], set(overrides.get("web", {})), names, source)
    config = Config(**kwargs)
    _check_slots(config)
    default = config.web.ingest_default_index
    if default and default not in [ix.name for ix in config.indexes]:
        raise ConfigError(f"{source}: web.ingest_default_index: {default!r} is not an index")
    return config


def load(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Config:
    """Load the configuration: ``path``, else ``$ALCO_CONFIG``, else ./alco.toml, else defaults."""
    env = dict(os.environ) if env is None else env
    candidate = path or env.get("ALCO_CONFIG")
    if candidate is None:
        candidate = next((p for p in DEFAULT_CONFIG_PATHS if Path(p).exists()), None)
    if candidate is None:
        return parse({}, "<defaults>", env)
    p = Path(candidate)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    return parse(data, str(p), env)
