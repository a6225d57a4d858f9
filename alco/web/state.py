"""What the endpoints share: the config, Sphinx connections (one per thread), Redis reads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

from alco.config import Config, IndexConfig
from alco.index.search import Searcher
from alco.index.sphinxql import Sphinx
from alco.ingest.values import ValuesReader


@dataclass
class WebState:
    config: Config
    today: date | None = None  # fixed "today" for tests; None = the real clock
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        self.values = ValuesReader(self.config.redis.url, self.config.redis.prefix)

    def sphinx(self) -> Sphinx:
        sx = getattr(self._local, "sphinx", None)
        if sx is None:
            sx = Sphinx(self.config.sphinx.host, self.config.sphinx.port)
            self._local.sphinx = sx
        return sx

    def searcher(self) -> Searcher:
        return Searcher(self.config, self.sphinx(), self.today, self.values.newest)

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
        seen = self.values.columns(ix.name)
        if seen is None:
            return None
        return set(seen) | set(ix.columns)
