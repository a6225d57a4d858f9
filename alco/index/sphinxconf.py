"""Generate the searchd configuration for the configured ALCO indexes.

Each ALCO index has one RT index per day: the retention window plus tomorrow, and searchd
serves the day after tomorrow too (``served_days``: at midnight the new tomorrow is there
before the config's rotation catches up, up to a minute later).  The output is a
complete searchd config file: an externally managed searchd (``managed = false``) can use
``alco sphinx-conf > sphinx.conf`` and be sent SIGHUP after each regeneration (SIGHUP adds new
days; dropping the expired ones needs a restart of searchd, see alco.index.searchd).

Scale-out: with ``[sphinx] agents = ["host:port", ...]`` every day index is instead a
``type = distributed`` index whose agents are the same day index on each shard (their native
API listener, ``[sphinx] api_port`` in the shards' configs), so the web app queries all shards
as one and searchd merges the results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

from alco.config import Config, IndexConfig
from alco.index import buckets, charset
from alco.index.schema import (
    MIN_INFIX,
    RULE2_FIELD,
    IndexSchema,
    bits_field,
    day_index,
    unhashed_field,
    value_attr,
)

# The RAM chunk of a day index (~570,000 bench lines at 256M): once it is full, searchd turns
# it into a disk chunk inside the REPLACE that crossed the limit, and every writer of the
# index waits (5.6 s at 256M, 0.7-2.4 s at 64M on the 2-core VM; bench/ingest.py --stalls).
RT_MEM_LIMIT = "256M"


def retention_days(ix: IndexConfig, today: date) -> list[date]:
    """The days that exist for an index: ``retention_days`` back from today, plus tomorrow."""
    first = today - timedelta(days=ix.retention_days - 1)
    return [first + timedelta(days=i) for i in range(ix.retention_days + 1)]


def served_days(ix: IndexConfig, today: date) -> list[date]:
    """The days whose index searchd serves: ``retention_days`` and the day after tomorrow.
    Reads and writes of ``today`` use ``retention_days``; once midnight has passed they use
    the next day's, whose tomorrow is then already served, until the config is rotated."""
    return [*retention_days(ix, today), today + timedelta(days=2)]


def line_store(config: Config, ix: IndexConfig) -> bool:
    """Whether new day indexes of ``ix`` keep their line text in the line store
    (alco.linestore) rather than in searchd's ``logline`` string attribute.  A shard of a
    distributed index ([sphinx] api_port) does when it serves its store to the head
    ([sphinx] lines_port: alco.linestore.service); without it, it keeps the text in searchd
    and the head reads lines through searchd's agents."""
    sx = config.sphinx
    return ix.line_store and (not sx.api_port or bool(sx.lines_port))


def index_section(schema: IndexSchema, name: str, data_dir: Path, infixes: bool = True,
                  ondisk_attrs: bool = True, text_attr: bool = True,
                  bucket_bits: int = buckets.BITS,
                  hashed: tuple[str, ...] | None = None, common: tuple[str, ...] = ()
                  ) -> str:
    """A day index.  Without ``text_attr`` the line is a full-text field only: its text and
    its fields are kept by the line store (a day index keeps the schema it was made with, so
    days made before keep their ``logline`` and ``js`` attributes and are read from them), its
    ids are indexed as buckets with the ``parts`` field, by the rule its empty ``idrule2``
    field names (alco.index.buckets), in ``2 ** bucket_bits`` buckets (an empty ``idbits<N>``
    field where not 65,536), each ``filtered`` column has a value hash for facets
    to group by (``v_<column>``), its lines' times and marks are the store's (no ``ts``
    or ``meta``) and its fingerprints 32 bits (``fp``, a uint).  ``hashed``: the ``filtered``
    columns that get a value hash (None: all); each other one gets an empty field that says
    so (``unhashed_field``).  ``common``: the empty fields naming its common values
    (``schema.Common``, alco.index.commonvalues)."""
    lines = [f"index {name}", "{", "    type = rt", f"    path = {data_dir / name}"]
    hashed = schema.filtered if hashed is None else hashed
    unhashed = tuple(unhashed_field(c) for c in schema.filtered if c not in hashed)
    fields = schema.fields if text_attr else (*schema.fields_with_parts(), RULE2_FIELD,
                                              *bits_field(bucket_bits), *unhashed,
                                              *common)
    lines += [f"    rt_field = {f}" for f in fields]
    lines += [
        # (a day for the line store: the time in µs and the marks are kept there alone, the
        # time to the millisecond is the id's, and the fingerprint is 32 bits, told apart by
        # the millisecond too; 8 + 11 + 4 B a line less, bench/RESULTS.md)
        *(["    rt_attr_string = logline", "    rt_attr_json = js", "    rt_attr_json = meta",
           "    rt_attr_bigint = ts", "    rt_attr_bigint = fp"] if text_attr
          else [*(f"    rt_attr_uint = {value_attr(c)}" for c in schema.filtered
                  if c in hashed),
                "    rt_attr_uint = fp"]),
        f"    rt_mem_limit = {RT_MEM_LIMIT}",
        "    min_word_len = 1",
        *charset.config_lines(),  # words of every alphabet; Chinese, Thai ... by character
        # infixes: patterns ('ayment', /ERROR|FATAL/) narrow with *ayment* (alco.search.literals);
        # without them prefixes ('ayment 42' narrows with 42*), which cost searchd no memory
        (f"    min_infix_len = {MIN_INFIX}" if infixes else f"    min_prefix_len = {MIN_INFIX}"),
        # the disk chunks' attributes, strings and JSON as file-backed mmap: page cache the
        # kernel reclaims, not searchd's shared memory (bench/RESULTS.md, issue 18)
        *(["    ondisk_attrs = 1"] if ondisk_attrs else []),
        "}",
    ]
    return "\n".join(lines)


