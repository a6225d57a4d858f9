"""What the endpoints share: the config, Sphinx connections (one per thread), Redis reads and
the saved searches."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alco.catalog.reader import ValuesReader
from alco.catalog.shortcuts import SavedSearches
from alco.config import Config, IndexConfig
from alco.index.sphinxql import Sphinx
from alco.search.reader import Searcher

log = logging.getLogger("alco.web")
REDIS_DOWN = ("Redis ([redis] url) does not answer: field names are checked against the fields "
              "it listed last, if any (else a misspelt field finds no line instead of a 400), "
              "the field lists and values are unknown; searching and storing go on")


@dataclass
class WebState:
    config: Config
    today: date | None = None  # fixed "today" for tests; None = the real clock
    _local: threading.local = field(default_factory=threading.local)
    _last_known: dict[str, set[str]] = field(default_factory=dict)  # index -> seen fields

    def __post_init__(self) -> None:
        self.values = ValuesReader(self.config.redis.url, self.config.redis.prefix)
        self.saved_searches = SavedSearches(self.config.redis.url, self.config.redis.prefix)
        self.parts = max(1, min(os.cpu_count() or 1, 8))
        self._pool = ThreadPoolExecutor(self.parts, thread_name_prefix="alco-search")

    def fan_out(self, fn: Callable[[Sphinx, Any], Any], items: list) -> list:
        """``fn(connection, item)`` for every item at once, on the search threads (each with
        its connection); their searchd warnings join the calling thread's."""
        def run(item: Any) -> tuple[Any, list[str]]:
            sx = self.sphinx()
            sx.take_warnings()
            return fn(sx, item), sx.take_warnings()

        results = []
        for result, warnings in self._pool.map(run, items):
            results.append(result)
            self.sphinx().note_warnings(warnings)
        return results

    def warm_up(self) -> None:
        """Probe the retained day indexes for hour tokens on a search thread, so that the
        first requests after a start do not (alco.search.reader.Searcher.probe)."""
        if not self.values.ping():
            log.warning(REDIS_DOWN)

        def probe() -> None:
            searcher = self.searcher()
            for ix in self.config.indexes:
                searcher.probe(ix)

        self._pool.submit(probe)

    def sphinx(self) -> Sphinx:
        sx = getattr(self._local, "sphinx", None)
        if sx is None:
            sx = Sphinx(self.config.sphinx.host, self.config.sphinx.port)
            self._local.sphinx = sx
        return sx

    def searcher(self) -> Searcher:
        return Searcher(self.config, self.sphinx(), self.today, self.values.newest,
                        self.fan_out, self.parts)

    def own_searcher(self) -> Searcher:
        """A searcher with a connection of its own, for streams that outlive a request's
        thread (export, tail); the caller closes ``.sphinx``."""
        return Searcher(self.config, Sphinx(self.config.sphinx.host, self.config.sphinx.port),
                        self.today, self.values.newest)

    def index(self, name: str) -> IndexConfig | None:
        for ix in self.config.indexes:
            if ix.name == name:
                return ix
        return None

    def known_fields(self, ix: IndexConfig) -> set[str] | None:
        """The fields seen in ``ix``; while Redis does not answer, those it last listed
        (None before it ever did: names are not checked), and the answer says so."""
        seen = self.values.columns(ix.name)
        if seen is None:
            self.sphinx().note_warnings([REDIS_DOWN])
            return self._last_known.get(ix.name)
        self._last_known[ix.name] = known = set(seen) | set(ix.columns)
        return known
