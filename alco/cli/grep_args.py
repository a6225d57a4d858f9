"""``alco grep``'s arguments, read with grep's habits.

Options go anywhere among the words (``alco grep logs src:x --tracebacks exploded -m 1``),
as GNU grep takes them. A token that starts with ``-`` but is no option of grep is a negated
query term (``-host:web3``, ``-timeout``), not an option argparse would stumble on: only an
exact option (``-m``, ``--since``, ``--since=1h``, an abbreviation of a long option) or a
cluster of short options (``-iw``, ``-vc``, ``-C3``, ``-m1``, ``-ie PATTERN``) is one. So
``-e``'s pattern is the next argument: ``-error`` is the negated word ``error``, not
``-e rror``. After ``--`` every argument is a word.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

EXAMPLES = """examples:
  alco grep logs error                      lines of index "logs" containing "error"
  alco grep -i timeout logs                 grep's order: the pattern, then the index
  alco grep levelname:ERROR -C 3            first index, with 3 lines of context
  alco grep shop 'connection reset' --since 15m --color=always | less -R
  alco grep -f logger:shop.views            follow new matching lines (Ctrl-C to stop)
  alco grep -c host:web-1 --since 1h        count matching lines
  alco grep logs timeout -host:web-3        a negated term, anywhere
  alco grep logs src:x --tracebacks -m 1    options anywhere among the words
  alco grep -l                              list the indexes
  alco grep -F logs 'customer_id = 4'       grep mode: a fixed string (case-sensitive)
  alco grep -iw logs timeout host:web-1     grep mode: the word "timeout", any case, on web-1
  alco grep -E -e 'ERROR|FATAL' -e 'orders/[0-9]+ 500' logs
  alco grep -v logs DEBUG levelname:INFO    lines of levelname INFO without "DEBUG"
Query language: words, "a phrase", -word, field:value, field:a,b, @field=value,
'substring', /regex/ (flags i, w after it).
Options may come anywhere; an argument starting with - that is no option is a negated term
(-host:web3, -timeout); -e takes the next argument as its pattern.
grep mode starts when any of -e -F -E -G -i -w -v is given: the patterns are the -e values,
else the first QUERY word (after INDEX; a lone word is the pattern, not INDEX), matched like
grep (-G basic regex by default) on every line of a message; the other words are ALCO query
terms ANDed with it. Without these flags the words are the query language, as always.
Times: ISO 8601 or relative (15m, 2h, 3d). Times are printed in UTC."""


class GrepParser(argparse.ArgumentParser):
    """An argument parser that puts the options first and the words after ``--``."""

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201 (argparse's)
        if args is not None:
            args = options_first(self, list(args))
        return super().parse_known_args(args, namespace)


def options_first(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """``args`` as options (each value joined to its option), ``--``, then the words."""
    options: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token == "--":
            words += args[i:]
            break
        found = _option(parser, token, args[i] if i < len(args) else None)
        if found is None:
            words.append(token)
            continue
        read, taken = found
        options += read
        i += taken
    return options + (["--", *words] if words else [])


def _option(parser: argparse.ArgumentParser, token: str,
            following: str | None) -> tuple[list[str], int] | None:
    """``token`` as options (and how many following arguments it takes), or None when it is
    a word."""
    if token.startswith("--") and len(token) > 2:
        return _long(parser, token, following)
    if token.startswith("-") and len(token) > 1:
        return _short_cluster(parser, token[1:], following)
    return None


def _long(parser: argparse.ArgumentParser, token: str,
          following: str | None) -> tuple[list[str], int]:
    name, eq, value = token.partition("=")
    names = [s for s in parser._option_string_actions if s.startswith(name)]
    exact = name if name in parser._option_string_actions else None
    action = parser._option_string_actions.get(exact or (names[0] if len(names) == 1 else ""))
    if action is None or eq or action.nargs == 0 or following is None:
        return [token], 0  # as typed: argparse reads it, or says what is wrong with it
    return [f"{name}={following}"], 1


def _short_cluster(parser: argparse.ArgumentParser, letters: str,
                   following: str | None) -> tuple[list[str], int] | None:
    """``-iw``, ``-C3``, ``-vie PATTERN``: flags, the last of which may take a value (digits
    joined to it when its type is a number, else the next argument); None when any letter is
    no option (``-host:web3``, ``-timeout``): a word."""
    read: list[str] = []
    for n, letter in enumerate(letters):
        action = parser._option_string_actions.get("-" + letter)
        if action is None or (action.nargs == 0 and action.default == argparse.SUPPRESS
                              and len(letters) > 1):  # -h, --version: only alone
            return None
        if action.nargs == 0:
            read.append("-" + letter)
            continue
        rest = letters[n + 1:]
        if rest:
            if action.type is not int or not rest.isdigit():
                return None
            return [*read, f"{_spelling(action, letter)}={rest}"], 0
        if following is None:
            return [*read, "-" + letter], 0
        return [*read, f"{_spelling(action, letter)}={following}"], 1
    return read, 0


def _spelling(action: argparse.Action, letter: str) -> str:
    """The option's long name (``--max-count``), which takes ``=VALUE`` of any text."""
    return next((s for s in action.option_strings if s.startswith("--")), "-" + letter)