def distributed_section(agents: tuple[str, ...], name: str,
                        timeouts: tuple[float, float] = (1.0, 30.0)) -> str:
    """A day index of the head: ``agents`` are the shards, ``timeouts`` (s) how long one may
    take to accept and to answer a query ([sphinx] agent_connect_timeout,
    agent_query_timeout) before the answer goes on without it."""
    connect_ms, query_ms = (max(1, round(t * 1000)) for t in timeouts)
    lines = [f"index {name}", "{", "    type = distributed"]
    lines += [f"    agent = {agent}:{name}" for agent in agents]
    lines += [f"    agent_connect_timeout = {connect_ms}",
              f"    agent_query_timeout = {query_ms}", "}"]
    return "\n".join(lines)


def check_agent(agent: str) -> str:
    """``host:port`` of a shard's API listener; ValueError for anything else."""
    host, _, port = agent.rpartition(":")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", host) or not port.isdigit():
        raise ValueError(f"[sphinx] agents: {agent!r} is not host:port")
    return agent


def index_names(config: Config, today: date) -> list[str]:
    """Every day index of the config for ``today``."""
    return [day_index(ix.name, day) for ix in config.indexes
            for day in served_days(ix, today)]


def searchd_section(config: Config, data_dir: Path) -> str:
    sx = config.sphinx
    api = [f"    listen = {sx.host}:{sx.api_port}"] if sx.api_port else []
    lines = [
        "searchd",
        "{",
        f"    listen = {sx.host}:{sx.port}:mysql41",
        *api,
        f"    log = {data_dir / 'searchd.log'}",
        f"    pid_file = {data_dir / 'searchd.pid'}",
        f"    binlog_path = {data_dir if sx.binlog else ''}",
        "    workers = threads",
        "    listen_backlog = 256",  # a distributed query connects to every day at once
        "    max_packet_size = 128M",
        "    rt_flush_period = 600",
        "    seamless_rotate = 1",
        "    unlink_old = 1",
        "    read_timeout = 30",
        "    client_timeout = 600",
        "}",
    ]
    return "\n".join(lines)


def render(config: Config, today: date, bucket_bits: Mapping[str, int] | None = None,
           hashed: Mapping[str, tuple[str, ...]] | None = None,
           common: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """The whole searchd config for ``today``; ``bucket_bits``: the id buckets of day indexes
    (alco.index.bucketsizes; 65,536 for a day not named); ``hashed``: the ``filtered``
    columns with a value hash of day indexes (every one for a day not named); ``common``:
    the fields naming day indexes' common values (none for a day not named)."""
    bits = bucket_bits or {}
    hashes = hashed or {}
    commons = common or {}
    data_dir = Path(config.sphinx.data_dir).resolve()
    parts = [f"# generated by alco sphinx-conf for {today.isoformat()}; do not edit"]
    agents = tuple(check_agent(a) for a in config.sphinx.agents)
    timeouts = (config.sphinx.agent_connect_timeout, config.sphinx.agent_query_timeout)
    for ix in config.indexes:
        schema = IndexSchema.of(ix)
        for day in served_days(ix, today):
            name = day_index(ix.name, day)
            parts.append(distributed_section(agents, name, timeouts) if agents
                         else index_section(schema, name, data_dir, ix.infixes,
                                           ix.ondisk_attrs, not line_store(config, ix),
                                           bits.get(name, buckets.BITS), hashes.get(name),
                                           commons.get(name, ())))
    parts.append(searchd_section(config, data_dir))
    return "\n\n".join(parts) + "\n"


def prepare_dirs(config: Config, today: date) -> None:
    """Create the one directory searchd expects (it does not create it itself): every index,
    the binlog, the log and the pid file live in ``data_dir`` as ``<name>.*`` files."""
    Path(config.sphinx.data_dir).resolve().mkdir(parents=True, exist_ok=True)
