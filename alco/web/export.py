"""Export of a whole result as NDJSON or plain text: id-cursor pages, bounded memory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import orjson

from alco.config import IndexConfig
from alco.errors import Unavailable
from alco.search.reader import Line, LineQuery, Searcher
from alco.web.present import iso_us, line_json

log = logging.getLogger("alco.web.export")
PAGE = 1000
FORMATS = {"ndjson": "application/x-ndjson", "text": "text/plain; charset=utf-8"}


def ndjson_line(line: Line) -> bytes:
    data = line_json(line)
    del data["highlight"]
    return orjson.dumps(data) + b"\n"


def text_line(line: Line) -> bytes:
    return f"{iso_us(line.ts_us)} {line.message}\n".encode("utf-8", "replace")


def export_lines(open_searcher: Callable[[], Searcher], ix: IndexConfig, lq: LineQuery,
                 known: set[str] | None, fmt: str,
                 counted: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Every matching line, oldest first, one page of PAGE lines in memory at a time.

    ``open_searcher`` gives a searcher with a connection of its own (the stream outlives the
    request's thread); it is closed at the end.  ``counted`` is told each page's lines (the
    audit trail's rows).
    """
    render = ndjson_line if fmt == "ndjson" else text_line
    searcher = open_searcher()
    lq = replace(lq, after=None, before=None, limit=PAGE, order="asc")
    try:
        while True:
            # each page is a request of its own (query and time budget); a page the time
            # budget cut short, even an empty one, goes on from its cursor
            page = searcher.lines(ix, lq, known)
            if page.lines:
                if counted is not None:
                    counted(len(page.lines))
                yield b"".join(render(line) for line in page.lines)
            if page.next is None or int(page.next) == lq.after:
                return
            lq = replace(lq, after=int(page.next))
    except Unavailable as exc:
        log.warning("export of %s stopped: %s unavailable: %s", ix.name, exc.service, exc)
    finally:
        searcher.sphinx.close()
