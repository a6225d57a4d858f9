"""``alco grep``: search an ALCO index over the HTTP API and print the lines like grep.

Results come oldest first, like a file. Exit status like grep: 0 when a line matched, 1 when
none did, 2 on error. The requests themselves are :mod:`alco.clients.api`; this module is the
command line: arguments, formatting and output.
"""

from __future__ import annotations

import argparse
import difflib
import html
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from alco.cli import grep_args
from alco.clients.api import Api, ApiError, context_of, count, follow, indexes, newest, pages
from alco.clients.patterns import PatternError, grep_term
from alco.config import Config

DEFAULT_FIELDS = ("time", "host", "message")
TAIL_START = 10  # lines shown before following, like tail -f
COLORS = {"match": "\x1b[1;31m", "time": "\x1b[32m", "field": "\x1b[35m", "sep": "\x1b[36m"}
# one colour per query term (``<mark class="tN">``: term N), cycling: bold red, green, yellow,
# blue, magenta, cyan; a plain ``<mark>`` takes the first
TERM_COLORS = ("\x1b[1;31m", "\x1b[1;32m", "\x1b[1;33m", "\x1b[1;34m", "\x1b[1;35m",
               "\x1b[1;36m")
RESET = "\x1b[0m"
MARK_RE = re.compile(r'<mark(?:\s+class="t(\d+)")?>|</mark>')
GREP_FLAGS = ("patterns", "syntax", "ignore_case", "word", "invert")


# -- formatting --------------------------------------------------------------------------------
def format_time(ts: str) -> str:
    """``2026-11-24T10:00:00.123456+00:00`` -> ``2026-11-24 10:00:00.123`` (UTC)."""
    try:
        moment = datetime.fromisoformat(ts).astimezone(UTC)
    except (TypeError, ValueError):
        return str(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def ansi_highlight(highlight: str, color: bool) -> str:
    """The API's highlight (HTML-escaped text with ``<mark>`` hits) as terminal text."""
    def mark(m: re.Match[str]) -> str:
        if not color:
            return ""
        return RESET if m.group(0) == "</mark>" else term_color(m.group(1))

    return html.unescape(MARK_RE.sub(mark, highlight))


def term_color(term: str | None) -> str:
    """The colour of query term ``term`` (its index as text; None: the first colour)."""
    return TERM_COLORS[int(term) % len(TERM_COLORS)] if term else TERM_COLORS[0]


def field_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def format_line(line: dict, fields: tuple[str, ...], color: bool, hit: bool = True) -> str:
    """One output line: the chosen columns separated by spaces."""
    cells = []
    for name in fields:
        if name == "time":
            text, tint = format_time(line.get("ts", "")), COLORS["time"]
        elif name == "message":
            hl = line.get("highlight")
            text = ansi_highlight(hl, color) if hit and hl else line.get("message", "")
            tint = ""
        elif name == "id":
            text, tint = str(line.get("id", "")), ""
        else:
            text, tint = field_text(line.get("fields", {}).get(name)), COLORS["field"]
        cells.append(f"{tint}{text}{RESET}" if color and tint else text)
    return " ".join(cells)


TRACEBACK_FIELDS = ("exc_info", "stack_trace", "stack_info", "traceback")


def traceback_text(line: dict, color: bool) -> str:
    """The tracebacks a line carries (``--tracebacks``), each of its lines indented, to print
    under the line; "" when it has none."""
    out = []
    for name in TRACEBACK_FIELDS:
        value = line.get("fields", {}).get(name)
        if not value:
            continue
        for text in field_text(value).rstrip().splitlines():
            out.append(f"{COLORS['match']}    {text}{RESET}" if color else f"    {text}")
    return "".join(row + "\n" for row in out)


def separator(color: bool) -> str:
    return f"{COLORS['sep']}--{RESET}" if color else "--"


# a shell argument the query language reads as one pattern term: /re/ or 'text', with its
# flags, negated or on a field (docs/search.md)
_PATTERN_ARG_RE = re.compile(r"-?(?:[^\s:'/\"]+:)?(?:/.*/|'.*')[iw]*", re.S)


def query_text(words: list[str]) -> str:
    """Command-line words as a query; a word with spaces (quoted in the shell) is a phrase,
    unless it is a pattern already (``'/timeout after \\d+ms/'``)."""
    return " ".join(f'"{w}"' if re.search(r"\s", w) and '"' not in w
                    and not _PATTERN_ARG_RE.fullmatch(w) else w for w in words)


def use_color(choice: str, stream: IO[str]) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty() and os.environ.get("TERM") != "dumb"


class Printer:
    """Writes lines to stdout; with context, merges overlapping groups and prints ``--``."""

    def __init__(self, args: argparse.Namespace, out: IO[str]) -> None:
        self.out, self.json = out, args.json
        self.color = use_color(args.color, out)
        self.fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
        self.last_id: int | None = None
        self.tracebacks = getattr(args, "tracebacks", False)

    def line(self, line: dict, hit: bool = True) -> None:
        if self.json:
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            self.out.write(format_line(line, self.fields, self.color, hit) + "\n")
            if self.tracebacks:
                self.out.write(traceback_text(line, self.color))

    def group(self, lines: list[dict], hit_id: str) -> None:
        fresh = [ln for ln in lines if self.last_id is None or int(ln["id"]) > self.last_id]
        if self.last_id is not None and len(fresh) == len(lines) and not self.json:
            self.out.write(separator(self.color) + "\n")
        for ln in fresh:
            self.line(ln, hit=ln["id"] == hit_id)
        if lines:
            self.last_id = max(self.last_id or 0, *(int(ln["id"]) for ln in lines))
        self.out.flush()


# -- the command -------------------------------------------------------------------------------
def make_api(args: argparse.Namespace, config: Config) -> Api:
    token = args.token or config.web.first_token
    basic = config.web.first_basic
    return Api(args.server or config.web.api_url, token, basic)


def list_indexes(api: Api, args: argparse.Namespace) -> int:
    rows = indexes(api)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['name']}\t{row.get('last_5m', '')} lines in the last 5 minutes")
    return 0 if rows else 1


