"""SphinxQL over mysqlclient: the only module that touches MySQLdb.

Values always travel as parameters (MySQLdb escapes them as SQL literals); identifiers
(index and column names) are checked against a strict pattern before they reach a statement.
The driver's errors are translated here, once, into ALCO's (see ``translate_error``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import MySQLdb
import MySQLdb.cursors

from alco.errors import BadInput, Unavailable

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_STATEMENT_BYTES = 4 * 1024 * 1024
# searchd has not loaded the index (yet): a new day's index before the reload that adds it
INDEX_MISSING = ("unknown local index", "no such index", "unknown index")


# what searchd says of a field limit a day index made before that field has not (the
# reader's MATCH() is ``@@relaxed`` about them: alco.search.compile): not a warning to show
RELAXED_RE = re.compile(r"no field '\w+' found in schema")


class SphinxError(Unavailable):
    """searchd did not run a statement: it is down, lost the connection or has not loaded the
    index (``transient``: the same statement may work later), or failed otherwise.
    ``message`` and ``code`` are the server's (or the driver's)."""

    def __init__(self, message: str, code: int = 0, transient: bool = True) -> None:
        super().__init__(message, service="searchd", transient=transient)
        self.code = code


class SphinxQueryError(BadInput):
    """searchd refused the statement (a syntax error, too many MATCH clauses, a value it
    cannot store): the same statement fails again.  ``message`` and ``code`` are the
    server's."""

    transient = False

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


SPHINX_ERRORS = (SphinxError, SphinxQueryError)  # every error a statement may raise


def translate_error(exc: MySQLdb.Error) -> SphinxError | SphinxQueryError:
    """The ALCO error for a driver error: refused statements are SphinxQueryError, the rest
    SphinxError, transient when the connection failed or the index is not loaded."""
    code = exc.args[0] if len(exc.args) > 1 and isinstance(exc.args[0], int) else 0
    message = str(exc.args[-1]) if exc.args else ""
    message = message or type(exc).__name__
    transient = (isinstance(exc, MySQLdb.OperationalError)
                 or any(text in message.lower() for text in INDEX_MISSING))
    if isinstance(exc, MySQLdb.ProgrammingError) and not transient:
        return SphinxQueryError(message, code)
    return SphinxError(message, code, transient)


def ident(name: str) -> str:
    """Return ``name`` if it is a safe SphinxQL identifier, else raise ValueError."""
    if not IDENT_RE.match(name):
        raise ValueError(f"not a valid index or column name: {name!r}")
    return name


CONNECTION_LOST = (2006, 2013)  # the client's "server has gone away" / "lost connection"


def describe(sphinx: Any, index: str) -> set[tuple[str, str]]:
    """``DESCRIBE <index>`` as (column, type) pairs (``("logline", "field")``,
    ``("logline", "string")``, ...), on anything with Sphinx's ``query``."""
    return {(str(r.get("Field")), str(r.get("Type")))
            for r in sphinx.query(f"DESCRIBE {ident(index)}", [])}


def index_status(sphinx: Any, index: str) -> dict[str, str]:
    """``SHOW INDEX <index> STATUS`` as name -> value (``indexed_documents``, ``disk_chunks``,
    ``ram_chunk``, ...), on anything with Sphinx's ``query``."""
    rows = sphinx.query(f"SHOW INDEX {ident(index)} STATUS", [])
    return {str(r["Variable_name"]): str(r["Value"]) for r in rows}


