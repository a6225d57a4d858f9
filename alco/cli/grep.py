"""``alco grep``: search an ALCO index over the HTTP API and print the lines like grep.

Results come oldest first, like a file. Exit status like grep: 0 when a line matched, 1 when
none did, 2 on error. The requests themselves are :mod:`alco.clients.api`; this module is the
command line: arguments, formatting and output.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from alco.clients.api import Api, ApiError, context_of, count, follow, indexes, newest, pages
from alco.config import Config

DEFAULT_FIELDS = ("time", "host", "message")
TAIL_START = 10  # lines shown before following, like tail -f
COLORS = {"match": "\x1b[1;31m", "time": "\x1b[32m", "field": "\x1b[35m", "sep": "\x1b[36m"}
RESET = "\x1b[0m"
MARK_RE = re.compile(r"</?mark>")


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
        return RESET if m.group(0) == "</mark>" else COLORS["match"]

    return html.unescape(MARK_RE.sub(mark, highlight))


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


def separator(color: bool) -> str:
    return f"{COLORS['sep']}--{RESET}" if color else "--"


def query_text(words: list[str]) -> str:
    """Command-line words as a query; a word with spaces (quoted in the shell) is a phrase."""
    return " ".join(f'"{w}"' if re.search(r"\s", w) and '"' not in w else w for w in words)


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

    def line(self, line: dict, hit: bool = True) -> None:
        if self.json:
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            self.out.write(format_line(line, self.fields, self.color, hit) + "\n")

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
    token = args.token or (config.web.tokens[0] if config.web.tokens else None)
    basic = config.web.basic_auth[0] if config.web.basic_auth else None
    return Api(args.server or config.web.api_url, token, basic)


def list_indexes(api: Api, args: argparse.Namespace) -> int:
    rows = indexes(api)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['name']}\t{row.get('last_5m', '')} lines in the last 5 minutes")
    return 0 if rows else 1


def pick_index(api: Api, words: list[str]) -> tuple[str, list[str]]:
    """INDEX is the first word if the server knows an index of that name, else the first index."""
    names = [row["name"] for row in indexes(api)]
    if words and words[0] in names:
        return words[0], words[1:]
    if not names:
        raise ApiError("the server has no index")
    return names[0], words


def search(api: Api, args: argparse.Namespace, out: IO[str]) -> int:
    index, words = pick_index(api, args.words)
    params = {"q": query_text(words), "from": args.since, "to": args.until}
    limit = args.max_count
    if args.count:
        n = count(api, index, params, limit)
        print(n, file=out)
        return 0 if n else 1
    printer = Printer(args, out)
    before = args.before if args.before is not None else args.context
    after = args.after if args.after is not None else args.context
    matched = 0
    first = newest(api, index, params, min(limit or TAIL_START, TAIL_START)) \
        if args.follow and not args.since else pages(api, index, params, limit)
    cursor = None
    for line in first:
        matched, cursor = matched + 1, line["id"]
        if before or after:
            printer.group(context_of(api, index, line, before, after, args.same), line["id"])
        else:
            printer.line(line)
    out.flush()
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
    except ApiError as exc:
        print(f"alco grep: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `alco grep ... | head`: stop quietly, like grep
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


EXAMPLES = """examples:
  alco grep logs error                      lines of index "logs" containing "error"
  alco grep levelname:ERROR -C 3            first index, with 3 lines of context
  alco grep shop 'connection reset' --since 15m --color=always | less -R
  alco grep -f logger:shop.views            follow new matching lines (Ctrl-C to stop)
  alco grep -c host:web-1 --since 1h        count matching lines
  alco grep -l                              list the indexes
Query language: words, "a phrase", -word, field:value, field:a,b, @field=value.
Times: ISO 8601 or relative (15m, 2h, 3d). Times are printed in UTC."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grep", help="search an index over the HTTP API and print lines like grep",
        description="Search an ALCO index through the web app's API and print the matching "
        "lines oldest first: time, host and message. Exit status: 0 if a line matched, "
        "1 if none did, 2 on error.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("words", nargs="*", metavar="[INDEX] QUERY",
                   help="index name (default: the first index), then the query")
    p.add_argument("-l", "--list", action="store_true", help="list the indexes and exit")
    p.add_argument("-c", "--count", action="store_true", help="print only the number of matches")
    p.add_argument("-m", "--max-count", type=int, metavar="N", help="stop after N matches")
    p.add_argument("-C", "--context", type=int, default=0, metavar="N",
                   help="print N lines of context around each match")
    p.add_argument("-A", "--after-context", dest="after", type=int, metavar="N",
                   help="print N lines after each match")
    p.add_argument("-B", "--before-context", dest="before", type=int, metavar="N",
                   help="print N lines before each match")
    p.add_argument("--same", metavar="A,B", help="context only from lines with the same "
                   "values of these fields as the match (e.g. host,process)")
    p.add_argument("--since", metavar="TIME", help="only lines from TIME on (15m, 2h, ISO 8601)")
    p.add_argument("--until", metavar="TIME", help="only lines up to TIME")
    p.add_argument("-f", "--follow", action="store_true",
                   help="print the last matches, then new ones as they arrive")
    p.add_argument("--json", action="store_true", help="print each line as JSON (NDJSON)")
    p.add_argument("--fields", default=",".join(DEFAULT_FIELDS), metavar="A,B",
                   help="columns to print: time, message, id or any field "
                        "(default: time,host,message)")
    p.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto",
                   help="highlight matches (auto: only on a terminal)")
    p.add_argument("--server", metavar="URL", help="ALCO web app URL (default: [web] url, "
                   "else http://<[web] bind>; env ALCO_WEB_URL)")
    p.add_argument("--token", help="API token (default: the first of [web] tokens; "
                   "env ALCO_WEB_TOKENS)")
    p.set_defaults(handler=run)
