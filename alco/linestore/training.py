"""The writer's zstd dictionary, trained on its own lines (pure logic but for zstd).

Lines of one service repeat their field names, message templates and hosts; a dictionary
trained on a few thousand of them lets a block of 64 lines compress to about a third of what
it takes alone.  A writer trains one from the first SAMPLES lines it stores, keeps using it
across days, and trains a new one from each new day's first lines (services change what they
log); blocks say which dictionary they need, and each day file keeps the ones its blocks use.
"""

from __future__ import annotations

import logging

import orjson
import zstandard

from alco.linestore.blocks import Entry

log = logging.getLogger("alco.linestore")
SAMPLES = 4000  # lines a dictionary is trained on
DICT_BYTES = 32 * 1024


class Trainer:
    """The dictionary to compress with now, and the samples of the next one."""

    def __init__(self) -> None:
        self.current: zstandard.ZstdCompressionDict | None = None
        self._day: str | None = None  # the day (YYYYMMDD) the samples are of
        self._samples: list[bytes] = []

    def observe(self, day: str, entries: list[Entry]) -> None:
        """Take samples of lines being stored on ``day``; train once there are enough."""
        if day != self._day:
            if self._day is not None and day < self._day:
                return  # a late line of a past day: samples are of the newest day
            self._day, self._samples = day, []
        if len(self._samples) >= SAMPLES:
            return
        self._samples += [orjson.dumps([e.message, e.fields]) for e in entries]
        if len(self._samples) >= SAMPLES:
            self._train()

    def _train(self) -> None:
        try:
            self.current = zstandard.train_dictionary(DICT_BYTES, self._samples)
        except zstandard.ZstdError as exc:
            log.info("line store: no dictionary from these lines (%s); blocks without", exc)
        self._samples = self._samples[:SAMPLES]  # full: no more samples this day
