"""Where a line's text and fields come from: the line store, or searchd for days made before.

Day indexes made with the line store (alco.linestore) hold the line as a full-text field
only and its fields in the store too; those made before keep the text in their ``logline``
string attribute and the fields in their ``js`` JSON attribute until they age out (and those
made between, the text in the store and the fields in ``js``).  A read asks searchd for
``logline`` and ``js`` only when every day index it reads has them; otherwise it reads ids
and fills them in: from the store, and for rows the store does not hold (or whose day keeps
the fields in searchd), from the attributes of the day indexes that have them (one query
more, on the days a layout changed).  A row found in neither gets an empty text and the mark
``missing_text`` (a read never hides a line it found).

On the head of several machines ([sphinx] agents) the store is the shards': a line is
fetched from the shard its writer slot says (alco.linestore.remote.ShardLines), and what a
day index was made with is what the shards say (DESCRIBE of a distributed index lists no
field); a shard that does not answer leaves its lines' text out, and a warning says so.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path

from alco.config import Config
from alco.index import sphinxql
from alco.index.schema import DayLayout, field_column, id_ms, unhashed_field, value_attr
from alco.linestore.blocks import Brief
from alco.linestore.reading import LineReader
from alco.linestore.remote import ShardLines
from alco.search.dictionary import server_of

_LAYOUTS: dict[tuple[str, int, str], DayLayout] = {}  # (searchd, day index) -> its layout
_HASHED: dict[tuple[str, int, str], frozenset[str]] = {}  # ... -> its value hashes (v_<col>)
_FIELDS: dict[tuple[str, int, str], frozenset[str]] = {}  # ... -> its full-text fields
_UNKNOWN = DayLayout(True, True)  # what a day index that cannot say now is read as


@functools.lru_cache(maxsize=8)
def line_reader(data_dir: str) -> LineReader:
    """The process's reader of the line store under ``data_dir`` (its caches are shared)."""
    return LineReader(Path(data_dir))


def layout_of(sx: sphinxql.Sphinx, index: str) -> DayLayout:
    """What day index ``index`` was made with (DESCRIBE; kept for the process's life: an
    index keeps the schema it was made with).  An index that cannot say (distributed: its
    agents are shards) is taken to keep the text and the fields in searchd."""
    key = (*server_of(sx), index)
    if key not in _LAYOUTS:
        try:
            columns = sphinxql.describe(sx, index)
        except sphinxql.SPHINX_ERRORS as exc:
            if exc.transient:
                return _UNKNOWN  # not known now: not kept (the query itself will say)
            columns = set()
        _LAYOUTS[key] = DayLayout.of(columns)
        _HASHED[key] = frozenset(name for name, kind in columns
                                 if kind == "uint" and name.startswith("v_"))
        _FIELDS[key] = frozenset(name for name, kind in columns if kind == "field")
    return _LAYOUTS[key]


_SHARDS: dict[tuple, ShardLines] = {}


def shard_lines(config: Config) -> ShardLines | None:
    """The process's fetcher of the shards' lines for a head's ``config`` (None: not a
    head)."""
    sx = config.sphinx
    if not sx.agents:
        return None
    key = (sx.agents, sx.agent_lines, sx.lines_port, sx.agent_connect_timeout,
           sx.agent_query_timeout, config.web.tokens)
    if key not in _SHARDS:
        _SHARDS[key] = ShardLines(config)
    return _SHARDS[key]