def pick_index(api: Api, words: list[str], pattern_first: bool = False) -> tuple[str, list[str]]:
    """INDEX is the first word if the server knows an index of that name; else the last one,
    as grep takes PATTERN FILE (``alco grep timeout logs``), when it names an index and
    follows a query; else the first index.  ``pattern_first`` (grep mode, no ``-e``): a
    pattern must follow, so a lone word is the pattern, never the index."""
    names = [row["name"] for row in indexes(api)]
    if words and words[0] in names and not (pattern_first and len(words) == 1):
        return words[0], words[1:]
    if len(words) >= 2 and words[-1] in names:
        return words[-1], words[:-1]
    if not names:
        raise ApiError("the server has no index")
    return names[0], words


def refuse_misspelt_index(api: Api, words: list[str], index: str) -> None:
    """Nothing matched: raise ApiError when the first or last of two or more words looks
    like a misspelt index (``alco grep logz timeout``: "logz" was searched as a word in the
    first index), as grep says a FILE does not exist."""
    names = [row["name"] for row in indexes(api)]
    for word in dict.fromkeys(words[:1] + words[-1:] if len(words) >= 2 else []):
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
        if word not in names and close:
            raise ApiError(f"no index {word!r} (indexes: {', '.join(names)}); did you mean "
                           f"{close[0]!r}? {word!r} was searched as a word in index "
                           f"{index!r} and matched nothing")


def grep_mode(args: argparse.Namespace) -> bool:
    """Whether grep's pattern flags were given (-e -F -E -G -i -w -v)."""
    return any(getattr(args, name, None) for name in GREP_FLAGS)