def add_grep_flags(p: argparse.ArgumentParser) -> None:
    """grep's pattern options, with grep's meaning."""
    p.add_argument("-e", "--regexp", dest="patterns", action="append", metavar="PATTERN",
                   help="a pattern (repeatable: a line matching any of them matches)")
    syntax = p.add_mutually_exclusive_group()
    syntax.add_argument("-F", "--fixed-strings", dest="syntax", action="store_const",
                        const="F", help="patterns are fixed strings")
    syntax.add_argument("-E", "--extended-regexp", dest="syntax", action="store_const",
                        const="E", help="patterns are extended regular expressions")
    syntax.add_argument("-G", "--basic-regexp", dest="syntax", action="store_const",
                        const="G", help="patterns are basic regular expressions (default)")
    p.add_argument("-i", "--ignore-case", action="store_true", help="ignore case in patterns")
    p.add_argument("-w", "--word-regexp", dest="word", action="store_true",
                   help="match only whole words")
    p.add_argument("-v", "--invert-match", dest="invert", action="store_true",
                   help="select the lines the patterns do not match")


def add_output_options(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--tracebacks", action="store_true",
                   help="print a line's traceback (exc_info, stack_trace, ...) under it, "
                        "indented")
    p.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto",
                   help="highlight matches (auto: only on a terminal)")


def register(sub: argparse._SubParsersAction, handler: Callable[..., int],
             default_fields: str) -> None:
    p = sub.add_parser(
        "grep", help="search an index over the HTTP API and print lines like grep",
        description="Search an ALCO index through the web app's API and print the matching "
        "lines oldest first: time, host and message. Exit status: 0 if a line matched, "
        "1 if none did, 2 on error.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.__class__ = GrepParser  # add_parser builds the subparsers' one class
    p.add_argument("words", nargs="*", metavar="[INDEX] QUERY [INDEX]",
                   help="index name first (or last, as grep takes FILE; default: the first "
                        "index) and the query")
    add_grep_flags(p)
    add_output_options(p)
    p.add_argument("--fields", default=default_fields, metavar="A,B",
                   help="columns to print: time, message, id or any field "
                        "(default: time,host,message)")
    p.add_argument("--server", metavar="URL", help="ALCO web app URL (default: [web] url, "
                   "else http://<[web] bind>; env ALCO_WEB_URL)")
    p.add_argument("--token", help="API token (default: the first of [web] tokens; "
                   "env ALCO_WEB_TOKENS)")
    p.set_defaults(handler=handler)
