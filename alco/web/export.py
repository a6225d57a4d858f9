"""Export of a whole result as NDJSON or plain text: id-cursor pages, bounded memory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import orjson

from alco.config import IndexConfig
from alco.index.sphinxql import SphinxError
from alco.search.reader import Line, LineQuery, Searcher

log = logging.getLogger("alco.web.export")
PAGE = 1000
FORMATS = {"ndjson": "application/x-ndjson", "text": "text/plain; charset=utf-8"}


def ndjson_line(line: Line) -> bytes:
    data = line.as_json()
    del data["highlight"]
    return orjson.dumps(data) + b"\n"


def text_line(line: Line) -> bytes:
    return f"{line.as_json()['ts']} {line.message}\n".encode("utf-8", "replace")


def export_lines(open_searcher: Callable[[], Searcher], ix: IndexConfig, lq: LineQuery,
                 known: set[str] | None, fmt: str) -> Iterator[bytes]:
    """Every matching line, oldest first, one page of PAGE lines in memory at a time.

    ``open_searcher`` gives a searcher with a connection of its own (the stream outlives the
    request's thread); it is closed at the end.
    """
    render = ndjson_line if fmt == "ndjson" else text_line
    searcher = open_searcher()
    lq = replace(lq, after=None, before=None, limit=PAGE, order="asc")
    try:
        while True:
            page = searcher.lines(ix, lq, known)
            if not page.lines:
                return
            yield b"".join(render(line) for line in page.lines)
            lq = replace(lq, after=page.lines[-1].id)
    except SphinxError as exc:
        log.warning("export of %s stopped: %s", ix.name, exc)
    finally:
        searcher.sphinx.close()