def grep_query(args: argparse.Namespace, words: list[str]) -> str | None:
    """The query of the words after INDEX: in grep mode the pattern term (the ``-e`` values,
    else the first word) ANDed with the other words; None when no line can match."""
    if not grep_mode(args):
        return query_text(words)
    patterns = list(args.patterns or [])
    if not patterns:
        if not words:
            raise PatternError("no pattern: give -e PATTERN or a first query word")
        patterns, words = [words[0]], words[1:]
    term = grep_term(patterns, args.syntax or "G", args.ignore_case, args.word, args.invert)
    if term is None:
        return None
    return " ".join(part for part in (term, query_text(words)) if part)


class Progress:
    """How far a scan got, on stderr when it is a terminal (not a dumb one): one line
    overwritten in place (``\\r``, erase to the end of the line), cleared before output and at
    the end."""

    def __init__(self, stream: IO[str], ascending: bool = True) -> None:
        self.stream, self.ascending = stream, ascending
        self.enabled = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.shown = False

    def __call__(self, page: dict) -> None:
        searched_to = page.get("searched_to")
        if not (self.enabled and page.get("partial") and searched_to):
            return
        where = "up to" if self.ascending else "back to"
        self.stream.write(f"\r\x1b[Kalco grep: searched {where} {format_time(searched_to)[:19]}…")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def first_lines(api: Api, index: str, params: dict[str, Any], args: argparse.Namespace,
                err: IO[str]) -> tuple[Iterator[dict] | list[dict], Progress]:
    """The lines before following: the newest few with ``-f`` (without ``--since``), else every
    match oldest first; and the progress shown while they are read."""
    limit = args.max_count
    if args.follow and not args.since:
        progress = Progress(err, ascending=False)
        return newest(api, index, params, min(limit or TAIL_START, TAIL_START), progress), \
            progress
    progress = Progress(err)
    return pages(api, index, params, limit, progress=progress), progress


def search(api: Api, args: argparse.Namespace, out: IO[str], err: IO[str] | None = None) -> int:
    err = err or sys.stderr
    index, words = pick_index(api, args.words, grep_mode(args) and not args.patterns)
    query = grep_query(args, words)
    if query is None:  # -v with an empty pattern: grep selects no line
        if args.count:
            print(0, file=out)
        return 1
    params = {"q": query, "from": args.since, "to": args.until}
    limit = args.max_count
    if args.count:
        progress = Progress(err)
        n = count(api, index, params, limit, progress)
        progress.clear()
        if not n:
            refuse_misspelt_index(api, args.words, index)
        print(n, file=out)
        return 0 if n else 1
    printer = Printer(args, out)
    before = args.before if args.before is not None else args.context
    after = args.after if args.after is not None else args.context
    matched = 0
    first, progress = first_lines(api, index, params, args, err)
    cursor = None
    try:
        for line in first:
            progress.clear()
            matched, cursor = matched + 1, line["id"]
            if before or after:
                printer.group(context_of(api, index, line, before, after, args.same),
                              line["id"])
            else:
                printer.line(line)
    finally:
        progress.clear()
    out.flush()
    if not matched:
        refuse_misspelt_index(api, args.words, index)
    if args.follow and (limit is None or matched < limit):
        def emit(line: dict) -> bool:
            nonlocal matched
            matched += 1
            printer.line(line)
            out.flush()
            return limit is None or matched < limit

        follow(api, index, params, cursor, emit)
    return 0 if matched else 1


def run(args: argparse.Namespace, config: Config) -> int:
    api = make_api(args, config)
    try:
        return list_indexes(api, args) if args.list else search(api, args, sys.stdout)
    except (ApiError, PatternError) as exc:
        print(f"alco grep: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `alco grep ... | head`: stop quietly, like grep
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def register(sub: argparse._SubParsersAction) -> None:
    grep_args.register(sub, run, ",".join(DEFAULT_FIELDS))
