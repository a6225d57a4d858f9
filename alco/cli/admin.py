"""Maintenance commands: ``alco rebuild-values`` (field values and columns from Sphinx)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from alco.config import Config, IndexConfig

if TYPE_CHECKING:  # the server extra: imported when the command runs
    from alco.index.sphinxql import Sphinx

PROGRESS_EVERY = 50_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rebuild-values", help="rebuild the field values and columns in Redis from Sphinx",
        description="Read every stored record of the daily indexes and write the values of "
        "`filtered` columns (ALCO:VALUES:<index>:<field>) and the seen columns "
        "(ALCO:COLUMNS:<index>) to Redis. Use it after Redis was down or lost its data; "
        "existing entries are kept, missing ones added. Safe to run while collecting.")
    p.add_argument("--index", action="append", metavar="NAME",
                   help="only this index (repeatable; default: every configured index)")
    p.set_defaults(handler=rebuild_values)


def rebuild_values(args: argparse.Namespace, config: Config,
                   out: Callable[[str], None] = print) -> int:
    from alco.index.sphinxql import SPHINX_ERRORS, Sphinx

    wanted = args.index or [ix.name for ix in config.indexes]
    try:
        indexes = [config.index(name) for name in wanted]
    except KeyError as exc:
        print(f"alco: no index {exc} in {config.source}", file=sys.stderr)
        return 2
    sphinx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        for ix in indexes:
            if not _rebuild_index(config, sphinx, ix, out):
                print(f"alco: Redis does not answer at {config.redis.url}: start it, then run "
                      "`alco rebuild-values` again", file=sys.stderr)
                return 1
    except SPHINX_ERRORS as exc:
        print(f"alco: searchd at {config.sphinx.host}:{config.sphinx.port}: {exc.message} (is it "
              "running? see `alco check`)", file=sys.stderr)
        return 1
    finally:
        sphinx.close()
    return 0


def _rebuild_index(config: Config, sphinx: Sphinx, ix: IndexConfig,
                   out: Callable[[str], None]) -> bool:
    from alco.catalog.values import ValuesStore
    from alco.index.daystore import day_indexes, iter_stored
    from alco.linestore.reading import LineReader

    values = ValuesStore(config.redis.url, config.redis.prefix, ix.name,
                         ix.columns_with("filtered"))
    total = 0
    lines = LineReader(config.sphinx.data_dir)
    for day in day_indexes(sphinx, ix.name):
        count = 0
        for ts_us, fields in iter_stored(sphinx, day, lines=lines):
            values.add(fields, ts_us / 1_000_000)
            count += 1
            if count % 1000 == 0 and not values.flush():
                return False
            if count % PROGRESS_EVERY == 0:
                out(f"{day}: {count} records...")
        if not values.flush():
            return False
        total += count
        out(f"{day}: {count} records")
    out(f"{ix.name}: values rebuilt from {total} records")
    return True