class Sphinx:
    """One SphinxQL connection, reconnected on demand.

    Warnings of a query (a distributed index's agent that did not answer: the rows are only
    those of the shards that did) collect in ``warnings`` until ``take_warnings``."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._conn: Any = None
        self.warnings: list[str] = []

    def take_warnings(self) -> list[str]:
        taken, self.warnings = self.warnings, []
        return taken

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors as ALCO errors; the connection is dropped unless searchd only
        refused the statement."""
        try:
            yield
        except MySQLdb.Error as exc:
            error = translate_error(exc)
            if isinstance(error, SphinxError):
                self.close()
            raise error from exc

    def connect(self) -> Any:
        if self._conn is None:
            with self._translated():
                self._conn = MySQLdb.connect(
                    host=self.host, port=self.port, connect_timeout=int(self.connect_timeout),
                    charset="utf8", use_unicode=True,
                )
                self._conn.autocommit(True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except MySQLdb.Error:
                pass
            self._conn = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT-like statement; rows as dicts.

        A connection kept from before that searchd closed (it restarted) is replaced once:
        the first read after a restart answers instead of failing."""
        reused = self._conn is not None
        try:
            return self._query(sql, params)
        except SphinxError as exc:
            if not (reused and exc.code in CONNECTION_LOST):
                raise
        return self._query(sql, params)

    def _query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        conn = self.connect()
        with self._translated():
            cur = conn.cursor(MySQLdb.cursors.DictCursor)
            cur.execute(sql, tuple(params) if params else None)
            rows = list(cur.fetchall())
            cur.close()
            if conn.warning_count():
                self.note_warnings(row[-1] for row in self._show_warnings(conn)
                                   if not RELAXED_RE.search(row[-1]))
            return rows

    def note_warnings(self, messages: Iterable[str]) -> None:
        """Add warnings (each once) to those of this connection's queries."""
        for message in messages:
            if message not in self.warnings:
                self.warnings.append(message)

    @staticmethod
    def _show_warnings(conn: Any) -> list[tuple]:
        cur = conn.cursor()
        cur.execute("SHOW WARNINGS")
        rows = list(cur.fetchall())
        cur.close()
        return rows

    def meta(self) -> dict[str, str]:
        return {r["Variable_name"]: r["Value"] for r in self.query("SHOW META")}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        conn = self.connect()
        with self._translated():
            cur = conn.cursor()
            n = cur.execute(sql, tuple(params) if params else None)
            cur.close()
            return n

    def replace_rows(self, index: str, columns: Sequence[str],
                     rows: Iterable[Sequence[Any]]) -> int:
        """Multi-row REPLACE, split so one statement stays under MAX_STATEMENT_BYTES."""
        conn = self.connect()
        head = f"REPLACE INTO {ident(index)} ({', '.join(ident(c) for c in columns)}) VALUES "
        total = 0
        chunk: list[bytes] = []
        size = 0
        with self._translated():
            for lit in _row_literals(conn, rows):
                if chunk and size + len(lit) > MAX_STATEMENT_BYTES:
                    total += self._raw(conn, head, chunk)
                    chunk, size = [], 0
                chunk.append(lit)
                size += len(lit) + 1
            if chunk:
                total += self._raw(conn, head, chunk)
        return total

    @staticmethod
    def _raw(conn: Any, head: str, chunk: list[bytes]) -> int:
        conn.query(head.encode() + b",".join(chunk))
        return conn.affected_rows()

    def indexes(self) -> list[str]:
        return [r["Index"] for r in self.query("SHOW TABLES")]


def visible(text: str) -> str:
    """``text`` as searchd keeps it: SphinxQL reads MySQL's escapes \\0 and \\Z as the letters
    0 and Z, so NUL and Ctrl-Z are kept visible as their Unicode control pictures (the line
    store keeps a line's text the same way)."""
    return text.replace("\x00", "\u2400").replace("\x1a", "\u241a")


class _RowForm(NamedTuple):
    """How a row of values of these types is written as a literal: ``pattern`` % its values
    once its texts are escaped and its other values made literals (``_literal``), ints as
    they are."""

    pattern: bytes
    texts: list[int]  # where the str values are
    others: list[int]  # where values of neither type are


@functools.lru_cache(maxsize=256)
def _form(kinds: tuple[type, ...]) -> _RowForm:
    """The _RowForm of rows of values of types ``kinds``."""
    parts = [b"%d" if k is int else b"'%b'" if k is str else b"%b" for k in kinds]
    return _RowForm(b"(" + b",".join(parts) + b")",
                    [i for i, k in enumerate(kinds) if k is str],
                    [i for i, k in enumerate(kinds) if k is not int and k is not str])


_SEP = "\x01"  # between a batch's texts escaped at once: escaping leaves it as it is


def _row_literals(conn: Any, rows: Iterable[Sequence[Any]]) -> list[bytes]:
    """The literal of each row, ``(v1,v2,...)``, its values as ``_literal`` makes them.

    Rows of one form whose texts are side by side (a writer's) have every text escaped in
    one call: the texts joined by _SEP (escaping is character by character and leaves _SEP
    as it is), then split; unless a text holds _SEP itself."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return []
    kinds = tuple(map(type, rows[0]))
    form = _form(kinds)
    texts = form.texts
    if form.others or not texts or texts[-1] - texts[0] != len(texts) - 1 \
            or any(tuple(map(type, row)) != kinds for row in rows):
        return [_row_literal(conn, row) for row in rows]
    a, b = texts[0], texts[-1] + 1
    joined = _SEP.join([text for row in rows for text in row[a:b]])
    if joined.count(_SEP) != len(rows) * (b - a) - 1:
        return [_row_literal(conn, row) for row in rows]
    escaped = _escaped(conn, joined).split(_SEP.encode())
    out = []
    pattern, at = form.pattern, 0
    for row in rows:
        values = list(row)
        values[a:b] = escaped[at:at + b - a]
        at += b - a
        out.append(pattern % tuple(values))
    return out


def _row_literal(conn: Any, row: Sequence[Any]) -> bytes:
    """``_row_literals`` of one row."""
    form = _form(tuple(map(type, row)))
    values = list(row)
    for i in form.texts:
        values[i] = _escaped(conn, values[i])
    for i in form.others:
        values[i] = _literal(conn, values[i])
    return form.pattern % tuple(values)


def _escaped(conn: Any, text: str) -> bytes:
    """``text`` escaped for a SphinxQL string literal (without its quotes), NUL and SUB made
    visible (``visible``)."""
    if "\x00" in text or "\x1a" in text:
        text = visible(text)
    return conn.escape_string(text.encode("utf-8", "surrogatepass"))


def _literal(conn: Any, value: Any) -> bytes:
    kind = type(value)  # (the usual types first: a row's ids, hashes and text)
    if kind is int:
        return b"%d" % value
    if kind is str:
        return b"'" + _escaped(conn, value) + b"'"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, bytes):
        return b"'" + conn.escape_string(value) + b"'"
    text = visible(str(value))
    return b"'" + conn.escape_string(text.encode("utf-8", "surrogatepass")) + b"'"
