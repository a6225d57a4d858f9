"""The Redis keys ALCO uses (one prefix per deployment, ``[redis] prefix``).

``<prefix>:VALUES:<index>:<field>`` sorted set value -> last seen (s), for filtered columns;
``<prefix>:COLUMNS:<index>`` hash field -> first seen (s); ``<prefix>:NEWEST`` sorted set index
-> timestamp (s) of its newest stored line (where reading newest-first starts);
``<prefix>:LATE:<index>`` stream of the ids of lines stored behind newer ones (the live tail
pushes them); ``<prefix>:SHORTCUTS`` hash name -> saved search (JSON);
``<prefix>:STORED:<index>`` a pub/sub channel, a message each time a writer stored a batch
(open live tails poll then; the message is the time of its oldest line, ms).  Writers and
compaction also use ``<prefix>:WRITING:<day index>:<slot>`` and ``<prefix>:FLUSHING:<day
index>`` (alco.index.flushlock).  ``<prefix>:INSTALLS`` hash ``host:data_dir`` -> when that
ALCO's collector last started (s): two installs on one prefix are told so
(alco.catalog.installs).
"""

from __future__ import annotations

# How far (line time) below its cursor a live tail reads back for lines stored behind it
# (alco.web.lookback); a writer reports a line further behind to the LATE stream
# (alco.ingest.writer), so that between them every late line reaches open tails.
LOOKBACK_S = 10.0


def values_key(prefix: str, index: str, field: str) -> str:
    return f"{prefix}:VALUES:{index}:{field}"


def columns_key(prefix: str, index: str) -> str:
    return f"{prefix}:COLUMNS:{index}"


def newest_key(prefix: str) -> str:
    return f"{prefix}:NEWEST"


def late_key(prefix: str, index: str) -> str:
    return f"{prefix}:LATE:{index}"


def shortcuts_key(prefix: str) -> str:
    return f"{prefix}:SHORTCUTS"


def stored_channel(prefix: str, index: str) -> str:
    return f"{prefix}:STORED:{index}"


def installs_key(prefix: str) -> str:
    """The ALCO installs using this prefix (alco.catalog.installs)."""
    return f"{prefix}:INSTALLS"