class Texts:
    """The text and the fields of the rows of one searcher's reads: from the line store
    under ``data_dir``, or the shards' (``shards``, on a head)."""

    def __init__(self, sx: sphinxql.Sphinx, data_dir: str,
                 shards: ShardLines | None = None) -> None:
        self.sx = sx
        self.data_dir = data_dir
        self.shards = shards
        self._lock = threading.Lock()  # the search threads' first looks at a day, on ``sx``

    def layout(self, index: str, sx: sphinxql.Sphinx | None = None) -> DayLayout:
        """What day index ``index`` was made with: its DESCRIBE (on ``sx``, the caller's
        connection when it runs on a search thread of its own), or on a head what the shards
        say (a day they cannot say anything of: as made before the store)."""
        if self.shards is None:
            if sx is not None:
                return layout_of(sx, index)
            with self._lock:
                return layout_of(self.sx, index)
        warnings: list[str] = []
        got = self.shards.layout(index, warnings)
        self.sx.note_warnings(warnings)
        return got if got is not None else _UNKNOWN

    def known_layout(self, index: str) -> DayLayout | None:
        """What ``layout`` would say of ``index`` when that is known without asking (None:
        not asked yet)."""
        if self.shards is None:
            return _LAYOUTS.get((*server_of(self.sx), index))
        if any(index not in shard.layouts for shard in self.shards.shards):
            return None
        return self.layout(index)

    def has_text_attr(self, index: str) -> bool:
        """Whether day index ``index`` keeps the line text as its ``logline`` attribute."""
        return self.layout(index).keeps_text

    def has_times(self, index: str) -> bool:
        """Whether day index ``index`` keeps its lines' times and marks as its ``ts`` and
        ``meta`` attributes."""
        return self.layout(index).keeps_times

    def has_js(self, index: str, sx: sphinxql.Sphinx | None = None) -> bool:
        """Whether day index ``index`` keeps the fields as sent in its ``js`` attribute."""
        return self.layout(index, sx).keeps_fields

    def has_value_hash(self, index: str, column: str, sx: sphinxql.Sphinx | None = None) -> bool:
        """Whether day index ``index`` has the value hash of ``column`` (a day made before
        the column was ``filtered`` has none; on a head the shards are taken to have those of
        the ``filtered`` columns)."""
        if self.shards is not None:
            return True
        self.layout(index, sx)
        return value_attr(column) in _HASHED.get((*server_of(sx or self.sx), index), ())

    def lacking(self, index: str, tagged: frozenset[str], texted: frozenset[str]
                ) -> frozenset[str]:
        """The columns among ``tagged`` (``filtered``) and ``texted`` (``indexed``) that day
        index ``index`` was made without: no value hash of a ``filtered`` one (a day that
        keeps the fields in its ``js`` cannot say), no full-text field of an ``indexed``
        one.  Its lines have no tag tokens or field of them (those written before the
        column had its role): a filter on them is checked against the fields as sent."""
        if self.shards is not None:
            return frozenset()
        self.layout(index)  # (its DESCRIBE fills _FIELDS)
        fields = _FIELDS.get((*server_of(self.sx), index), frozenset())
        out = {c for c in texted if fields and field_column(c) not in fields}
        if not self.has_js(index):  # (a day made without a hash no line needed has tags)
            out |= {c for c in tagged if not self.has_value_hash(index, c)
                    and unhashed_field(c) not in fields}
        return frozenset(out)

    def _fetch(self, name: str, ids: list[int], indexes: list[str], briefs: bool) -> dict:
        if self.shards is None:
            reader = line_reader(self.data_dir)
            return (reader.briefs if briefs else reader.fetch)(name, ids, indexes)
        warnings: list[str] = []
        got = (self.shards.briefs if briefs else self.shards.fetch)(name, ids, indexes,
                                                                   warnings)
        self.sx.note_warnings(warnings)
        return got

    def columns(self, indexes: list[str], columns: tuple[str, ...]
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What to SELECT of ``columns`` from ``indexes``, and which of them (``logline``,
        ``js``, ``ts``, ``meta``) are to be filled in after (``fill``): those a day index
        read keeps in the line store only."""
        fill = tuple(c for c, kept in (("logline", self.has_text_attr), ("js", self.has_js),
                                       ("ts", self.has_times), ("meta", self.has_times))
                     if c in columns and not all(kept(i) for i in indexes))
        if not fill:
            return columns, fill
        return tuple(c for c in columns if c not in fill), fill

    def fill(self, name: str, indexes: list[str], rows: list[dict],
             what: tuple[str, ...] = ("logline",)) -> None:
        """Give ``rows`` (of ALCO index ``name``, read from ``indexes``) their ``logline``,
        their fields (``js``: a dict), their time (``ts``) and marks (``meta``: a dict), as
        ``what`` says: from the line store, and for rows the store does not hold, or whose
        day keeps its fields in searchd, from the attributes of the day indexes that have
        them (a line found nowhere: the time of its id)."""
        if not rows or not what:
            return
        ids = [int(r["id"]) for r in rows]
        fields: dict[int, object] = {}
        if "js" in what:
            entries = self._fetch(name, ids, indexes, False)
            fields = {i: e.fields for i, e in entries.items()}
            kept = {i: Brief(e.ts_us, e.message, e.marks) for i, e in entries.items()}
        else:
            kept = self._fetch(name, ids, indexes, True)
        texts = {i: got.message for i, got in kept.items()}
        times = {i: got.ts_us for i, got in kept.items()}
        marks: dict[int, object] = {i: got.marks for i, got in kept.items()}
        old_text = [i for i in indexes if self.has_text_attr(i)] if "logline" in what else []
        old_js = [i for i in indexes if self.has_js(i)] if "js" in what else []
        old_times = [i for i in indexes if self.has_times(i)] \
            if "ts" in what or "meta" in what else []
        rest = [i for i in ids if i not in texts]
        if rest and old_text:
            texts.update((int(r["id"]), r["logline"])
                         for r in self._by_ids(old_text, rest, "id, logline"))
        if old_times:  # (days written before the store kept the marks: theirs are in searchd)
            for r in self._by_ids(old_times, ids, "id, ts, meta"):
                times[int(r["id"])], marks[int(r["id"])] = int(r["ts"]), r["meta"]
        if old_js:  # (the store keeps no fields of these days: theirs are in searchd)
            fields.update((int(r["id"]), r["js"]) for r in self._by_ids(old_js, ids, "id, js"))
        for row in rows:
            doc_id = int(row["id"])
            if "js" in what:
                row["js"] = fields.get(doc_id) or {}
            if "ts" in what:
                row["ts"] = times.get(doc_id, id_ms(doc_id) * 1000)
            if "meta" in what:
                row["meta"] = marks.get(doc_id)
            if "logline" in what:
                text = texts.get(doc_id)
                row["logline"] = "" if text is None else text
                if text is None:
                    row["missing_text"] = True

    def fields_of(self, name: str, indexes: list[str], ids: list[int]) -> dict[int, dict]:
        """The fields of lines ``ids`` of days that keep them in the line store."""
        return {i: e.fields for i, e in self._fetch(name, ids, indexes, False).items()}

    def scannable(self, indexes: list[str], fields: bool = False) -> bool:
        """Whether a scan of ``indexes`` can read the line store instead of searchd's rows:
        every one of them keeps its text there (and, with ``fields``, its fields), on this
        machine (a head's searches the shards' lines through searchd)."""
        if self.shards is not None:
            return False
        reader = line_reader(self.data_dir)
        return bool(indexes) and all(
            not self.has_text_attr(i) and not (fields and self.has_js(i))
            and reader.has_day(i) for i in indexes)

    def scan_matching(self, indexes: list[str], lo: int, hi: int, upward: bool, n: int,
                      keep: Callable[[list[str], list[dict] | None], list[bool]],
                      fields: bool = False) -> tuple[list[dict], int, int | None]:
        """The rows (id, ts, logline and, with ``fields``, js) among the first ``n`` lines
        of ``indexes`` with ids in [lo, hi] in the direction read that ``keep`` keeps (given
        their messages and, with ``fields``, their fields), from the line store
        (alco.linestore.reading.LineReader.scan_matching); with how many lines were read and,
        when ``n`` were, the last one's id."""
        lines, read, last = line_reader(self.data_dir).scan_matching(indexes, lo, hi, upward,
                                                                     n, keep, fields)
        if fields:
            return ([{"id": i, "ts": t, "logline": m, "js": f} for i, t, m, f in lines],
                    read, last)
        return [{"id": i, "ts": t, "logline": m} for i, t, m, _ in lines], read, last

    def in_searchd(self, indexes: list[str], rows: list[dict]) -> list[dict]:
        """The rows searchd has: a scan of the store also meets lines of a batch whose rows
        never reached searchd (a crash between the two; stored again under other ids)."""
        if not rows:
            return rows
        have = {int(r["id"]) for r in self._by_ids(indexes, [int(r["id"]) for r in rows], "id")}
        return [r for r in rows if int(r["id"]) in have]

    def _by_ids(self, indexes: list[str], ids: list[int], columns: str) -> list[dict]:
        """``columns`` of the rows of ``indexes`` among ``ids`` (one query)."""
        marks = ", ".join(["%s"] * len(ids))
        return self.sx.query(
            f"SELECT {columns} FROM {', '.join(map(sphinxql.ident, indexes))} "
            f"WHERE id IN ({marks}) LIMIT {len(ids)} OPTION max_matches={max(len(ids), 1000)}",
            ids)
